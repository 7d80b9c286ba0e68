"""Kubernetes manifests: every document parses as a real kind at a real apiVersion, the
kustomizations list files that exist and `kubectl kustomize` renders them, and every
collector config embedded in a ConfigMap or OpenTelemetryCollector is the repo's own
and passes otelcol-mlotel validate, with the environment its container gives it."""

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = ROOT / ".build" / "bin"
KINDS = {
    ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("v1", "Service"), ("v1", "ConfigMap"),
    ("opentelemetry.io/v1beta1", "OpenTelemetryCollector"), ("kustomize.config.k8s.io/v1beta1", "Kustomization"),
}
SHARED = ("gateway", "console")  # directories both deploy/ and deploy/operator/ include

pytestmark = pytest.mark.integration


def documents() -> list[tuple[Path, dict]]:
    return [(path, doc) for path in sorted(DEPLOY.rglob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def by_kind(kind: str) -> list[dict]:
    return [doc for _, doc in documents() if doc["kind"] == kind]


def validate(config_text: str, tmp_path: Path, env: dict[str, str] | None = None) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(config_text)
    result = subprocess.run([str(BIN / "otelcol-mlotel"), "validate", f"--config={path}"], capture_output=True, text=True,
                            env={"PATH": os.environ["PATH"], **(env or {})})
    assert result.returncode == 0, result.stderr


def workloads() -> list[dict]:
    return by_kind("Deployment") + by_kind("StatefulSet")


def plain_env(container: dict) -> dict[str, str]:
    """A container's env values, with Kubernetes' $(VAR) references to the downward API filled in."""
    values = {e["name"]: e.get("value", f"downward-{e['name'].lower()}") for e in container.get("env", [])}
    return {name: re.sub(r"\$\((\w+)\)", lambda m: values.get(m.group(1), m.group(0)), value)
            for name, value in values.items()}


def containers_mounting(configmap: str) -> list[dict]:
    found = []
    for workload in workloads():
        pod = workload["spec"]["template"]["spec"]
        names = {v["name"] for v in pod.get("volumes", []) if v.get("configMap", {}).get("name") == configmap}
        found += [c for c in pod["containers"] if names & {m["name"] for m in c.get("volumeMounts", [])}]
    return found


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
    containers = containers_mounting(name)
    assert containers
    for container in containers:  # as the pod runs it: its env picks listen addresses, resolver, labels
        validate(embedded, tmp_path, plain_env(container))


def test_the_operator_sidecar_embeds_the_sidecar_config_and_it_validates(tmp_path):
    (collector,) = by_kind("OpenTelemetryCollector")
    assert collector["spec"]["mode"] == "sidecar"
    assert collector["spec"]["config"] == yaml.safe_load((ROOT / "otel-collector" / "sidecar.yaml").read_text())
    validate(yaml.safe_dump(collector["spec"]["config"]), tmp_path, plain_env(collector["spec"]))
    (annotated,) = [d for p, d in documents() if p.parent.name == "operator" and d["kind"] == "Deployment"]
    annotations = annotated["spec"]["template"]["metadata"]["annotations"]
    assert annotations["sidecar.opentelemetry.io/inject"] == collector["metadata"]["name"]


def test_services_target_named_ports_of_the_pods_they_select():
    pods = [d["spec"]["template"] for d in workloads()]
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
    for deployment in workloads():
        spec = deployment["spec"]
        assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
        for volume in spec["template"]["spec"].get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in configmaps


def test_the_sidecars_find_every_gateway_through_the_headless_service():
    services = {s["metadata"]["name"]: s for s in by_kind("Service")}
    (gateways,) = by_kind("StatefulSet")
    headless = services[gateways["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["selector"].items() <= gateways["spec"]["template"]["metadata"]["labels"].items()
    grpc_port = {p["name"]: p["port"] for p in headless["spec"]["ports"]}["otlp-grpc"]
    (api,) = [d for p, d in documents() if p.name == "ml-api.yaml" and p.parent == DEPLOY and d["kind"] == "Deployment"]
    containers = {c["name"]: c for c in api["spec"]["template"]["spec"]["containers"]}
    (operator_sidecar,) = by_kind("OpenTelemetryCollector")
    for sidecar_env in (plain_env(containers["otel-sidecar"]), plain_env(operator_sidecar["spec"])):
        assert (sidecar_env["GATEWAY_RESOLVER"], sidecar_env["GATEWAY_DNS_NAME"], sidecar_env["GATEWAY_DNS_PORT"]) == (
            "dns", headless["metadata"]["name"], str(grpc_port))
        assert sidecar_env["SIDECAR_TELEMETRY_HOST"] == "0.0.0.0"  # scrapeable from outside the pod
    api_env = {e["name"]: e.get("value") for e in containers["ml-api"]["env"]}
    assert api_env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://localhost:4317"


def test_each_gateway_keeps_its_queue_on_a_claim_of_its_own_and_listens_beyond_loopback():
    (gateways,) = by_kind("StatefulSet")
    (container,) = gateways["spec"]["template"]["spec"]["containers"]
    env = plain_env(container)
    (claim,) = gateways["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == env["COLLECTOR_STORAGE_DIR"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert all(env[name].startswith("0.0.0.0") for name in (
        "COLLECTOR_OTLP_GRPC_ENDPOINT", "COLLECTOR_OTLP_HTTP_ENDPOINT", "COLLECTOR_HEALTH_ENDPOINT",
        "COLLECTOR_PROMETHEUS_ENDPOINT", "COLLECTOR_TELEMETRY_HOST"))
    assert env["COLLECTOR_PROMETHEUS_CONST_LABELS"] == "{gateway: downward-pod_name}"
