"""The HTTP server span and metric follow the stable HTTP semantic conventions,
checked against the constants of opentelemetry-semantic-conventions."""

import asyncio

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry import baggage, metrics, propagate
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.semconv.attributes.http_attributes import (
    HTTP_REQUEST_METHOD,
    HTTP_REQUEST_METHOD_ORIGINAL,
    HTTP_RESPONSE_STATUS_CODE,
    HTTP_ROUTE,
)
from opentelemetry.semconv.attributes.network_attributes import (
    NETWORK_PEER_ADDRESS,
    NETWORK_PEER_PORT,
    NETWORK_PROTOCOL_VERSION,
)
from opentelemetry.semconv.attributes.server_attributes import SERVER_ADDRESS, SERVER_PORT
from opentelemetry.semconv.attributes.service_attributes import SERVICE_VERSION
from opentelemetry.semconv.attributes.url_attributes import URL_PATH, URL_QUERY, URL_SCHEME
from opentelemetry.semconv.attributes.user_agent_attributes import USER_AGENT_ORIGINAL
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

from harness.telemetry_reading import Captured
from mlotel import PredictionRecorder, TelemetryConfig, instrument_app, setup_telemetry
from mlotel.semconv import SCHEMA_URL, __version__
from mlotel_contract import BATCH_SIZE_BUCKETS, CONFIDENCE_BUCKETS, HTTP_SERVER_DURATION_BUCKETS

SPEC_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)


class ModelFailed(Exception):
    pass


@pytest.fixture
def serve():
    opened = []

    def make(**environ: str):
        config = TelemetryConfig.from_env(environ)
        spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
        telemetry = setup_telemetry(
            config, service_version="1.2.3", span_processors=[SimpleSpanProcessor(spans)], metric_readers=[reader]
        )
        app = FastAPI()

        @app.api_route("/items/{item}", methods=["GET", "PURGE"])
        def item(item: str):
            return {"item": item}

        @app.get("/fail")
        def fail():
            raise ModelFailed

        instrument_app(app, config)
        client = TestClient(app, raise_server_exceptions=False)
        opened.append(telemetry)
        return client, Captured(spans, reader)

    yield make
    for telemetry in opened:
        telemetry.shutdown()


def test_server_span_has_the_required_and_recommended_attributes(serve):
    client, captured = serve()
    headers = {"host": "models.example:8443", "user-agent": "curl/8.11.1"}
    assert client.get("/items/7?colour=red&sig=secret", headers=headers).status_code == 200
    (span,) = captured.spans("GET /items/{item}")
    assert {k: span.attributes[k] for k in (HTTP_REQUEST_METHOD, HTTP_ROUTE, HTTP_RESPONSE_STATUS_CODE)} == {
        HTTP_REQUEST_METHOD: "GET",
        HTTP_ROUTE: "/items/{item}",
        HTTP_RESPONSE_STATUS_CODE: 200,
    }
    assert span.attributes[URL_PATH] == "/items/7"
    assert span.attributes[URL_SCHEME] == "http"
    assert span.attributes[URL_QUERY] == "colour=red&sig=REDACTED"
    assert span.attributes[NETWORK_PROTOCOL_VERSION] == "1.1"
    assert (span.attributes[SERVER_ADDRESS], span.attributes[SERVER_PORT]) == ("models.example", 8443)
    # The recommended ones: the socket's peer (Starlette's TestClient calls itself testclient:50000).
    assert span.attributes[USER_AGENT_ORIGINAL] == "curl/8.11.1"
    assert (span.attributes[NETWORK_PEER_ADDRESS], span.attributes[NETWORK_PEER_PORT]) == ("testclient", 50000)
    assert HTTP_REQUEST_METHOD_ORIGINAL not in span.attributes
    assert (span.instrumentation_scope.version, span.instrumentation_scope.schema_url) == (__version__, SCHEMA_URL)
    assert span.resource.attributes[SERVICE_VERSION] == "1.2.3"
    (point,) = captured.points("http.server.request.duration")
    assert point.attributes[NETWORK_PROTOCOL_VERSION] == "1.1"
    assert tuple(point.explicit_bounds) == HTTP_SERVER_DURATION_BUCKETS == SPEC_HTTP_BUCKETS


@pytest.mark.parametrize("host", [b"h:\xb2", b"h:99999", b"h:", b"x" * 5000 + b":80"])
def test_a_host_header_that_names_no_server_is_served_and_bounded(serve, host):
    client, captured = serve()
    # "\xb2" is "²" in latin-1: a digit to str.isdigit, not to int().
    assert client.get("/items/7", headers={"host": host}).status_code == 200
    (span,) = captured.spans("GET /items/{item}")
    assert span.attributes[SERVER_PORT] == 80  # the scheme's, as for a Host without a port
    assert len(span.attributes[SERVER_ADDRESS]) <= 253


def test_unknown_method_is_other_with_the_original_kept(serve):
    client, captured = serve()
    assert client.request("PURGE", "/items/7").status_code == 200
    (span,) = captured.spans("HTTP /items/{item}")
    assert span.attributes[HTTP_REQUEST_METHOD] == "_OTHER"
    assert span.attributes[HTTP_REQUEST_METHOD_ORIGINAL] == "PURGE"
    (point,) = captured.points("http.server.request.duration")
    assert point.attributes[HTTP_REQUEST_METHOD] == "_OTHER"
    assert HTTP_REQUEST_METHOD_ORIGINAL not in point.attributes


def test_known_methods_come_from_the_environment(serve):
    client, captured = serve(OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS="GET,PURGE")
    client.request("PURGE", "/items/7")
    (span,) = captured.spans("PURGE /items/{item}")
    assert span.attributes[HTTP_REQUEST_METHOD] == "PURGE"
    assert HTTP_REQUEST_METHOD_ORIGINAL not in span.attributes


def test_error_type_is_the_fully_qualified_class_name(serve):
    client, captured = serve()
    assert client.get("/fail").status_code == 500
    (span,) = captured.spans("GET /fail")
    assert span.attributes[ERROR_TYPE] == f"{__name__}.ModelFailed"
    (point,) = captured.points("http.server.request.duration")
    assert point.attributes[ERROR_TYPE] == f"{__name__}.ModelFailed"


def test_ml_histograms_keep_their_buckets_in_a_provider_without_mlotels_views():
    reader = InMemoryMetricReader()
    config = TelemetryConfig.from_env({})
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))  # another's, as opentelemetry-instrument's
    recorder = PredictionRecorder(config)
    with recorder.predict("iris", "1", batch_size=2) as prediction:
        prediction.set_results(["setosa", "virginica"], [0.97, 0.42])
    captured = Captured(None, reader)
    assert tuple(captured.points("ml.prediction.confidence")[0].explicit_bounds) == CONFIDENCE_BUCKETS
    assert tuple(captured.points("ml.batch.size")[0].explicit_bounds) == BATCH_SIZE_BUCKETS


def test_a_propagator_other_than_w3c_is_asked_even_without_w3c_headers(serve):
    """The middleware skips extracting only for the default W3C propagators, which find nothing without their headers."""
    class RequestIdPropagator(TextMapPropagator):
        """Continues the trace named by an ``x-trace`` header (a made-up scheme)."""

        def extract(self, carrier, context=None, getter=None):
            found = getter.get(carrier, "x-trace")
            if not found:
                return context
            remote = SpanContext(int(found[0], 16), 0xB7AD, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
            return set_span_in_context(NonRecordingSpan(remote), context)

        def inject(self, carrier, context=None, setter=None):
            pass

        @property
        def fields(self):
            return {"x-trace"}

    client, captured = serve()
    default = propagate.get_global_textmap()
    propagate.set_global_textmap(CompositePropagator([RequestIdPropagator()]))
    try:
        assert client.get("/items/7", headers={"x-trace": "abc123"}).status_code == 200
    finally:
        propagate.set_global_textmap(default)
    assert client.get("/items/8").status_code == 200  # the default again: a root span
    first, second = captured.spans("GET /items/{item}")
    assert first.context.trace_id == 0xABC123 and first.parent.span_id == 0xB7AD
    assert second.parent is None


@pytest.mark.parametrize("fastpath", ["true", "false"])
def test_the_callers_baggage_reaches_the_app_with_its_trace(fastpath):
    """What the caller propagated is the request's context: its baggage too, not only its span as the parent."""
    config = TelemetryConfig.from_env({"MLOTEL_FASTPATH": fastpath})
    spans = InMemorySpanExporter()
    telemetry = setup_telemetry(config, span_processors=[SimpleSpanProcessor(spans)],
                                metric_readers=[InMemoryMetricReader()])
    app, seen = FastAPI(), []

    @app.get("/tenant")
    def tenant():
        seen.append(dict(baggage.get_all()))
        return {}

    instrument_app(app, config)
    try:
        caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        assert TestClient(app).get("/tenant", headers={"traceparent": caller, "baggage": "tenant=acme"}).status_code == 200
        assert TestClient(app).get("/tenant").status_code == 200
    finally:
        telemetry.shutdown()
    assert seen == [{"tenant": "acme"}, {}]  # the second request, with no baggage, has none
    first, second = spans.get_finished_spans()
    assert first.context.trace_id == 0x0AF7651916CD43DD8448EB211C80319C and second.parent is None


def test_requests_alike_share_attributes_and_each_difference_shows(serve):
    """The middleware reuses a request head's attributes (mlotel.http_attributes): a request that differs
    in any part the span reads gets its own, and one the cache cannot key (a list for the client) is served too."""
    client, captured = serve()
    sent = [("/items/7", {}), ("/items/7", {}), ("/items/8", {}), ("/items/7?sig=x", {}),
            ("/items/7", {"user-agent": "other/1"}), ("/items/7", {"host": "models.example:81"})]
    for path, headers in sent:
        assert client.get(path, headers=headers).status_code == 200
    spans = captured.spans("GET /items/{item}")
    seen = [(s.attributes[URL_PATH], s.attributes.get(URL_QUERY), s.attributes[USER_AGENT_ORIGINAL],
             s.attributes[SERVER_PORT]) for s in spans]
    assert seen == [("/items/7", None, "testclient", 80), ("/items/7", None, "testclient", 80),
                    ("/items/8", None, "testclient", 80), ("/items/7", "sig=REDACTED", "testclient", 80),
                    ("/items/7", None, "other/1", 80), ("/items/7", None, "testclient", 81)]
    (point,) = captured.points("http.server.request.duration", http__response__status_code=200)
    assert point.count == len(sent)

    async def list_client() -> None:  # as an ASGI server may pass it: the spec says an iterable
        scope = {"type": "http", "method": "GET", "path": "/items/9", "headers": [], "client": ["10.0.0.1", 4000],
                 "server": ["10.0.0.2", 8000], "query_string": b"", "http_version": "1.1", "scheme": "http"}
        sent_messages = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent_messages.append(message)

        await client.app(scope, receive, send)
        assert sent_messages[0]["status"] == 200

    asyncio.run(list_client())
    (span,) = [s for s in captured.spans("GET /items/{item}") if s.attributes[URL_PATH] == "/items/9"]
    assert (span.attributes[NETWORK_PEER_ADDRESS], span.attributes[SERVER_ADDRESS]) == ("10.0.0.1", "10.0.0.2")
