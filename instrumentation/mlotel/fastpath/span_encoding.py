"""OTLP/gRPC span export, each request written straight in protobuf's wire format.

Encoding finished spans is the largest part of what exporting them costs.
The SDK's ``encode_spans`` builds every span, attribute and value as a
protobuf message from keyword arguments and hashes the ``Resource`` (a JSON
dump of it) once per span; mlotel's first encoder filled one message in
place, ~90 k instructions a span, still most of it calls into protobuf's
Python API. The wire format is written by hand here because of that cost:
only ids, times, status and a few measured values change from span to span,
so resource, scope, span names and the repeating attributes are kept as
their encoded bytes (:mod:`mlotel.fastpath.otlp_wire`) and a span is a few
byte strings joined. The request goes to the gRPC stub already serialized.
Figures: ``docs/performance.md``.

The bytes are what protobuf serializes for the SDK's message, field for field:
``tests/unit/instrumentation/fastpath/test_span_encoding.py`` compares the two on spans of every shape
(events, links, errors, arrays, trace state, remote parents, dropped counts).
A :class:`~mlotel.fastpath.lean_spans.LeanSpan` is read from its fields (the
SDK ``ReadableSpan``'s private ones), any other span through its public
properties. Only the gRPC exporter has a hook for its encoder
(``_translate_data``); the HTTP exporter keeps the SDK's.
"""

from __future__ import annotations

import logging
import struct
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
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

from mlotel.export_health import EXPORT_HEALTH
from mlotel.export_size import chunks
from mlotel.fastpath.lean_spans import LeanSpan
from mlotel.fastpath.otlp_wire import CACHED_ATTRIBUTES, FIXED32, FIXED64, SpanAttributes, attributes, field, varint

_logger = logging.getLogger(__name__)

# The Export method of the trace service, as the generated stub names it.
_EXPORT = "/{}/{}".format(*DESCRIPTOR.services_by_name["TraceService"].methods_by_name["Export"].full_name.rsplit(".", 1))
# OTLP says whether the parent (or a link's target) is remote; the SDK always says (SpanFlags' masks).
_LOCAL, _REMOTE = 0x100, 0x300
_LOCAL_FLAGS, _REMOTE_FLAGS = b"\x85\x01" + FIXED32(_LOCAL), b"\x85\x01" + FIXED32(_REMOTE)
# Status (field 15) is present even when unset, as the SDK sends it; flags (field 16) follow it.
_UNSET_AND_LOCAL_FLAGS, _UNSET_AND_REMOTE_FLAGS = b"\x7a\x00" + _LOCAL_FLAGS, b"\x7a\x00" + _REMOTE_FLAGS
_UNSET = StatusCode.UNSET
# Fields 1 and 2 (trace and span id, tags as big-endian shorts), 4 (the parent's id); 7 and 8 (start and end).
_IDS = struct.Struct(">HQQHQ").pack
_IDS_AND_PARENT = struct.Struct(">HQQHQHQ").pack
_PARENT = struct.Struct(">HQ").pack
_LOW64 = (1 << 64) - 1
_TIMES = struct.Struct("<BQBQ").pack
_ENVELOPES_KEPT = 64  # resources and scopes: a process has a handful


def _left_out(key: Any, error: Exception) -> None:
    # As the SDK's encoder does: the attribute is left out, the rest of the batch goes.
    _logger.error("Span attribute %r left out: %s", key, error)


class _PreSerializedTraceStub:
    """The generated ``TraceServiceStub``, but its ``Export`` takes the request as bytes (no serializer)."""

    def __init__(self, channel: Any) -> None:
        self.Export = channel.unary_unary(
            _EXPORT, request_serializer=None, response_deserializer=ExportTraceServiceResponse.FromString,
            _registered_method=True,
        )


class GrpcSpanExporter(OTLPSpanExporter):
    """The SDK's OTLP/gRPC span exporter (retries, timeouts, self-metrics), sending :class:`SpanRequestEncoder`'s bytes.

    A batch whose request would be over ``max_bytes`` is sent as several
    requests (as :class:`mlotel.export_size.SizeBoundedSpanExporter` does on the
    SDK's path); here the request's size is known exactly once it is encoded,
    and it is sent as encoded, so a batch under the limit costs nothing more.
    Each request's outcome goes to :data:`mlotel.export_health.EXPORT_HEALTH`.
    Reaches into the SDK exporter's private ``_stub``, ``_client`` and ``_channel``.
    """

    def __init__(self, *args: Any, max_bytes: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_bytes = max_bytes
        self._encoder = SpanRequestEncoder()
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


class SpanRequestEncoder:
    """Serialized ``ExportTraceServiceRequest`` s, grouped by resource, then by scope, as the SDK's encoder groups them.

    Keeps what repeats from batch to batch encoded (see the module docstring);
    one per exporter, used by one thread at a time (the batch processor's).
    """

    def __init__(self) -> None:
        self._attributes = SpanAttributes(_left_out)
        self._names: dict[str, tuple[SpanKind, bytes]] = {}
        # id(resource or scope) -> (it, kept so that the id is not reused; its field; what follows the spans)
        self._envelopes: dict[int, tuple[Any, bytes, bytes]] = {}
        self._unset = Status(_UNSET)

    def encode(self, spans: Sequence[ReadableSpan]) -> bytes:
        by_envelope: dict[tuple[bytes, bytes], dict[tuple[bytes, bytes], list[bytes]]] = {}
        groups: dict[tuple[int, int], list[bytes]] = {}
        body = self._body
        for span in spans:
            if type(span) is LeanSpan:
                resource, scope = span._resource, span._instrumentation_scope
                events, links = span._events, span._links
                encoded = body(
                    span._context, span._parent, span._name, span._kind, span._start_time, span._end_time,
                    span._attributes, span._status, span._dropped_attributes,
                    # A LeanSpan's events and links are an empty tuple until it has some.
                    None if events == () and links == () else span,
                )
            else:
                resource, scope = span.resource, span.instrumentation_scope or None
                encoded = body(
                    span.context, span.parent, span.name, span.kind, span.start_time, span.end_time,
                    span.attributes, span.status, span.dropped_attributes, span,
                )
            group = groups.get((id(resource), id(scope)))
            if group is None:
                group = groups[id(resource), id(scope)] = self._group(by_envelope, resource, scope)
            group.append(b"\x12" + varint(len(encoded)))  # ScopeSpans.spans, framed here and copied once, below
            group.append(encoded)
        out: list[bytes] = []
        for (resource_head, resource_tail), scopes in by_envelope.items():
            fields: list[bytes] = []
            for (scope_head, scope_tail), spans_fields in scopes.items():
                size = len(scope_head) + sum(map(len, spans_fields)) + len(scope_tail)
                fields += (b"\x12", varint(size), scope_head, *spans_fields, scope_tail)
            size = len(resource_head) + sum(map(len, fields)) + len(resource_tail)
            out += (b"\x0a", varint(size), resource_head, *fields, resource_tail)
        return b"".join(out)

    def _group(self, by_envelope: dict, resource: Any, scope: Any) -> list[bytes]:
        """The spans of ``resource`` and ``scope``: equal ones, not only the same objects, share an entry, as in the SDK."""
        scopes = by_envelope.setdefault(self._envelope(resource, _resource), {})
        return scopes.setdefault(self._envelope(scope, _scope), [])

    def _envelope(self, of: Any, encode: Any) -> tuple[bytes, bytes]:
        kept = self._envelopes.get(id(of))
        if kept is None or kept[0] is not of:
            if len(self._envelopes) >= _ENVELOPES_KEPT:
                self._envelopes.clear()
            kept = self._envelopes[id(of)] = (of, *encode(of))
        return kept[1], kept[2]

    def _body(
        self, context: SpanContext | None, parent: SpanContext | None, name: str, kind: SpanKind, start: int | None,
        end: int | None, attributes: Any, status: Status, dropped_attributes: int, more: ReadableSpan | None,
    ) -> bytes:
        """A span's ``Span`` message; ``more``: the span, if it may have events, links or dropped ones."""
        # A SpanContext is a tuple: (trace_id, span_id, is_remote, trace_flags, trace_state, is_valid).
        trace_id, span_id, _, _, trace_state, _ = context  # type: ignore[misc]  # a finished span has one
        if trace_state is not DEFAULT_TRACE_STATE and trace_state:  # the default: without asking its length
            parts = [_IDS(0x0A10, trace_id >> 64, trace_id & _LOW64, 0x1208, span_id)]
            parts.append(field(b"\x1a", ",".join([f"{k}={v}" for k, v in trace_state.items()]).encode()))
            if parent is not None:
                parts.append(_PARENT(0x2208, parent[1]))
        elif parent is not None:
            parts = [_IDS_AND_PARENT(0x0A10, trace_id >> 64, trace_id & _LOW64, 0x1208, span_id, 0x2208, parent[1])]
        else:
            parts = [_IDS(0x0A10, trace_id >> 64, trace_id & _LOW64, 0x1208, span_id)]
        named = self._names.get(name)
        parts.append(named[1] if named is not None and named[0] is kind else self._name(name, kind))
        if start and end:
            parts.append(_TIMES(0x39, start, 0x41, end))
        else:
            parts.append((b"\x39" + FIXED64(start) if start else b"") + (b"\x41" + FIXED64(end) if end else b""))
        if attributes:
            self._attributes.encode(attributes, parts)
        if dropped_attributes:
            parts.append(b"\x50" + varint(dropped_attributes))
        if more is not None:
            parts.append(_events_and_links(more))
        remote = parent is not None and parent[2]
        if status is self._unset or self._is_unset(status):
            parts.append(_UNSET_AND_REMOTE_FLAGS if remote else _UNSET_AND_LOCAL_FLAGS)
        else:
            parts.append(_status(status) + (_REMOTE_FLAGS if remote else _LOCAL_FLAGS))
        return b"".join(parts)

    def _is_unset(self, status: Status) -> bool:
        """Whether ``status`` is unset; the last unset one is kept, as spans share their default status object."""
        if status.status_code is _UNSET and not status.description:
            self._unset = status
            return True
        return False

    def _name(self, name: str, kind: SpanKind) -> bytes:
        """A span's name and kind (a name is kept with the kind it last had: one, as a rule)."""
        encoded = (field(b"\x2a", name.encode()) if name else b"") + b"\x30" + varint(kind.value + 1)
        if len(self._names) >= CACHED_ATTRIBUTES:
            self._names.clear()
        self._names[name] = (kind, encoded)
        return encoded


def _resource(resource: Any) -> tuple[bytes, bytes]:
    """A ``ResourceSpans``' fields before and after its scopes."""
    schema_url = resource.schema_url
    return (
        field(b"\x0a", attributes(b"\x0a", resource.attributes, _left_out)),
        field(b"\x1a", schema_url.encode()) if schema_url else b"",
    )


def _scope(scope: Any) -> tuple[bytes, bytes]:
    """A ``ScopeSpans``' fields before and after its spans."""
    if scope is None:
        return b"\x0a\x00", b""
    encoded = (
        (field(b"\x0a", scope.name.encode()) if scope.name else b"")
        + (field(b"\x12", scope.version.encode()) if scope.version else b"")
        + attributes(b"\x1a", scope.attributes, _left_out)
    )
    return field(b"\x0a", encoded), field(b"\x1a", scope.schema_url.encode()) if scope.schema_url else b""


def _status(status: Status) -> bytes:
    code, description = status.status_code.value, status.description
    return field(b"\x7a", (field(b"\x12", description.encode()) if description else b"") + (b"\x18" + varint(code) if code else b""))


def _flags(context: SpanContext) -> int:
    return _REMOTE if context.is_remote else _LOCAL


def _events_and_links(span: ReadableSpan) -> bytes:
    """A span's events, links and the counts of those dropped: fields 11 to 14 of ``Span``."""
    parts = []
    for event in span.events:
        encoded = (
            (b"\x09" + FIXED64(event.timestamp) if event.timestamp else b"")
            + (field(b"\x12", event.name.encode()) if event.name else b"")
            + attributes(b"\x1a", event.attributes, _left_out)
            + (b"\x20" + varint(event.dropped_attributes) if event.dropped_attributes else b"")
        )
        parts.append(field(b"\x5a", encoded))
    if span.dropped_events:
        parts.append(b"\x60" + varint(span.dropped_events))
    for link in span.links:
        context = link.context
        encoded = (
            b"\x0a\x10" + context.trace_id.to_bytes(16, "big") + b"\x12\x08" + context.span_id.to_bytes(8, "big")
            + attributes(b"\x22", link.attributes, _left_out)
            + (b"\x28" + varint(link.dropped_attributes) if link.dropped_attributes else b"")
            + b"\x35" + FIXED32(_flags(context))
        )
        parts.append(field(b"\x6a", encoded))
    if span.dropped_links:
        parts.append(b"\x70" + varint(span.dropped_links))
    return b"".join(parts)


_ENCODER = SpanRequestEncoder()


def serialize_spans(spans: Sequence[ReadableSpan]) -> bytes:
    """The serialized OTLP export request for ``spans``."""
    return _ENCODER.encode(spans)


def encode_spans(spans: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
    """The OTLP export request for ``spans`` as a message, as the SDK's ``encode_spans`` returns it (parsed in C)."""
    return ExportTraceServiceRequest.FromString(serialize_spans(spans))
