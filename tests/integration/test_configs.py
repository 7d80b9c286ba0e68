"""Every config file, proven by the tool that owns it."""

import subprocess
from pathlib import Path

import pytest

from scripts.render_config import render

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".build" / "bin"

pytestmark = pytest.mark.integration


def run(*command: str) -> str:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.mark.parametrize("config", ["gateway.yaml", "sidecar.yaml"])
def test_collector_configs_validate(config):
    run(str(BIN / "otelcol-mlotel"), "validate", f"--config=otel-collector/{config}")


def test_collector_distribution_has_exactly_the_components_the_configs_use():
    listed = run(str(BIN / "otelcol-mlotel"), "components")
    for component in ("otlp", "tail_sampling", "spanmetrics", "prometheus", "alertmanager", "loadbalancing",
                      "file_storage", "health_check", "pprof", "zpages", "memory_limiter", "batch",
                      "resource", "transform", "filter", "debug"):
        assert f"name: {component}\n" in listed, component
    assert "name: k8sattributes" not in listed


def test_jaeger_config_validates():
    run(str(BIN / "jaeger"), "validate", "--config=jaeger/config.yaml")


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus.compose.yml"])
def test_prometheus_configs_check(config):
    assert "SUCCESS" in run("promtool", "check", "config", f"prometheus/{config}")


@pytest.mark.parametrize(("sidecar", "gateways"), [(False, 1), (True, 3)])
def test_the_native_stacks_prometheus_config_checks_as_rendered(tmp_path, sidecar, gateways):
    """scripts/stack/ renders prometheus.yml with one target per gateway of the pool."""
    from scripts import stack

    rendered = tmp_path / "prometheus.yml"
    rendered.write_text(stack.prometheus_config(stack.gateway_pool(sidecar, gateways), sidecar))
    out = run("promtool", "check", "config", str(rendered))
    assert "SUCCESS" in out and "2 rule files found" in out, out


def test_prometheus_rules_check():
    rules = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "prometheus" / "rules").glob("*.yml"))
    assert len(rules) == 2
    run("promtool", "check", "rules", *rules)


def test_pipeline_alerts_fire_on_every_kind_of_loss():
    """promtool's unit tests of the pipeline alerts: each loss fires its alert, per gateway."""
    tests = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "prometheus" / "tests").glob("*.test.yml"))
    assert tests
    assert "SUCCESS" in run("promtool", "test", "rules", *tests)


@pytest.mark.parametrize(
    ("environ", "receivers"),
    [({}, 1), ({"SLACK_WEBHOOK_URL": "https://hooks.example/T0", "ALERT_EMAIL_TO": "ml@example.org"}, 3)],
)
def test_alertmanager_config_checks_as_rendered(tmp_path, environ, receivers):
    rendered = tmp_path / "alertmanager.yml"
    rendered.write_text(render((ROOT / "alertmanager" / "alertmanager.yml").read_text(), environ))
    assert f"- {receivers} receivers" in run("amtool", "check-config", str(rendered))


def test_dockerfile_builds_the_same_manifest_and_builder_pin():
    """No Docker engine here; the image must at least build what `make collector` builds."""
    dockerfile = (ROOT / "otel-collector" / "Dockerfile").read_text()
    script = (ROOT / "scripts" / "build_collector.sh").read_text()
    builder_pin = next(line.split("=", 1)[1] for line in script.splitlines() if line.startswith("BUILDER_VERSION="))
    assert f"ARG BUILDER_VERSION={builder_pin}" in dockerfile
    assert "--config=otel-collector/builder-config.yaml --skip-get-modules" in dockerfile
