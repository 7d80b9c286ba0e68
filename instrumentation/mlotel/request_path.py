"""The tracer and measurement recording of the request path, as ``MLOTEL_FASTPATH`` says.

On: :mod:`mlotel.fastpath`'s stand-ins for SDK internals. Off: the SDK's
public APIs, and no module of :mod:`mlotel.fastpath` is imported. The
middleware and the recorder take both from here, so that one switch decides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry import trace

from mlotel.config import TelemetryConfig
from mlotel.semconv import SCHEMA_URL, __version__

Record = Callable[[Callable[..., None], float, dict[str, Any]], None]


def get_tracer(name: str, config: TelemetryConfig) -> trace.Tracer:
    """The global provider's tracer for mlotel's scope ``name``."""
    if config.fastpath:
        from mlotel.fastpath import lean_spans

        return lean_spans.get_tracer(name, __version__, SCHEMA_URL)  # type: ignore[return-value]  # a Tracer's API
    return trace.get_tracer(name, __version__, schema_url=SCHEMA_URL)


def recorders(config: TelemetryConfig) -> tuple[Record, Record]:
    """``record`` and ``add``: each takes an instrument's ``record``/``add``, a value and attributes."""
    if config.fastpath:
        from mlotel.fastpath import measurements

        return measurements.record, measurements.add
    return _in_place, _in_place


def _in_place(method: Callable[..., None], value: float, attributes: dict[str, Any]) -> None:
    method(value, attributes)
