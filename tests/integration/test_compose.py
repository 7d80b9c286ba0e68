"""docker-compose files, proven by `docker-compose config -q` (no Docker engine here),
and mounting exactly the configs the other tests validate."""

import subprocess
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parents[2]
SIDECAR = ["-f", "docker-compose.yml", "-f", "docker-compose.sidecar.yml"]

pytestmark = pytest.mark.integration


def compose(*args: str) -> str:
    result = subprocess.run(["docker-compose", *args], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def resolved(*files: str) -> dict:
    return yaml.safe_load(compose(*files, "--profile", "load", "config"))


def mounts(service: dict) -> dict[str, str]:
    """container path -> host path (relative to the repo) of bind mounts."""
    found = {}
    for volume in service.get("volumes", []):
        source, target = (volume["source"], volume["target"]) if isinstance(volume, dict) else volume.split(":")[:2]
        if source.startswith("/"):
            found[target] = str(Path(source).relative_to(ROOT))
    return found


def published(service: dict) -> set[tuple[str, int, int]]:
    """(host ip, host port, container port) of each published port; docker-compose
    prints the short form when a host ip is given, the long form otherwise."""
    found = set()
    for port in service.get("ports", []):
        if isinstance(port, str):
            *host_ip, host_port, target = port.split("/")[0].split(":")
            port = {"host_ip": "".join(host_ip), "published": host_port, "target": target}
        found.add((port.get("host_ip", ""), int(port["published"]), int(port["target"])))
    return found


@pytest.mark.parametrize("files", [[], SIDECAR], ids=["stack", "sidecar"])
def test_compose_config_is_valid(files):
    compose(*files, "config", "-q")
    compose(*files, "--profile", "load", "config", "-q")


def test_every_image_is_pinned_in_env():
    pins = dotenv_values(ROOT / ".env")
    for name, service in resolved()["services"].items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), name
        assert image.split(":")[-1] in pins.values(), f"{name}: {image} is not pinned in .env"


def test_the_collectors_mount_the_validated_configs():
    services = resolved(*SIDECAR)["services"]
    assert mounts(services["collector"])["/etc/otelcol-mlotel/gateway.yaml"] == "otel-collector/gateway.yaml"
    assert mounts(services["collector-sidecar"])["/etc/otelcol-mlotel/sidecar.yaml"] == "otel-collector/sidecar.yaml"
    assert services["collector"]["build"]["dockerfile"] == "otel-collector/Dockerfile"
    assert mounts(services["prometheus"])["/etc/prometheus/prometheus.yml"] == "prometheus/prometheus.compose.yml"
    assert mounts(services["jaeger"])["/etc/jaeger/config.yaml"] == "jaeger/config.yaml"
    grafana = mounts(services["grafana"])
    assert grafana["/etc/grafana/provisioning"] == "dashboards/provisioning"
    assert grafana["/var/lib/grafana/dashboards"] == "dashboards/json"


def test_the_sidecar_shares_the_api_network_and_forwards_to_the_gateway():
    services = resolved(*SIDECAR)["services"]
    sidecar = services["collector-sidecar"]
    assert sidecar["network_mode"] == "service:ml-api"
    assert sidecar["environment"]["GATEWAY_ENDPOINTS"] == "[collector:4317]"
    assert services["ml-api"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://localhost:4317"


def test_health_conditions_order_the_start():
    services = resolved()["services"]
    for name in ("ml-api", "jaeger", "prometheus", "alertmanager", "alerting", "console", "grafana"):
        assert services[name]["healthcheck"]["test"], name
    assert services["alerting"]["depends_on"] == {
        "prometheus": {"condition": "service_healthy"}, "alertmanager": {"condition": "service_healthy"}}
    assert services["alertmanager"]["depends_on"]["alertmanager-config"]["condition"] == "service_completed_successfully"
    assert services["loadgen"]["depends_on"]["ml-api"]["condition"] == "service_healthy"
    assert services["loadgen"]["profiles"] == ["load"]  # not started by a plain `docker compose up`


def test_the_console_reads_the_compose_services_and_links_traces_to_jaegers_ui():
    pins = dotenv_values(ROOT / ".env")
    services = resolved()["services"]
    console = services["console"]
    assert console["image"] == services["ml-api"]["image"]  # the project's Python image
    assert console["command"] == ["mlotel-console", "--host", "0.0.0.0", "--port", "8501"]
    env = console["environment"]
    backends = {"PROMETHEUS_URL": "prometheus", "JAEGER_URL": "jaeger", "ALERTING_URL": "alerting",
                "ALERTMANAGER_URL": "alertmanager"}
    for variable, service in backends.items():
        assert urlsplit(env[variable]).hostname == service, variable
    assert "ALERTING_API_TOKEN" in env
    assert env["TRACE_UI_URL"] == f"http://localhost:{pins['JAEGER_UI_PORT']}"
    assert ("", int(pins["JAEGER_UI_PORT"]), 16686) in published(services["jaeger"])
    assert published(console) == {("127.0.0.1", int(pins["CONSOLE_PORT"]), 8501)}


def test_the_python_image_holds_every_workspace_member():
    members = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    for member in members:
        assert f"COPY {member}/pyproject.toml" in dockerfile, member
        assert f"COPY {member} {member}\n" in dockerfile, member
