"""A span's attributes in protobuf's wire format, the repeating ones kept encoded, for :mod:`mlotel.fastpath.span_encoding`.

Spans repeat most of their attributes (model, route, method, status code):
a span attribute whose value is a short ``str``, an ``int`` or a ``bool``
is kept as its encoded field, up to :data:`CACHED_ATTRIBUTES` values a key,
and a key's values start over when full, so that a value that never repeats
(a path with an id in it) costs one encoding and a little memory, never a
leak. ``tests/unit/instrumentation/fastpath/test_otlp_wire.py`` compares
what comes out with protobuf's own serialization.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from functools import partial
from operator import call
from typing import Any

from mlotel.fastpath.otlp_wire import field, key_value, varint

CACHED_ATTRIBUTES = 1024
_CACHED_LENGTH = 256  # longer strings are encoded each time: they rarely repeat, and would fill memory


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
        # () for a shape no plan can have: its attributes are encoded one by one.
        self._plans: dict[tuple[tuple[str, ...], tuple[type, ...]], tuple[Callable[[Any], bytes], ...]] = {}
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

    def _plan(self, shape: tuple[tuple[str, ...], tuple[type, ...]]) -> tuple[Callable[[Any], bytes], ...]:
        plan: tuple[Callable[[Any], bytes], ...] = ()
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
