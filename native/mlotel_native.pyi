"""mlotel's OTLP span-request encoder and prediction-id signer in Rust (src/): the types mypy checks its callers against."""

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

class PredictionIdSigner:
    """Issues ``mlotel.prediction_ids`` ids: the same strings as its Python signer, given the same first nonce."""

    def __init__(self, format: int, key: bytes, person: bytes, tag_bytes: int) -> None: ...
    def issue(
        self, made_ms: int, names: bytes, labels: Sequence[Any], confidences: Sequence[float], first_nonce: int
    ) -> list[str]: ...
