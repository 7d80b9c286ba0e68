"""OTLP export requests for span batches, written in protobuf's wire format, for :mod:`mlotel.fastpath.span_encoding`.

Written by hand because protobuf's Python API costs ~100 k instructions a span
(mlotel's earlier encoder, which filled one message in place; the SDK's, which
builds every span, attribute and value from keyword arguments and hashes the
``Resource`` once per span, costs more). Only ids, times, status and a few
measured values change from span to span, so resource, scope, span names and
the repeating attributes are kept as their encoded bytes
(:mod:`mlotel.fastpath.span_attributes`) and a span is a few byte strings
joined: ~35 k instructions a span (figures: ``docs/performance.md``).

The bytes are what protobuf serializes for the SDK's message, field for field:
``tests/unit/instrumentation/fastpath/test_span_encoding.py`` compares the two
on spans of every shape (events, links, errors, arrays, trace state, remote
parents, dropped counts, non-ASCII text, values of every type). A
:class:`~mlotel.fastpath.lean_spans.LeanSpan` is read from its fields (the SDK
``ReadableSpan``'s private ones), any other span through its public properties.

:func:`span_request_encoder` gives the native encoder (``mlotel_native``,
``native/src/lib.rs``) in front of this one where it is installed: it writes
a ``LeanSpan`` with nothing unusual (no events, links or trace state, plain
attribute values) itself, in ~12 k instructions against ~35 k here
(``python -m benchmarks.span_encoding``), asks this one for any other
span's message (:meth:`SpanRequestEncoder.span`) and for the envelopes
(:meth:`SpanRequestEncoder.envelopes`), and gives the same bytes.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Sequence
from typing import Any, Protocol

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

from mlotel.fastpath.lean_spans import LeanSpan
from mlotel.fastpath.otlp_wire import (
    FIXED32,
    FIXED64,
    LOCAL_PARENT,
    REMOTE_PARENT,
    events_and_links,
    field,
    resource_fields,
    scope_fields,
    status_field,
    varint,
)
from mlotel.fastpath.span_attributes import CACHED_ATTRIBUTES, SpanAttributes

_logger = logging.getLogger(__name__)

_LOCAL_FLAGS, _REMOTE_FLAGS = b"\x85\x01" + FIXED32(LOCAL_PARENT), b"\x85\x01" + FIXED32(REMOTE_PARENT)
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


class SpanRequestEncoder:
    """Serialized ``ExportTraceServiceRequest`` s, grouped by resource, then by scope, as the SDK's encoder groups them.

    Keeps what repeats from batch to batch encoded (see the module docstring),
    one per exporter. It may be shared between threads: what it keeps is
    only ever added or dropped whole, and each batch is encoded in locals.
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
        for span in spans:
            resource, scope, encoded = self.span(span)
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

    def span(self, span: ReadableSpan) -> tuple[Any, Any, bytes]:
        """A span's resource, scope and ``Span`` message (the native encoder asks for those of the spans it leaves)."""
        if type(span) is LeanSpan:
            events, links = span._events, span._links
            return span._resource, span._instrumentation_scope, self._body(
                span._context, span._parent, span._name, span._kind, span._start_time, span._end_time,
                span._attributes, span._status, span._dropped_attributes,
                # A LeanSpan's events and links are an empty tuple until it has some.
                None if events == () and links == () else span,
            )
        return span.resource, span.instrumentation_scope or None, self._body(
            span.context, span.parent, span.name, span.kind, span.start_time, span.end_time,
            span.attributes, span.status, span.dropped_attributes, span,
        )

    def envelopes(self, resource: Any, scope: Any) -> tuple[bytes, bytes, bytes, bytes]:
        """The fields of a resource's and a scope's messages before and after what they hold, kept encoded."""
        return *self._envelope(resource, resource_fields), *self._envelope(scope, scope_fields)

    def _group(self, by_envelope: dict, resource: Any, scope: Any) -> list[bytes]:
        """The spans of ``resource`` and ``scope``: equal ones, not only the same objects, share an entry, as in the SDK."""
        scopes = by_envelope.setdefault(self._envelope(resource, resource_fields), {})
        return scopes.setdefault(self._envelope(scope, scope_fields), [])

    def _envelope(self, of: Any, encode: Any) -> tuple[bytes, bytes]:
        kept = self._envelopes.get(id(of))
        if kept is None or kept[0] is not of:
            if len(self._envelopes) >= _ENVELOPES_KEPT:
                self._envelopes.clear()
            kept = self._envelopes[id(of)] = (of, *encode(of, _left_out))
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
            parts.append(events_and_links(more, _left_out))
        remote = parent is not None and parent[2]
        if status is self._unset or self._is_unset(status):
            parts.append(_UNSET_AND_REMOTE_FLAGS if remote else _UNSET_AND_LOCAL_FLAGS)
        else:
            parts.append(status_field(status) + (_REMOTE_FLAGS if remote else _LOCAL_FLAGS))
        return b"".join(parts)

    def _is_unset(self, status: Status) -> bool:
        """Whether ``status`` is unset; the last unset one is kept, as spans share their default status object."""
        if status.status_code is _UNSET and not status.description:
            self._unset = status
            return True
        return False

    def _name(self, name: str, kind: SpanKind) -> bytes:
        """A span's name and kind (a name is kept with the kind it last had: one, as a rule)."""
        # OTLP's SpanKind is the API's shifted by one (its 0 is UNSPECIFIED).
        encoded = (field(b"\x2a", name.encode()) if name else b"") + b"\x30" + varint(kind.value + 1)
        if len(self._names) >= CACHED_ATTRIBUTES:
            self._names.clear()
        self._names[name] = (kind, encoded)
        return encoded


class RequestEncoder(Protocol):
    def encode(self, spans: Sequence[ReadableSpan]) -> bytes: ...


def span_request_encoder(native: bool = True) -> RequestEncoder:
    """The native encoder over a Python one where ``mlotel_native`` is installed and ``native`` is on, else the Python one.

    Both give the same bytes; the native one (the ``native`` extra, Rust,
    ``native/src/lib.rs``) writes the fast path's own spans for less CPU and
    hands any other to the Python one. Where it cannot be imported (not
    installed: no compiler to build it), the Python one, silently.
    """
    python = SpanRequestEncoder()
    if not native:
        return python
    try:
        import mlotel_native
    except ImportError:
        return python
    by_value = lambda members: sorted(members, key=lambda member: member.value)  # noqa: E731
    return mlotel_native.SpanRequestEncoder(python, LeanSpan, DEFAULT_TRACE_STATE, by_value(SpanKind), by_value(StatusCode))
