"""Span export requests that stay under a receiver's message limit.

The batch span processor bounds a batch by its number of spans only
(``OTEL_BSP_MAX_EXPORT_BATCH_SIZE``), and a receiver refuses a request over its
size limit whole: the collector's OTLP/gRPC receiver takes 4 MiB by default,
its HTTP receiver 20 MiB. One batch with a few very large spans then lost
every span in it, most of them from ordinary requests.
:class:`SizeBoundedSpanExporter` wraps any span exporter and hands it the batch
in chunks whose encoded OTLP size cannot exceed ``max_bytes``.

The size of a chunk is not measured by encoding it (the export would then
encode every span twice) but bounded from above by :func:`span_size_bound`,
from protobuf's wire format: per field a tag, a varint length and the payload,
with each string's UTF-8 length taken as four bytes per character unless the
string is ASCII, every integer as ten bytes and every optional fixed field as
present. Written here because no
OpenTelemetry package splits a span batch by size;
``tests/unit/instrumentation/test_export_size.py`` checks the bound against the SDK's encoder.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from mlotel.export_health import EXPORT_HEALTH

# Fixed-size fields (tag and value, at most): trace_id and span_id of a span or link, a
# parent_span_id, kind, start and end times, a span's flags (field 16: a two-byte tag), a link's
# flags, the status code, a dropped count (varint of a uint32), an event's time.
_IDS = (2 + 16) + (2 + 8)
_SPAN_FIXED = _IDS + (2 + 8) + 2 + 2 * 9 + 6 + 3 * 6
_STATUS_CODE = 2
_LINK_FIXED = _IDS + 6 + 5
_EVENT_FIXED = 9 + 6


def _field(payload: int) -> int:
    """A length-delimited field around ``payload`` bytes: tag (every field number used here is below 16), length, payload."""
    return 1 + max(1, (payload.bit_length() + 6) // 7) + payload


def _text(value: str) -> int:
    return _field(len(value) if value.isascii() else 4 * len(value))


def _value(value: Any) -> int:
    """An AnyValue's size at most, its own field included."""
    kind = type(value)
    if kind is str:
        return _field(_text(value))
    if kind is bool:
        return _field(2)
    if kind is int or kind is float:
        return _field(11)  # a varint of a negative int64 is ten bytes, a double eight
    if value is None:
        return _field(0)
    if isinstance(value, bytes | bytearray):
        return _field(_field(len(value)))
    if isinstance(value, str):
        return _field(_text(value))
    if isinstance(value, bool | int | float):
        return _field(11)
    if isinstance(value, Mapping):
        return _field(_field(sum(_field(_text(str(k)) + _value(v)) for k, v in value.items())))
    if isinstance(value, Sequence):
        return _field(_field(sum(_value(item) for item in value)))
    return _field(_text(str(value)))  # an encoder leaves it out; never less than nothing


# A KeyValue around a key and a scalar value: the KeyValue's, the key's, the AnyValue's and the
# value's tag and length prefix (each length below 2**28: four bytes at most).
_ATTRIBUTE_FIXED = 4 * 5


def attributes_size_bound(attributes: Mapping[str, Any] | None) -> int:
    """Encoded size, at most, of ``attributes`` as repeated KeyValue fields."""
    if not attributes:
        return 0
    size = 0
    # Inline for the scalar types: this runs for every attribute of every span exported.
    for key, value in attributes.items():
        size += _ATTRIBUTE_FIXED + (len(key) if key.isascii() else 4 * len(key))
        kind = type(value)
        if kind is str:
            size += len(value) if value.isascii() else 4 * len(value)
        elif kind is int or kind is float or kind is bool:
            size += 10
        else:
            size += _value(value)
    return size


def span_size_bound(span: ReadableSpan) -> int:
    """Encoded size, at most, of ``span`` in an OTLP export request (its own field included), without its resource and scope."""
    size = _SPAN_FIXED + _text(span.name) + attributes_size_bound(span.attributes)
    context = span.context
    if context is not None and context.trace_state:
        size += _text(context.trace_state.to_header())
    status = span.status
    size += _field(_STATUS_CODE + (_text(status.description) if status.description else 0))
    for event in span.events:
        size += _field(_EVENT_FIXED + _text(event.name) + attributes_size_bound(event.attributes))
    for link in span.links:
        state = link.context.trace_state
        size += _field(_LINK_FIXED + attributes_size_bound(link.attributes) + (_text(state.to_header()) if state else 0))
    return _field(size)


def group_size_bound(resource: Resource, scope: Any) -> int:
    """Encoded size, at most, of one resource and scope's envelope around their spans.

    The envelope's own length prefixes are taken at their largest (five bytes
    each), as the spans inside are not counted here.
    """
    resource_size = _field(attributes_size_bound(resource.attributes) + 6)
    scope_size = 0
    if scope is not None:
        scope_size = _text(scope.name) + _text(scope.version or "") + attributes_size_bound(scope.attributes) + 6
        scope_size += _text(scope.schema_url or "")
    return 2 * 6 + resource_size + _field(scope_size) + _text(resource.schema_url or "")


def chunks(spans: Sequence[ReadableSpan], max_bytes: int) -> Iterator[Sequence[ReadableSpan]]:
    """``spans`` in order, in runs whose export request is at most ``max_bytes``; a larger span alone."""
    start, size = 0, 0
    groups: set[tuple[int, Any]] = set()  # the resource and scope envelopes the current run holds
    group_sizes: dict[tuple[int, Any], int] = {}
    for index, span in enumerate(spans):
        key = (id(span.resource), span.instrumentation_scope)
        if key not in group_sizes:
            group_sizes[key] = group_size_bound(span.resource, span.instrumentation_scope)
        span_size = span_size_bound(span)
        added = span_size if key in groups else span_size + group_sizes[key]
        if index > start and size + added > max_bytes:
            yield spans[start:index]
            start, size, groups = index, 0, set()
            added = span_size + group_sizes[key]
        size += added
        groups.add(key)
    if start < len(spans):
        yield spans[start:]


class SizeBoundedSpanExporter(SpanExporter):
    """Exports through ``exporter`` in requests of at most ``max_bytes`` each; one failure costs only its chunk.

    Each request's outcome goes to :data:`mlotel.export_health.EXPORT_HEALTH`.
    """

    def __init__(self, exporter: SpanExporter, max_bytes: int) -> None:
        self.exporter = exporter
        self.max_bytes = max_bytes

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        failed = False
        for chunk in chunks(spans, self.max_bytes):
            ok = self.exporter.export(chunk) is SpanExportResult.SUCCESS
            EXPORT_HEALTH.record("traces", ok, len(chunk))
            failed = failed or not ok
        return SpanExportResult.FAILURE if failed else SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.exporter.force_flush(timeout_millis)
