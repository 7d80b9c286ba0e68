"""The pieces opentelemetry-instrument loads: mlotel's instrumentor and distro, and how mlotel's
middleware and set-up fit in with contrib instrumentors that run as well."""

import fastapi
import pytest
from fastapi.testclient import TestClient
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.system_metrics import SystemMetricsInstrumentor
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from opentelemetry.util._importlib_metadata import EntryPoint

from harness.telemetry_reading import Captured
from mlotel import TelemetryConfig, TelemetryMiddleware, instrument_app, setup_telemetry, system_metrics
from mlotel.distro import MlotelDistro
from mlotel.instrumentor import MlotelInstrumentor


def _app() -> fastapi.FastAPI:
    app = fastapi.FastAPI()

    @app.get("/items/{item}")
    def item(item: str):
        return {"item": item}

    return app


def _telemetry():
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    telemetry = setup_telemetry(
        TelemetryConfig.from_env({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "system_metrics,logging"}),
        span_processors=[SimpleSpanProcessor(spans)],
        metric_readers=[reader],
    )
    return telemetry, Captured(spans, reader)


def _mlotel_middlewares(app) -> int:
    return sum(m.cls is TelemetryMiddleware for m in app.user_middleware)


def test_the_instrumentor_adds_the_middleware_to_every_app_once_and_uninstruments():
    telemetry, captured = _telemetry()
    instrumentor = MlotelInstrumentor()
    instrumentor.instrument()
    try:
        plain, in_code = _app(), _app()
        instrument_app(in_code)
        for app in (plain, in_code):
            with TestClient(app) as client:
                response = client.get("/items/1")
            assert "traceresponse" in response.headers
            assert _mlotel_middlewares(app) == 1
        assert len(captured.spans("GET /items/{item}")) == 2
    finally:
        instrumentor.uninstrument()
        telemetry.shutdown()
    after = _app()
    with TestClient(after) as client:
        client.get("/items/1")
    assert _mlotel_middlewares(after) == 0


def test_under_contribs_server_span_there_is_one_server_span_with_mlotels_attributes():
    telemetry, captured = _telemetry()
    app = _app()
    FastAPIInstrumentor.instrument_app(app)
    instrument_app(app)
    try:
        with TestClient(app) as client:
            response = client.get("/items/1", headers={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
        (server,) = [s for s in captured.spans() if s.kind == SpanKind.SERVER]
        assert server.context.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
        assert server.attributes["http.request.method"] == "GET"
        assert server.attributes["http.response.status_code"] == 200
        assert server.attributes["network.protocol.version"] == "1.1"
        assert response.headers["traceresponse"].split("-")[2] == f"{server.context.span_id:016x}"
        assert captured.points("http.server.request.duration") == []  # measured by the span's owner
    finally:
        FastAPIInstrumentor.uninstrument_app(app)
        telemetry.shutdown()


@pytest.mark.fastpath  # mlotel looks for contrib's instance only where it uses private names
def test_setup_leaves_the_host_to_contribs_system_metrics_when_another_distro_set_them_up():
    launcher = SystemMetricsInstrumentor()
    launcher.instrument()
    config = launcher._config
    try:
        reader = InMemoryMetricReader()
        telemetry = setup_telemetry(TelemetryConfig.from_env({}), span_processors=[], metric_readers=[reader])
        assert SystemMetricsInstrumentor()._config is config  # not re-initialised: its callbacks keep their keys
        scopes = {sm.scope.name for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics}
        assert system_metrics.SCOPE not in scopes  # the same instruments are not reported twice
        telemetry.shutdown()
        assert SystemMetricsInstrumentor().is_instrumented_by_opentelemetry  # and not uninstrumented either
    finally:
        launcher.uninstrument()


def test_the_distro_leaves_out_contribs_fastapi_and_system_metrics():
    distro = MlotelDistro()
    fastapi_ep = EntryPoint("fastapi", "opentelemetry.instrumentation.fastapi:FastAPIInstrumentor", "opentelemetry_instrumentor")
    distro.load_instrumentor(fastapi_ep)
    assert not FastAPIInstrumentor().is_instrumented_by_opentelemetry
    # mlotel reports the host's metrics itself, under the current attribute names: contrib's stays out.
    system_ep = EntryPoint(
        "system_metrics", "opentelemetry.instrumentation.system_metrics:SystemMetricsInstrumentor", "opentelemetry_instrumentor"
    )
    distro.load_instrumentor(system_ep)
    assert not SystemMetricsInstrumentor().is_instrumented_by_opentelemetry


def test_disabling_fastapi_leaves_requests_untraced_and_disabling_mlotel_http_leaves_fastapis_own_telemetry_on():
    # As docs/getting-started.md says of the two switches under opentelemetry-instrument.
    telemetry, captured = _telemetry()
    instrumentor = MlotelInstrumentor()
    instrumentor.instrument(config=TelemetryConfig.from_env({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "fastapi"}))
    try:
        with TestClient(_app()) as client:
            assert client.get("/items/1").status_code == 200
        assert captured.spans() == []  # neither mlotel's span nor FastAPI's own
    finally:
        instrumentor.uninstrument()
    try:
        # mlotel_http disabled: the launcher never loads mlotel's instrumentor, so nothing touches the app.
        with TestClient(_app()) as client:
            assert client.get("/items/1").status_code == 200
        # FastAPI's server span and three more of its own per request.
        names = sorted(s.name for s in captured.spans())
        assert names == ["GET /items/{item}", "fastapi.dependencies", "fastapi.endpoint", "fastapi.serialization"]
    finally:
        telemetry.shutdown()
