"""Kubernetes manifests: every document parses as a real kind at a real apiVersion, the
kustomizations list files that exist and `kubectl kustomize` renders them, and every
collector config embedded in a ConfigMap or OpenTelemetryCollector is the repo's own
and passes otelcol-mlotel validate."""

import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = ROOT / ".build" / "bin"
KINDS = {
    ("apps/v1", "Deployment"), ("v1", "Service"), ("v1", "ConfigMap"),
    ("opentelemetry.io/v1beta1", "OpenTelemetryCollector"), ("kustomize.config.k8s.io/v1beta1", "Kustomization"),
}
SHARED = ("gateway", "console")  # directories both deploy/ and deploy/operator/ include

pytestmark = pytest.mark.integration


def documents() -> list[tuple[Path, dict]]:
    return [(path, doc) for path in sorted(DEPLOY.rglob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def by_kind(kind: str) -> list[dict]:
    return [doc for _, doc in documents() if doc["kind"] == kind]


def validate(config_text: str, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(config_text)
    result = subprocess.run([str(BIN / "otelcol-mlotel"), "validate", f"--config={path}"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_manifest_is_a_known_kind_with_a_name():
    for path, doc in documents():
        assert (doc.get("apiVersion"), doc.get("kind")) in KINDS, path
        if doc["kind"] != "Kustomization":
            assert doc["metadata"]["name"], path


@pytest.mark.parametrize("kustomization", ["kustomization.yaml", "operator/kustomization.yaml",
                                           *(f"{shared}/kustomization.yaml" for shared in SHARED)])
def test_kustomizations_list_existing_files(kustomization):
    path = DEPLOY / kustomization
    for resource in yaml.safe_load(path.read_text())["resources"]:
        assert (path.parent / resource).is_file() or (path.parent / resource / "kustomization.yaml").is_file(), resource


@pytest.mark.parametrize("directory", ["", "operator"], ids=["sidecar-container", "operator"])
def test_kustomize_renders_the_manifests_into_the_namespace(directory):
    result = subprocess.run(["kubectl", "kustomize", str(DEPLOY / directory)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    objects = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    own = {DEPLOY / directory, *(DEPLOY / shared for shared in SHARED)}
    expected = {(doc["kind"], doc["metadata"]["name"]) for path, doc in documents()
                if path.parent in own and doc["kind"] != "Kustomization"}
    assert {(doc["kind"], doc["metadata"]["name"]) for doc in objects} == expected
    assert {doc["metadata"]["namespace"] for doc in objects} == {"mlotel"}


@pytest.mark.parametrize(("name", "source"), [("otel-sidecar-config", "sidecar.yaml"), ("otel-gateway-config", "gateway.yaml")])
def test_configmaps_embed_the_repo_configs_and_they_validate(name, source, tmp_path):
    (configmap,) = [c for c in by_kind("ConfigMap") if c["metadata"]["name"] == name]
    embedded = configmap["data"][source]
    assert embedded == (ROOT / "otel-collector" / source).read_text(), f"copy otel-collector/{source} into deploy/"
    validate(embedded, tmp_path)


def test_the_operator_sidecar_embeds_the_sidecar_config_and_it_validates(tmp_path):
    (collector,) = by_kind("OpenTelemetryCollector")
    assert collector["spec"]["mode"] == "sidecar"
    assert collector["spec"]["config"] == yaml.safe_load((ROOT / "otel-collector" / "sidecar.yaml").read_text())
    validate(yaml.safe_dump(collector["spec"]["config"]), tmp_path)
    (annotated,) = [d for p, d in documents() if p.parent.name == "operator" and d["kind"] == "Deployment"]
    annotations = annotated["spec"]["template"]["metadata"]["annotations"]
    assert annotations["sidecar.opentelemetry.io/inject"] == collector["metadata"]["name"]


def test_services_target_named_ports_of_the_pods_they_select():
    pods = [d["spec"]["template"] for d in by_kind("Deployment")]
    for service in by_kind("Service"):
        selector = service["spec"]["selector"].items()
        ports = {port["name"] for pod in pods if selector <= pod["metadata"]["labels"].items()
                 for container in pod["spec"]["containers"] for port in container.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, (service["metadata"]["name"], port["targetPort"])


def test_the_console_reads_the_manifests_env_as_its_settings(monkeypatch):
    from mlotel_console.settings import Settings

    (console,) = [d for d in by_kind("Deployment") if d["metadata"]["name"] == "console"]
    (container,) = console["spec"]["template"]["spec"]["containers"]
    values = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert (settings.host, settings.port) == ("0.0.0.0", {p["name"]: p["containerPort"] for p in container["ports"]}["http"])
    urls = ("PROMETHEUS_URL", "JAEGER_URL", "ALERTING_URL", "ALERTMANAGER_URL", "TRACE_UI_URL")
    assert [settings.prometheus_url, settings.jaeger_url, settings.alerting_url, settings.alertmanager_url,
            settings.trace_ui_url] == [values[name] for name in urls]
    (token,) = [e["valueFrom"]["secretKeyRef"] for e in container["env"] if e["name"] == "ALERTING_API_TOKEN"]
    assert token["optional"] is True  # the console runs without it, and asks


def test_deployments_select_their_pods_and_mount_existing_configmaps():
    configmaps = {c["metadata"]["name"] for c in by_kind("ConfigMap")}
    for deployment in by_kind("Deployment"):
        spec = deployment["spec"]
        assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
        for volume in spec["template"]["spec"].get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in configmaps


def test_the_sidecar_exports_to_the_gateway_service():
    services = {s["metadata"]["name"]: s for s in by_kind("Service")}
    gateway_port = {p["name"]: p["port"] for p in services["otel-gateway"]["spec"]["ports"]}["otlp-grpc"]
    (api,) = [d for p, d in documents() if p.name == "ml-api.yaml" and p.parent == DEPLOY and d["kind"] == "Deployment"]
    containers = {c["name"]: c for c in api["spec"]["template"]["spec"]["containers"]}
    sidecar_env = {e["name"]: e.get("value") for e in containers["otel-sidecar"]["env"]}
    assert sidecar_env["GATEWAY_ENDPOINTS"] == f"[otel-gateway:{gateway_port}]"
    api_env = {e["name"]: e.get("value") for e in containers["ml-api"]["env"]}
    assert api_env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://localhost:4317"
