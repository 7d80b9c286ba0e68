"""Reads mlotel's configuration from the environment, once, into one object.

Every field can be given explicitly to :class:`TelemetryConfig`; a field left
out falls back to its environment variable (see ``environment_variables``)
and then to the default. A value that does not parse raises
:class:`ConfigError` naming the variable, at start-up rather than mid-request.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from instrumentation import environment_variables as env

DEFAULT_EXCLUDED_URLS = "/health,/docs.*,/redoc.*,/openapi.json,/favicon.ico"
SIGNAL_EXPORTERS = ("otlp", "console", "none")
KNOWN_INSTRUMENTATIONS = ("fastapi", "system_metrics", "logging", "mlotel")


class ConfigError(ValueError):
    """An environment variable or argument has a value mlotel cannot use."""


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r}: expected true or false")


def _exporter(environ: Mapping[str, str], name: str, default: str) -> str:
    raw = environ.get(name, "").strip().lower() or default
    # The spec allows a list; mlotel ships one exporter per signal.
    first = raw.split(",")[0].strip()
    if first not in SIGNAL_EXPORTERS:
        raise ConfigError(f"{name}={raw!r}: expected one of {', '.join(SIGNAL_EXPORTERS)}")
    return first


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _excluded_urls(environ: Mapping[str, str]) -> re.Pattern[str] | None:
    raw = environ.get(env.OTEL_PYTHON_FASTAPI_EXCLUDED_URLS)
    if raw is None:
        raw = environ.get("OTEL_PYTHON_EXCLUDED_URLS", DEFAULT_EXCLUDED_URLS)
    return compile_excluded_urls(_csv(raw))


def compile_excluded_urls(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex that matches a path in full when any pattern does."""
    if not patterns:
        return None
    try:
        return re.compile("|".join(f"(?:{p})" for p in patterns))
    except re.error as exc:
        raise ConfigError(f"{env.OTEL_PYTHON_FASTAPI_EXCLUDED_URLS}: bad pattern: {exc}") from exc


def _non_negative(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ConfigError(f"{name}={raw!r}: expected a number >= 0")
    return value


def _threshold(environ: Mapping[str, str]) -> float:
    raw = environ.get(env.MLOTEL_LOW_CONFIDENCE_THRESHOLD, "").strip()
    if not raw:
        return 0.5
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{env.MLOTEL_LOW_CONFIDENCE_THRESHOLD}={raw!r}: expected a number in [0, 1]")
    return value


@dataclass(frozen=True)
class TelemetryConfig:
    """What to switch on, as read from the environment unless given."""

    sdk_disabled: bool = False
    traces_exporter: str = "otlp"
    metrics_exporter: str = "otlp"
    logs_exporter: str = "none"
    disabled_instrumentations: frozenset[str] = frozenset()
    excluded_urls: re.Pattern[str] | None = None
    ml_metrics: bool = True
    low_confidence_threshold: float = 0.5
    stage_span_threshold_ms: float = 10.0
    capture_request_content: bool = False
    sdk_metrics: bool = True
    unknown_instrumentations: tuple[str, ...] = field(default=())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> TelemetryConfig:
        environ = os.environ if environ is None else environ
        disabled = _csv(environ.get(env.OTEL_PYTHON_DISABLED_INSTRUMENTATIONS, "").lower())
        values: dict[str, object] = {
            "sdk_disabled": _bool(environ, env.OTEL_SDK_DISABLED, False),
            "traces_exporter": _exporter(environ, env.OTEL_TRACES_EXPORTER, "otlp"),
            "metrics_exporter": _exporter(environ, env.OTEL_METRICS_EXPORTER, "otlp"),
            "logs_exporter": _exporter(environ, env.OTEL_LOGS_EXPORTER, "none"),
            "disabled_instrumentations": frozenset(disabled),
            "unknown_instrumentations": tuple(d for d in disabled if d not in KNOWN_INSTRUMENTATIONS),
            "excluded_urls": _excluded_urls(environ),
            "ml_metrics": _bool(environ, env.MLOTEL_ML_METRICS_ENABLED, True),
            "low_confidence_threshold": _threshold(environ),
            "stage_span_threshold_ms": _non_negative(environ, env.MLOTEL_STAGE_SPAN_THRESHOLD_MS, 10.0),
            "capture_request_content": _bool(environ, env.MLOTEL_CAPTURE_REQUEST_CONTENT, False),
            "sdk_metrics": _bool(environ, env.MLOTEL_SDK_METRICS_ENABLED, True),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def traces_on(self) -> bool:
        return not self.sdk_disabled and self.traces_exporter != "none"

    @property
    def metrics_on(self) -> bool:
        return not self.sdk_disabled and self.metrics_exporter != "none"

    @property
    def logs_on(self) -> bool:
        return not self.sdk_disabled and self.logs_exporter != "none"

    def enabled(self, instrumentation: str) -> bool:
        """Whether a part is on: telemetry on and not listed as disabled."""
        return not self.sdk_disabled and instrumentation not in self.disabled_instrumentations

    def is_excluded(self, path: str) -> bool:
        return self.excluded_urls is not None and self.excluded_urls.fullmatch(path) is not None
