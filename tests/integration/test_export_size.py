"""Span batches over a receiver's 4 MiB gRPC message limit: split into requests it accepts, none lost."""

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from harness.otlp_receiver import OtlpReceiver
from mlotel.config import SPAN_EXPORT_MAX_BYTES
from mlotel.export_size import SizeBoundedSpanExporter
from mlotel.fastpath.span_encoding import GrpcSpanExporter

pytestmark = pytest.mark.integration


def _large_batch() -> list:
    """60 spans of ~200 KB: 12 MB, three times what a gRPC server takes in one message by default."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    for index in range(60):
        with tracer.start_as_current_span("GET", attributes={"url.path": "/" + "p" * 200_000, "index": index}):
            pass
    return list(exporter.get_finished_spans())


@pytest.mark.parametrize(
    "make_exporter",
    [
        lambda endpoint: GrpcSpanExporter(endpoint=endpoint, insecure=True, max_bytes=SPAN_EXPORT_MAX_BYTES),
        lambda endpoint: SizeBoundedSpanExporter(OTLPSpanExporter(endpoint=endpoint, insecure=True), SPAN_EXPORT_MAX_BYTES),
    ],
    ids=["fastpath", "sdk"],
)
def test_a_batch_over_the_receivers_limit_arrives_whole(make_exporter):
    spans = _large_batch()
    with OtlpReceiver() as receiver:
        endpoint = receiver.endpoint("grpc")
        # The limit is real: the same batch in one request is refused, every span in it lost.
        unbounded = OTLPSpanExporter(endpoint=endpoint, insecure=True)
        assert unbounded.export(spans) is SpanExportResult.FAILURE
        assert receiver.counts["spans"] == 0
        unbounded.shutdown()

        exporter = make_exporter(endpoint)
        assert exporter.export(spans) is SpanExportResult.SUCCESS
        exporter.shutdown()
        received = sorted(s.attributes[1].value.int_value for _, _, s in receiver.spans())
        assert received == list(range(60))
        assert receiver.counts["requests"] >= 4
