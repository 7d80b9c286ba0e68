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

from opentelemetry.sdk.environment_variables import (
    OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
    OTEL_BSP_MAX_QUEUE_SIZE,
    OTEL_BSP_SCHEDULE_DELAY,
    OTEL_METRIC_EXPORT_INTERVAL,
    OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED,
    OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT,
)
from opentelemetry.semconv.attributes.http_attributes import HttpRequestMethodValues

from mlotel import environment_variables as env
from mlotel import fastpath as fastpath_range

DEFAULT_EXCLUDED_URLS = "/health,/health/live,/health/ready,/docs.*,/redoc.*,/openapi.json,/favicon.ico"
SIGNAL_EXPORTERS = ("otlp", "console", "none")
OTLP_PROTOCOLS = ("grpc", "http/protobuf")
# The SDK's defaults (queue 2048, delay 5 s) drop spans near 2,000 requests/s;
# a deeper queue and a shorter delay keep up and bring traces to Jaeger sooner.
BSP_QUEUE_SIZE, BSP_SCHEDULE_DELAY_MS, BSP_EXPORT_BATCH_SIZE = 65536, 500, 1024
METRIC_EXPORT_INTERVAL_MS = 10_000
# The SDK keeps attribute values whole unless told; one 40 KB URL path then costs
# 40 KB of every export it is in. 8,192 characters keep a URL that a browser or
# proxy would send and most Python stack traces, and bound a span's attributes.
ATTRIBUTE_VALUE_LENGTH = 8192
# The collector's OTLP/gRPC receiver refuses a message over 4 MiB unless told
# otherwise, and with it every span in it; 3 MiB leaves room for a proxy's framing.
SPAN_EXPORT_MAX_BYTES = 3 * 1024 * 1024
# Labels often arrive hours or days after the prediction; a week covers most joins.
FEEDBACK_WINDOW_SECONDS = 7 * 24 * 3600.0
# ~115 bytes each (docs/model-correctness.md): ~11 MB per process when full.
FEEDBACK_DEDUPE_MAX = 100_000
FEEDBACK_MAX_BATCH = 1000
KNOWN_INSTRUMENTATIONS = (
    "fastapi", "system_metrics", "logging", "mlotel", "mlotel_http",
    "mlotel_sklearn", "mlotel_xgboost", "mlotel_lightgbm", "mlotel_onnxruntime",
    "mlotel_kserve", "mlotel_mlserver", "mlotel_bentoml",
)
# RFC 9110's methods and PATCH, as the HTTP semantic conventions define "known".
DEFAULT_KNOWN_METHODS = frozenset(m.value for m in HttpRequestMethodValues if m is not HttpRequestMethodValues.OTHER)


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


def _exporters(environ: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    """A signal's exporters: the spec's comma-separated list, each named once; ``none`` alone means none."""
    raw = environ.get(name, "").strip().lower() or default
    names = tuple(dict.fromkeys(_csv(raw)))
    unknown = [n for n in names if n not in SIGNAL_EXPORTERS]
    if unknown or not names or ("none" in names and len(names) > 1):
        raise ConfigError(
            f"{name}={raw!r}: expected a comma-separated list of {', '.join(SIGNAL_EXPORTERS[:2])}, or none alone"
            + (f" ({', '.join(map(repr, unknown))} unknown)" if unknown else "")
        )
    return () if names == ("none",) else names


def _protocol(environ: Mapping[str, str], signal: str) -> str:
    name = f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL"
    raw = (environ.get(name) or environ.get(env.OTEL_EXPORTER_OTLP_PROTOCOL) or "grpc").strip()
    if raw not in OTLP_PROTOCOLS:
        raise ConfigError(f"{name} or {env.OTEL_EXPORTER_OTLP_PROTOCOL}={raw!r}: expected one of {', '.join(OTLP_PROTOCOLS)}")
    return raw


def _whole_number(environ: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ConfigError(f"{name}={raw!r}: expected a whole number >= {minimum}")
    return value


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    return _whole_number(environ, name, default, minimum=1)


def _bsp(environ: Mapping[str, str]) -> dict[str, int]:
    queue = _positive_int(environ, OTEL_BSP_MAX_QUEUE_SIZE, BSP_QUEUE_SIZE)
    # A batch larger than the queue is refused by the SDK: mlotel's default shrinks to fit a small queue.
    batch = _positive_int(environ, OTEL_BSP_MAX_EXPORT_BATCH_SIZE, min(BSP_EXPORT_BATCH_SIZE, queue))
    return {
        "bsp_max_queue_size": queue,
        "bsp_schedule_delay_ms": _positive_int(environ, OTEL_BSP_SCHEDULE_DELAY, BSP_SCHEDULE_DELAY_MS),
        "bsp_max_export_batch_size": batch,
    }


def _attribute_lengths(environ: Mapping[str, str]) -> dict[str, int]:
    # As the SDK reads them, with mlotel's default where the SDK's is "no limit".
    general = _whole_number(environ, OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, ATTRIBUTE_VALUE_LENGTH, minimum=0)
    return {
        "attribute_value_length": general,
        "span_attribute_value_length": _whole_number(environ, OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT, general, minimum=0),
    }


def _known_methods(environ: Mapping[str, str]) -> frozenset[str]:
    raw = environ.get(env.OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS, "")
    return frozenset(_csv(raw)) if raw.strip() else DEFAULT_KNOWN_METHODS


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
    traces_exporters: tuple[str, ...] = ("otlp",)
    metrics_exporters: tuple[str, ...] = ("otlp",)
    logs_exporters: tuple[str, ...] = ()
    disabled_instrumentations: frozenset[str] = frozenset()
    excluded_urls: re.Pattern[str] | None = None
    ml_metrics: bool = True
    low_confidence_threshold: float = 0.5
    stage_span_threshold_ms: float = 10.0
    capture_request_content: bool = False
    sdk_metrics: bool = True
    fastpath: bool = True
    native: bool = True
    traces_protocol: str = "grpc"
    metrics_protocol: str = "grpc"
    logs_protocol: str = "grpc"
    bsp_max_queue_size: int = BSP_QUEUE_SIZE
    bsp_schedule_delay_ms: int = BSP_SCHEDULE_DELAY_MS
    bsp_max_export_batch_size: int = BSP_EXPORT_BATCH_SIZE
    metric_export_interval_ms: int = METRIC_EXPORT_INTERVAL_MS
    known_http_methods: frozenset[str] = DEFAULT_KNOWN_METHODS
    attribute_value_length: int = ATTRIBUTE_VALUE_LENGTH
    span_attribute_value_length: int = ATTRIBUTE_VALUE_LENGTH
    span_export_max_bytes: int = SPAN_EXPORT_MAX_BYTES
    model_name: str | None = None
    model_version: str | None = None
    drift_features: int = 8
    drift_bins: int = 10
    unknown_instrumentations: tuple[str, ...] = field(default=())
    # A secret: kept out of the repr, so that logging a config does not leak it.
    feedback_key: str = field(default="", repr=False)
    feedback_window_seconds: float = FEEDBACK_WINDOW_SECONDS
    feedback_dedupe_max: int = FEEDBACK_DEDUPE_MAX
    feedback_max_batch: int = FEEDBACK_MAX_BATCH

    def __post_init__(self) -> None:
        # Asked for, the fast path is still used only on the SDK releases it is tested with
        # (mlotel.fastpath.TESTED_WITH); on others, public APIs. Frozen: hence object.__setattr__.
        if self.fastpath and not fastpath_range.supported():
            object.__setattr__(self, "fastpath", False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> TelemetryConfig:
        environ = os.environ if environ is None else environ
        disabled = _csv(environ.get(env.OTEL_PYTHON_DISABLED_INSTRUMENTATIONS, "").lower())
        values: dict[str, object] = {
            "sdk_disabled": _bool(environ, env.OTEL_SDK_DISABLED, False),
            "traces_exporters": _exporters(environ, env.OTEL_TRACES_EXPORTER, "otlp"),
            "metrics_exporters": _exporters(environ, env.OTEL_METRICS_EXPORTER, "otlp"),
            "logs_exporters": _exporters(environ, env.OTEL_LOGS_EXPORTER, "none"),
            "disabled_instrumentations": frozenset(disabled),
            "unknown_instrumentations": tuple(d for d in disabled if d not in KNOWN_INSTRUMENTATIONS),
            "excluded_urls": _excluded_urls(environ),
            "ml_metrics": _bool(environ, env.MLOTEL_ML_METRICS_ENABLED, True),
            "low_confidence_threshold": _threshold(environ),
            "stage_span_threshold_ms": _non_negative(environ, env.MLOTEL_STAGE_SPAN_THRESHOLD_MS, 10.0),
            "capture_request_content": _bool(environ, env.MLOTEL_CAPTURE_REQUEST_CONTENT, False),
            # The SDK's own switch, when set, wins: it applies to every SDK component.
            "sdk_metrics": _bool(
                environ, OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED, _bool(environ, env.MLOTEL_SDK_METRICS_ENABLED, True)
            ),
            "fastpath": _bool(environ, env.MLOTEL_FASTPATH, True),
            "native": _bool(environ, env.MLOTEL_NATIVE, True),
            "traces_protocol": _protocol(environ, "traces"),
            "metrics_protocol": _protocol(environ, "metrics"),
            "logs_protocol": _protocol(environ, "logs"),
            **_bsp(environ),
            "metric_export_interval_ms": _positive_int(environ, OTEL_METRIC_EXPORT_INTERVAL, METRIC_EXPORT_INTERVAL_MS),
            "known_http_methods": _known_methods(environ),
            **_attribute_lengths(environ),
            "span_export_max_bytes": _positive_int(environ, env.MLOTEL_SPAN_EXPORT_MAX_BYTES, SPAN_EXPORT_MAX_BYTES),
            "model_name": environ.get(env.MLOTEL_MODEL_NAME, "").strip() or None,
            "model_version": environ.get(env.MLOTEL_MODEL_VERSION, "").strip() or None,
            "feedback_key": environ.get(env.MLOTEL_FEEDBACK_KEY, ""),
            "feedback_window_seconds": _non_negative(environ, env.MLOTEL_FEEDBACK_WINDOW_SECONDS, FEEDBACK_WINDOW_SECONDS),
            "feedback_dedupe_max": _positive_int(environ, env.MLOTEL_FEEDBACK_DEDUPE_MAX, FEEDBACK_DEDUPE_MAX),
            "feedback_max_batch": _positive_int(environ, env.MLOTEL_FEEDBACK_MAX_BATCH, FEEDBACK_MAX_BATCH),
            "drift_features": _whole_number(environ, env.MLOTEL_DRIFT_FEATURES, 8, minimum=0),
            "drift_bins": _whole_number(environ, env.MLOTEL_DRIFT_BINS, 10, minimum=2),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def traces_on(self) -> bool:
        return not self.sdk_disabled and bool(self.traces_exporters)

    @property
    def metrics_on(self) -> bool:
        return not self.sdk_disabled and bool(self.metrics_exporters)

    @property
    def logs_on(self) -> bool:
        return not self.sdk_disabled and bool(self.logs_exporters)

    def enabled(self, instrumentation: str) -> bool:
        """Whether a part is on: telemetry on and not listed as disabled."""
        return not self.sdk_disabled and instrumentation not in self.disabled_instrumentations

    def is_excluded(self, path: str) -> bool:
        return self.excluded_urls is not None and self.excluded_urls.fullmatch(path) is not None
