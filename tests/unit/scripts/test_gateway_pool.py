"""`make up SIDECAR=1 GATEWAYS=N`: every gateway of the pool has ports of its own, the
sidecar lists them all, and Prometheus scrapes each as a target of its own."""

from pathlib import Path

import pytest
import yaml

from scripts import stack


def ports(service: stack.Service) -> set[str]:
    return {value.rsplit(":", 1)[-1] for key, value in service.env.items()
            if key.endswith(("_ENDPOINT", "_PORT"))} | {str(service.port)}


def test_the_default_stack_is_one_collector_on_the_usual_ports_without_a_gateway_label():
    (collector,) = [s for s in stack.services() if s.name.startswith("collector")]
    assert collector.env["COLLECTOR_OTLP_GRPC_ENDPOINT"] == "127.0.0.1:4317"
    assert collector.health == "http://127.0.0.1:13133/"
    assert "COLLECTOR_PROMETHEUS_CONST_LABELS" not in collector.env


def test_each_gateway_of_a_pool_has_its_own_ports_queue_and_label_and_the_sidecar_lists_them():
    services = {s.name: s for s in stack.services(sidecar=True, gateways=3)}
    gateways = [services[name] for name in ("collector", "collector-1", "collector-2")]
    every_port = [ports(g) for g in gateways] + [ports(s) for n, s in services.items() if not n.startswith("collector")]
    for i, gateway in enumerate(gateways):
        others = set().union(*(p for j, p in enumerate(every_port) if j != i))
        assert not ports(gateway) & others, gateway.name
    assert len({g.env["COLLECTOR_STORAGE_DIR"] for g in gateways}) == 3
    assert [g.env["COLLECTOR_PROMETHEUS_CONST_LABELS"] for g in gateways] == [
        "{gateway: collector}", "{gateway: collector-1}", "{gateway: collector-2}"]
    assert services["sidecar"].env["GATEWAY_ENDPOINTS"] == "[127.0.0.1:4327, 127.0.0.1:4337, 127.0.0.1:4347]"


def test_a_pool_without_the_sidecar_is_refused():
    with pytest.raises(SystemExit, match="SIDECAR=1"):
        stack.services(sidecar=False, gateways=2)


def test_prometheus_scrapes_every_gateway_and_the_sidecar_as_targets_of_their_own():
    config = yaml.safe_load(stack.prometheus_config(stack.gateway_pool(True, 2), sidecar=True))
    jobs = {job["job_name"]: [t for c in job["static_configs"] for t in c["targets"]] for job in config["scrape_configs"]}
    assert jobs["otel-collector"] == ["127.0.0.1:8889", "127.0.0.1:8989"]
    assert jobs["otel-collector-self"] == ["127.0.0.1:8888", "127.0.0.1:8988"]
    assert jobs["otel-sidecar-self"] == ["127.0.0.1:8898"]
    assert all(Path(pattern).is_absolute() for pattern in config["rule_files"])


def test_the_shape_of_a_running_stack_is_read_back_from_its_programs():
    names = {s.name for s in stack.services(sidecar=True, gateways=3)}
    assert stack.running_shape(names) == (True, 3, False)
    assert stack.running_shape({s.name for s in stack.services(long_term=True)}) == (False, 1, True)
