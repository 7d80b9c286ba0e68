"""mlotel's OTLP span-request encoder in Rust (src/lib.rs): the types mypy checks its callers against."""

from collections.abc import Sequence
from typing import Any

class SpanRequestEncoder:
    """Serialized ``ExportTraceServiceRequest`` s, the same bytes as ``fallback.encode`` would give.

    ``fallback`` is mlotel's Python encoder, which encodes what this one does not
    (``fallback.span(span)``) and gives the resource and scope envelopes
    (``fallback.envelopes(resource, scope)``); ``kinds`` and ``codes`` are the
    API's ``SpanKind`` and ``StatusCode`` members in the order of their values.
    """

    def __init__(
        self, fallback: Any, lean_span: type, default_trace_state: Any, kinds: Sequence[Any], codes: Sequence[Any]
    ) -> None: ...
    def encode(self, spans: Sequence[Any]) -> bytes: ...
