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
from functools import partial
from operator import call
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


class _Encodings(dict):
    """One attribute key's fields by value, for values of one type: encoded on first use, then kept."""

    __slots__ = ("_key", "_on_error", "_keep")

    def __init__(self, key: str, on_error: Callable[[Any, Exception], None], keep: Callable[[Any], bool]) -> None:
        super().__init__()
        self._key, self._on_error, self._keep = key, on_error, keep

    def __missing__(self, value: Any) -> bytes:
        try:
            encoded = field(b"\x4a", key_value(self._key, value))
        except Exception as error:  # noqa: BLE001 -- as in attributes()
            self._on_error(self._key, error)
            return b""
        if self._keep(value):
            if len(self) >= CACHED_ATTRIBUTES:
                self.clear()
            self[value] = encoded
        return encoded


def _short(value: str) -> bool:
    return len(value) <= _CACHED_LENGTH


def _always(value: Any) -> bool:
    return True


class SpanAttributes:
    """A span's attributes (field 9 of ``Span``), with the repeating ones kept encoded; see the module docstring.

    Spans that share their attribute keys and value types share a plan: for
    each attribute in turn, the function that gives its field from its value,
    a lookup of kept fields (``str``, ``int``, ``bool``) or a ``struct`` pack
    (``float``), called from C (``map``), which is what makes it cheap.
    """

    def __init__(self, on_error: Callable[[Any, Exception], None]) -> None:
        self._on_error = on_error
        self._plans: dict[tuple[tuple[str, ...], tuple[type, ...]], tuple[Callable[[Any], bytes], ...] | None] = {}
        self._by_key: dict[tuple[str, type], Callable[[Any], bytes]] = {}

    def encode(self, values: Mapping[str, Any], parts: list[bytes]) -> None:
        """Adds each attribute's field to ``parts``, in order."""
        shape = (tuple(values), tuple(map(type, values.values())))
        plan = self._plans.get(shape)
        if plan is None:
            plan = self._plan(shape)
        if plan:
            parts += map(call, plan, values.values())
        else:  # a value or key no plan has (a sequence, an enum): encoded one by one
            parts += [self._one(key, value) for key, value in values.items()]

    def _plan(self, shape: tuple[tuple[str, ...], tuple[type, ...]]) -> tuple[Callable[[Any], bytes], ...] | None:
        plan: tuple[Callable[[Any], bytes], ...] | None = None
        if all(type(key) is str for key in shape[0]) and all(kind in _PLANNED for kind in shape[1]):
            plan = tuple(self._by_key.get(each) or self._getter(*each) for each in zip(*shape))
        if len(self._plans) >= CACHED_ATTRIBUTES:
            self._plans.clear()
            self._by_key.clear()
        self._plans[shape] = plan
        return plan

    def _getter(self, key: str, kind: type) -> Callable[[Any], bytes]:
        if kind is float:
            try:
                key_field = field(b"\x0a", key.encode()) if key else b""
            except UnicodeError:  # a key OTLP cannot carry: said, and left out, each time
                return _Encodings(key, self._on_error, lambda value: False).__getitem__
            # The field up to the double's eight bytes: tag, lengths, key, AnyValue's tag.
            prefix = b"\x4a" + varint(len(key_field) + 11) + key_field + b"\x12\x09\x21"
            getter: Callable[[Any], bytes] = partial(struct.Struct(f"<{len(prefix)}sd").pack, prefix)
        else:
            getter = _Encodings(key, self._on_error, _short if kind is str else _always).__getitem__
        self._by_key[key, kind] = getter
        return getter

    def _one(self, key: str, value: Any) -> bytes:
        try:
            return field(b"\x4a", key_value(key, value))
        except Exception as error:  # noqa: BLE001 -- as in attributes()
            self._on_error(key, error)
            return b""


# The value types a plan has (anything else, subclasses included, is encoded one by one).
_PLANNED = frozenset((str, int, float, bool))
