"""Tail sampling in a gateway pool keeps whole traces: two API replicas calling each
other export the client span through one sidecar and the server span through another,
two gateways sample behind the sidecars' trace-id loadbalancing, and Jaeger holds
every kept trace with both its spans, every slow or failed trace, and the baseline
share of the rest. Real otelcol-mlotel processes with the repo's configs, real Jaeger.

Each slow trace is slow only through its client span and each failed trace fails only
in its server span: a gateway that saw half a trace would decide wrongly, so a pool
that split traces could not pass. A log record with a trace id takes the same road."""

import random
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context

from harness.collectors import Gateway, Jaeger, Sidecar
from harness.processes import free_port, poll_until

pytestmark = pytest.mark.integration

PLAIN, SLOW, FAILED = 600, 40, 40
BASELINE_PERCENT = 20
SLOW_MS = 100
DECISION_WAIT_S = 2
SETTINGS = {"TAIL_SAMPLING_DECISION_WAIT": f"{DECISION_WAIT_S}s", "SLOW_PREDICTION_MS": str(SLOW_MS),
            "TRACE_SAMPLING_PERCENT": str(BASELINE_PERCENT)}
CLIENT, SERVER = "client-api", "model-api"


def within_four_sigma(total: float, percent: float) -> tuple[float, float]:
    """The binomial range a fair sampler lands in but about once in 16,000 runs."""
    p = percent / 100
    mean, sigma = total * p, (total * p * (1 - p)) ** 0.5
    return mean - 4 * sigma, mean + 4 * sigma


class AlertmanagerStub(ThreadingHTTPServer):
    """Counts the alert POSTs the gateways' alertmanager exporters make (the real
    Alertmanager's delivery is tested elsewhere; here only what reaches it matters)."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(handler) -> None:  # noqa: N805
                self.bodies.append(handler.rfile.read(int(handler.headers.get("content-length", 0))))
                handler.send_response(200)
                handler.end_headers()

            def log_message(handler, *_) -> None:  # noqa: N805
                pass

        super().__init__(("127.0.0.1", free_port()), Handler)


@pytest.fixture
def alertmanager() -> Iterator[AlertmanagerStub]:
    server = AlertmanagerStub()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def tracer_provider(service: str, sidecar: Sidecar) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=sidecar.otlp_grpc, insecure=True),
                                                   max_queue_size=8192, max_export_batch_size=512))
    return provider


def emit(client: TracerProvider, server: TracerProvider) -> dict[str, set[str]]:
    """PLAIN, SLOW and FAILED traces of a client span and its server span; their trace ids by kind."""
    kinds = ["plain"] * PLAIN + ["slow"] * SLOW + ["failed"] * FAILED
    random.Random(17).shuffle(kinds)
    ids: dict[str, set[str]] = {"plain": set(), "slow": set(), "failed": set()}
    client_tracer, server_tracer = client.get_tracer("test"), server.get_tracer("test")
    for kind in kinds:
        start = time.time_ns()
        call = client_tracer.start_span("POST /predict", kind=SpanKind.CLIENT, start_time=start)
        handled = server_tracer.start_span("POST /predict", context=set_span_in_context(call), kind=SpanKind.SERVER,
                                           start_time=start + 1_000_000)
        if kind == "failed":
            handled.record_exception(ValueError("model exploded"))
            handled.set_status(Status(StatusCode.ERROR))
        handled.end(end_time=start + 5_000_000)
        # Only the client's span shows the slowness (e.g. a slow network between the replicas).
        call.end(end_time=start + (3 * SLOW_MS if kind == "slow" else 8) * 1_000_000)
        ids[kind].add(format(call.get_span_context().trace_id, "032x"))
    for provider in (client, server):
        assert provider.force_flush(30_000)
    return ids


def test_every_kept_trace_is_whole_and_every_slow_or_failed_one_is_kept(tmp_path: Path, alertmanager):
    alertmanager_url = f"http://127.0.0.1:{alertmanager.server_port}"
    with Jaeger(tmp_path) as jaeger, \
            Gateway(tmp_path, 0, jaeger.otlp_grpc, alertmanager_url, SETTINGS) as gateway_0, \
            Gateway(tmp_path, 1, jaeger.otlp_grpc, alertmanager_url, SETTINGS) as gateway_1, \
            Sidecar(tmp_path, "a", [gateway_0, gateway_1]) as sidecar_a, \
            Sidecar(tmp_path, "b", [gateway_0, gateway_1]) as sidecar_b:
        gateways = (gateway_0, gateway_1)
        client, server = tracer_provider(CLIENT, sidecar_a), tracer_provider(SERVER, sidecar_b)
        try:
            ids = emit(client, server)
        finally:
            client.shutdown()
            server.shutdown()
        total = PLAIN + SLOW + FAILED

        def decided() -> bool:
            return sum(g.metrics().total(DECIDED) for g in gateways) >= total
        poll_until(decided, timeout=120, interval=1)

        def all_in_jaeger() -> dict[str, list[str]] | None:
            """Jaeger's traces, once it holds every span the gateways sent it (batches flush within 1 s)."""
            sent = sum(g.metrics().total(SENT, exporter="otlp/jaeger") for g in gateways)
            held = whole_or_not(jaeger)
            return held if sent and sum(map(len, held.values())) >= sent else None
        poll_until(all_in_jaeger, timeout=60, interval=1)
        time.sleep(DECISION_WAIT_S + 1)  # a straggler span would be decided and sent by now
        traces = poll_until(all_in_jaeger, timeout=60, interval=1)
        # A log record follows its trace id to one gateway, which writes it with its ids.
        log_trace_id = sorted(ids["failed"])[0]
        send_log(sidecar_a, log_trace_id)
        poll_until(lambda: any(f"Trace ID: {log_trace_id}" in g.log.read_text() for g in gateways), timeout=30)
        per_gateway = [g.metrics() for g in gateways]

    # Both gateways had a share: the pool was really a pool.
    accepted = [m.total("otelcol_receiver_accepted_spans_total") for m in per_gateway]
    assert sum(accepted) == 2 * total and min(accepted) > 0.3 * total, accepted
    incomplete = {trace_id: spans for trace_id, spans in traces.items() if sorted(spans) != [CLIENT, SERVER]}
    assert not incomplete, f"{len(incomplete)} of {len(traces)} kept traces miss spans: {list(incomplete.items())[:5]}"
    assert ids["slow"] <= traces.keys(), f"slow traces not kept: {len(ids['slow'] - traces.keys())}"
    assert ids["failed"] <= traces.keys(), f"failed traces not kept: {len(ids['failed'] - traces.keys())}"
    kept_plain = len(ids["plain"] & traces.keys())
    low, high = within_four_sigma(PLAIN, BASELINE_PERCENT)
    print(f"kept {kept_plain} of {PLAIN} plain traces (expected {BASELINE_PERCENT}%: {low:.0f} to {high:.0f}), "
          f"{len(traces)} traces in all; spans per gateway {accepted}")
    assert low <= kept_plain <= high, f"{kept_plain} of {PLAIN} plain traces kept, {BASELINE_PERCENT}% expected"
    for metrics in per_gateway:  # the same percentage on each gateway, over all the traces it decided
        baseline_yes = metrics.total(POLICY, policy="baseline", sampled="true")
        decided_here = baseline_yes + metrics.total(POLICY, policy="baseline", sampled="false")
        low, high = within_four_sigma(decided_here, BASELINE_PERCENT)
        assert low <= baseline_yes <= high, (baseline_yes, decided_here)
    # The alerts pipeline passes only the spans with an exception event: one per failed trace.
    to_alertmanager = sum(m.total(SENT, exporter="alertmanager") for m in per_gateway)
    assert to_alertmanager == FAILED
    assert alertmanager.bodies and all(b"model exploded" in body or b"ValueError" in body for body in alertmanager.bodies)


DECIDED = "otelcol_processor_tail_sampling_global_count_traces_sampled_total"
POLICY = "otelcol_processor_tail_sampling_count_traces_sampled_total"
SENT = "otelcol_exporter_sent_spans_total"


def send_log(sidecar: Sidecar, trace_id: str) -> None:
    record = {"timeUnixNano": str(time.time_ns()), "severityText": "ERROR", "body": {"stringValue": "model exploded"},
              "traceId": trace_id, "spanId": "00f067aa0ba902b7"}
    body = {"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": SERVER}}]},
                              "scopeLogs": [{"logRecords": [record]}]}]}
    httpx.post(f"http://{sidecar.otlp_http}/v1/logs", json=body, timeout=10).raise_for_status()


def whole_or_not(jaeger: Jaeger) -> dict[str, list[str]]:
    """Every trace Jaeger holds from either service: its spans' service names."""
    traces: dict[str, list[str]] = {}
    for service in (CLIENT, SERVER):
        for trace in jaeger.traces(service):
            processes = trace["processes"]
            traces[trace["traceID"].rjust(32, "0")] = [processes[s["processID"]]["serviceName"] for s in trace["spans"]]
    return {trace_id: sorted(spans) for trace_id, spans in traces.items()}
