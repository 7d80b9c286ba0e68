"""The protobuf wire format of OTLP's span messages, for :mod:`mlotel.fastpath.span_request`.

By hand for the reason given there (protobuf's Python API costs ~100 k
instructions a span). Each function here returns what protobuf would
serialize for the same message, field for field, following the SDK's
encoder (``opentelemetry.exporter.otlp.proto.common``) in what it makes of
each Python value: ``tests/unit/instrumentation/fastpath/test_otlp_wire.py``
compares the two with protobuf's own serialization.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_BYTES = [bytes((i,)) for i in range(0x80)]
_DOUBLE = struct.Struct("<d").pack
FIXED64 = struct.Struct("<Q").pack
FIXED32 = struct.Struct("<I").pack
# A span's or link's flags: OTLP says whether the parent (or the link's target) is remote; the SDK always says.
LOCAL_PARENT, REMOTE_PARENT = 0x100, 0x300
_INT64_MIN, _INT64_END = -(1 << 63), 1 << 63


def varint(value: int) -> bytes:
    """A non-negative integer as a protobuf varint."""
    if value < 0x80:
        return _BYTES[value]
    if value < 0x4000:
        return bytes((value & 0x7F | 0x80, value >> 7))
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def int64(value: int) -> bytes:
    """An ``int64`` field's varint: a negative value is ten bytes, two's complement, as protobuf writes it."""
    if not _INT64_MIN <= value < _INT64_END:
        raise ValueError(f"Value out of range: {value}")
    return varint(value if value >= 0 else value + (1 << 64))


def field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: its tag, the payload's length, the payload."""
    return tag + varint(len(payload)) + payload


def any_value(value: Any) -> bytes:
    """An ``AnyValue`` message for ``value``, testing its type in the SDK encoder's order; TypeError if none fits."""
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, str):
        return field(b"\x0a", value.encode())
    if isinstance(value, int):
        return b"\x18" + int64(value)
    if isinstance(value, float):
        return b"\x21" + _DOUBLE(value)
    if isinstance(value, bytes):
        return field(b"\x3a", value)
    if isinstance(value, Sequence):
        return field(b"\x2a", b"".join([field(b"\x0a", any_value(item)) for item in value]))
    if isinstance(value, Mapping):
        return field(b"\x32", b"".join([field(b"\x0a", key_value(str(k), item)) for k, item in value.items()]))
    raise TypeError(f"Invalid type {type(value)} of value {value}")


def key_value(key: str, value: Any) -> bytes:
    """A ``KeyValue`` message; the value is present even when empty, as the SDK sends it."""
    return (field(b"\x0a", key.encode()) if key else b"") + field(b"\x12", any_value(value))


def attributes(tag: bytes, values: Mapping[str, Any] | None, on_error: Any) -> bytes:
    """Repeated ``KeyValue`` fields ``tag``; one that cannot be encoded is passed to ``on_error(key, error)`` and left out."""
    if not values:
        return b""
    out = []
    for key, value in values.items():
        try:
            out.append(field(tag, key_value(key, value)))
        except Exception as error:  # noqa: BLE001 -- as the SDK's encoder: one attribute lost, never the batch
            on_error(key, error)
    return b"".join(out)


def resource_fields(resource: Any, on_error: Callable[[Any, Exception], None]) -> tuple[bytes, bytes]:
    """A ``ResourceSpans``' fields before and after its scopes."""
    schema_url = resource.schema_url
    return (
        field(b"\x0a", attributes(b"\x0a", resource.attributes, on_error)),
        field(b"\x1a", schema_url.encode()) if schema_url else b"",
    )


def scope_fields(scope: Any, on_error: Callable[[Any, Exception], None]) -> tuple[bytes, bytes]:
    """A ``ScopeSpans``' fields before and after its spans."""
    if scope is None:
        return b"\x0a\x00", b""
    encoded = (
        (field(b"\x0a", scope.name.encode()) if scope.name else b"")
        + (field(b"\x12", scope.version.encode()) if scope.version else b"")
        + attributes(b"\x1a", scope.attributes, on_error)
    )
    return field(b"\x0a", encoded), field(b"\x1a", scope.schema_url.encode()) if scope.schema_url else b""


def status_field(status: Any) -> bytes:
    """A ``Span``'s status (field 15)."""
    code, description = status.status_code.value, status.description
    return field(b"\x7a", (field(b"\x12", description.encode()) if description else b"") + (b"\x18" + varint(code) if code else b""))


def events_and_links(span: Any, on_error: Callable[[Any, Exception], None]) -> bytes:
    """A span's events, links and the counts of those dropped: fields 11 to 14 of ``Span``."""
    parts = []
    for event in span.events:
        encoded = (
            (b"\x09" + FIXED64(event.timestamp) if event.timestamp else b"")
            + (field(b"\x12", event.name.encode()) if event.name else b"")
            + attributes(b"\x1a", event.attributes, on_error)
            + (b"\x20" + varint(event.dropped_attributes) if event.dropped_attributes else b"")
        )
        parts.append(field(b"\x5a", encoded))
    if span.dropped_events:
        parts.append(b"\x60" + varint(span.dropped_events))
    for link in span.links:
        context = link.context
        encoded = (
            b"\x0a\x10" + context.trace_id.to_bytes(16, "big") + b"\x12\x08" + context.span_id.to_bytes(8, "big")
            + attributes(b"\x22", link.attributes, on_error)
            + (b"\x28" + varint(link.dropped_attributes) if link.dropped_attributes else b"")
            + b"\x35" + FIXED32(REMOTE_PARENT if context.is_remote else LOCAL_PARENT)
        )
        parts.append(field(b"\x6a", encoded))
    if span.dropped_links:
        parts.append(b"\x70" + varint(span.dropped_links))
    return b"".join(parts)
