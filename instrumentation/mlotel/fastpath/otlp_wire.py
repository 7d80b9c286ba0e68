"""The protobuf wire format of OTLP's attributes, written by hand, for :mod:`mlotel.fastpath.span_encoding`.

Written by hand because protobuf's Python API costs ~90 k instructions a
span (every field of every attribute a call into a message object), where
bytes written around parts encoded once cost a fraction of it (figures in
``docs/performance.md``). Each function here returns what protobuf would
serialize for the same message, field for field, following the SDK's
encoder (``opentelemetry.exporter.otlp.proto.common``) in what it makes of
each Python value: ``tests/unit/instrumentation/fastpath/test_otlp_wire.py``
compares the two.

Spans repeat most of their attributes (model, route, method, status code):
a span attribute whose value is a short ``str`` or an ``int`` is kept as its
encoded bytes, up to :data:`CACHED_ATTRIBUTES` of each kind, and the cache
starts over when full, so that a value that never repeats (a path with an
id in it) costs one encoding and a little memory, never a leak.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any

CACHED_ATTRIBUTES = 1024
_CACHED_LENGTH = 256  # longer strings are encoded each time: they rarely repeat, and would fill memory

_BYTES = [bytes((i,)) for i in range(0x80)]
_DOUBLE = struct.Struct("<d").pack
FIXED64 = struct.Struct("<Q").pack
FIXED32 = struct.Struct("<I").pack
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


class SpanAttributes:
    """A span's attributes (field 9 of ``Span``), with the repeating ones kept encoded; see the module docstring."""

    def __init__(self, on_error: Any) -> None:
        self._on_error = on_error
        self._strings: dict[tuple[str, str], bytes] = {}
        self._ints: dict[tuple[str, int], bytes] = {}
        self._double_prefixes: dict[str, bytes] = {}

    def encode(self, values: Mapping[str, Any], append: Callable[[bytes], None]) -> None:
        """Hands each attribute's field to ``append``, in order (a float's in two parts)."""
        strings, ints, doubles = self._strings, self._ints, self._double_prefixes
        for key, value in values.items():
            kind = type(value)
            if kind is str:
                encoded = strings.get((key, value))
                append(self._remember(strings if len(value) <= _CACHED_LENGTH else None, key, value) if encoded is None else encoded)
            elif kind is float:
                prefix = doubles.get(key) or self._double_prefix(key)
                if prefix is None:
                    append(self._remember(None, key, value))
                else:
                    append(prefix)
                    append(_DOUBLE(value))
            elif kind is int:
                encoded = ints.get((key, value))
                append(self._remember(ints, key, value) if encoded is None else encoded)
            else:
                append(self._remember(None, key, value))

    def _remember(self, cache: dict[Any, bytes] | None, key: str, value: Any) -> bytes:
        """The attribute's field (nothing if it cannot be encoded), kept in ``cache`` if one is given."""
        try:
            encoded = field(b"\x4a", key_value(key, value))
        except Exception as error:  # noqa: BLE001 -- as in attributes()
            self._on_error(key, error)
            return b""
        if cache is not None:
            if len(cache) >= CACHED_ATTRIBUTES:
                cache.clear()
            cache[key, value] = encoded
        return encoded

    def _double_prefix(self, key: str) -> bytes | None:
        """A double attribute's field up to the double's eight bytes: tag, lengths, key, AnyValue's tag."""
        try:
            key_field = field(b"\x0a", key.encode()) if key else b""
        except (AttributeError, UnicodeError):
            return None  # not a key OTLP can carry: left to _remember, which says why it is left out
        prefix = b"\x4a" + varint(len(key_field) + 11) + key_field + b"\x12\x09\x21"
        if len(self._double_prefixes) >= CACHED_ATTRIBUTES:
            self._double_prefixes.clear()
        self._double_prefixes[key] = prefix
        return prefix
