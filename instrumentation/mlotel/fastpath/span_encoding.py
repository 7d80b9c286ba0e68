"""OTLP/gRPC span export: the SDK's exporter, sending requests mlotel writes in protobuf's wire format.

The request for a batch comes from :func:`~mlotel.fastpath.span_request.span_request_encoder`
as bytes (native where ``mlotel_native`` is installed and ``MLOTEL_NATIVE``
is not ``false``), and goes to a gRPC stub without a serializer: no protobuf
message is built for it. Only the gRPC exporter has a hook for its encoder
(``_translate_data``); the HTTP exporter keeps the SDK's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    DESCRIPTOR,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from mlotel.export_health import EXPORT_HEALTH
from mlotel.export_size import chunks
from mlotel.fastpath.span_request import span_request_encoder

# The Export method of the trace service, as the generated stub names it.
_EXPORT = "/{}/{}".format(*DESCRIPTOR.services_by_name["TraceService"].methods_by_name["Export"].full_name.rsplit(".", 1))


class _PreSerializedTraceStub:
    """The generated ``TraceServiceStub``, but its ``Export`` takes the request as bytes (no serializer)."""

    def __init__(self, channel: Any) -> None:
        self.Export = channel.unary_unary(
            _EXPORT, request_serializer=None, response_deserializer=ExportTraceServiceResponse.FromString,
            _registered_method=True,
        )


class GrpcSpanExporter(OTLPSpanExporter):
    """The SDK's OTLP/gRPC span exporter (retries, timeouts, self-metrics), sending :func:`span_request_encoder`'s bytes.

    A batch whose request would be over ``max_bytes`` is sent as several
    requests (as :class:`mlotel.export_size.SizeBoundedSpanExporter` does on the
    SDK's path); here the request's size is known exactly once it is encoded,
    and it is sent as encoded, so a batch under the limit costs nothing more.
    Each request's outcome goes to :data:`mlotel.export_health.EXPORT_HEALTH`.
    Reaches into the SDK exporter's private ``_stub``, ``_client`` and ``_channel``.
    """

    def __init__(self, *args: Any, max_bytes: int | None = None, native: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_bytes = max_bytes
        self._encoder = span_request_encoder(native)
        self._encoded: tuple[Sequence[ReadableSpan], bytes] | None = None
        # The SDK's exporter makes its client from _stub again when it reconnects.
        self._stub = _PreSerializedTraceStub
        self._client = self._stub(self._channel)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        request = self._encoder.encode(spans)
        if self.max_bytes is not None and len(spans) > 1 and len(request) > self.max_bytes:
            results = [self.export(part) for part in chunks(spans, self.max_bytes)]
            return SpanExportResult.SUCCESS if all(r is SpanExportResult.SUCCESS for r in results) else SpanExportResult.FAILURE
        # The SDK's export encodes through _translate_data, once per attempt: each attempt gets this request.
        self._encoded = (spans, request)
        try:
            result = super().export(spans)
        finally:
            self._encoded = None
        EXPORT_HEALTH.record("traces", result is SpanExportResult.SUCCESS, len(spans))
        return result

    def _translate_data(self, data: Sequence[ReadableSpan]) -> bytes:  # type: ignore[override]  # for the stub above
        encoded = self._encoded
        if encoded is not None and encoded[0] is data:
            return encoded[1]
        return self._encoder.encode(data)


_ENCODER = span_request_encoder()


def serialize_spans(spans: Sequence[ReadableSpan]) -> bytes:
    """The serialized OTLP export request for ``spans``, from the native encoder where installed."""
    return _ENCODER.encode(spans)


def encode_spans(spans: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
    """The OTLP export request for ``spans`` as a message, as the SDK's ``encode_spans`` returns it (parsed in C)."""
    return ExportTraceServiceRequest.FromString(serialize_spans(spans))
