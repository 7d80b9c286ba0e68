"""Builds the tracer, meter and logger providers from the ``OTEL_*`` variables.

The SDK classes read most standard variables themselves (endpoint, headers,
timeouts, sampler, ``OTEL_BSP_*``, export interval); this module only picks
the exporter per signal and protocol, gives the batching a queue that does
not overflow at a few thousand requests per second, and installs the
providers globally. Providers that ``opentelemetry-instrument`` already
installed are reused, never replaced.
"""

from __future__ import annotations

import importlib
import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from opentelemetry import metrics, trace
from opentelemetry.sdk.environment_variables import (
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
    OTEL_BSP_MAX_QUEUE_SIZE,
    OTEL_BSP_SCHEDULE_DELAY,
    OTEL_METRIC_EXPORT_INTERVAL,
    OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from instrumentation import measurements
from instrumentation.config import TelemetryConfig
from instrumentation.measurements import MeasurementQueue
from instrumentation.span_encoding import GrpcSpanExporter
from instrumentation.views import ml_views

_logger = logging.getLogger(__name__)

# The SDK's defaults (queue 2048, delay 5 s) drop spans near 2,000 requests/s;
# a deeper queue and a shorter delay keep up and bring traces to Jaeger sooner.
BSP_DEFAULTS = {OTEL_BSP_MAX_QUEUE_SIZE: 65536, OTEL_BSP_SCHEDULE_DELAY: 500, OTEL_BSP_MAX_EXPORT_BATCH_SIZE: 1024}
METRIC_EXPORT_INTERVAL_MS = 10_000
SYSTEM_METRICS = {
    "process.cpu.time": ["user", "system"],
    "process.cpu.utilization": None,
    "process.memory.usage": None,
    "process.memory.virtual": None,
    "process.open_file_descriptor.count": None,
    "process.thread.count": None,
    "system.cpu.utilization": ["idle", "user", "system", "iowait"],
    "system.memory.usage": ["used", "free", "cached"],
    "system.disk.io": ["read", "write"],
}


def _protocol(signal: str) -> str:
    return (
        os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "grpc"
    ).strip()


def _bsp_options() -> dict[str, int | None]:
    """mlotel's batching defaults; None where the variable is set, so the SDK reads it itself."""
    options = {name: None if os.environ.get(name) else default for name, default in BSP_DEFAULTS.items()}
    queue = options[OTEL_BSP_MAX_QUEUE_SIZE] or int(os.environ[OTEL_BSP_MAX_QUEUE_SIZE])
    if options[OTEL_BSP_MAX_EXPORT_BATCH_SIZE] is not None:
        # A batch larger than the queue is refused by the SDK: shrink ours to fit a small queue.
        options[OTEL_BSP_MAX_EXPORT_BATCH_SIZE] = min(options[OTEL_BSP_MAX_EXPORT_BATCH_SIZE], queue)
    return {
        "max_queue_size": options[OTEL_BSP_MAX_QUEUE_SIZE],
        "schedule_delay_millis": options[OTEL_BSP_SCHEDULE_DELAY],
        "max_export_batch_size": options[OTEL_BSP_MAX_EXPORT_BATCH_SIZE],
    }


# Per signal: the exporter's module under opentelemetry.exporter.otlp.proto.{grpc,http}, and its class.
_OTLP_EXPORTERS = {
    "traces": ("trace_exporter", "OTLPSpanExporter"),
    "metrics": ("metric_exporter", "OTLPMetricExporter"),
    "logs": ("_log_exporter", "OTLPLogExporter"),
}


def _otlp_exporter(signal: str, **kwargs):
    """The OTLP exporter for ``signal`` over the protocol the environment names."""
    transport = "http" if _protocol(signal) == "http/protobuf" else "grpc"
    module, name = _OTLP_EXPORTERS[signal]
    return getattr(importlib.import_module(f"opentelemetry.exporter.otlp.proto.{transport}.{module}"), name)(**kwargs)


def _span_exporter(kind: str, meter_provider: metrics.MeterProvider):
    if kind == "console":
        return ConsoleSpanExporter()
    if _protocol("traces") == "http/protobuf":
        return _otlp_exporter("traces", meter_provider=meter_provider)
    return GrpcSpanExporter(meter_provider=meter_provider)


def _metric_exporter(kind: str):
    return ConsoleMetricExporter() if kind == "console" else _otlp_exporter("metrics")


def _log_exporter(kind: str):
    if kind == "console":
        from opentelemetry.sdk._logs.export import ConsoleLogExporter

        return ConsoleLogExporter()
    return _otlp_exporter("logs")


@contextmanager
def _sdk_internal_metrics(on: bool) -> Iterator[None]:
    """Switch the SDK's own metrics on while the span pipeline is built.

    The SDK reads OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED from the environment
    as each component is built. mlotel wants it for the batch processor and
    the exporter (they count dropped spans and failed exports) but not for
    tracers, whose three counter updates per span cost about a tenth of a
    request (benchmarks/overhead.py). A value the user set is left alone.
    """
    if not on or OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED in os.environ:
        yield
        return
    os.environ[OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED] = "true"
    try:
        yield
    finally:
        del os.environ[OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED]


def build_resource(service_name: str) -> Resource:
    """The process's resource: env wins; each process gets its own instance id."""
    from_env = OTELResourceDetector().detect().attributes
    defaults: dict[str, str | int] = {"service.instance.id": str(uuid.uuid4()), "process.pid": os.getpid()}
    if not os.environ.get("OTEL_SERVICE_NAME") and "service.name" not in from_env:
        defaults["service.name"] = service_name
    return Resource.create({k: v for k, v in defaults.items() if k not in from_env})


@dataclass
class Telemetry:
    """What :func:`setup_telemetry` installed; ``shutdown()`` flushes and stops it."""

    config: TelemetryConfig
    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    logger_provider: object | None = None
    _owned: list[object] = field(default_factory=list)
    _uninstrument: list[object] = field(default_factory=list)

    def force_flush(self, timeout_millis: int = 10_000) -> None:
        # Newest first: traces and queued measurements both record into the meter provider.
        for owned in reversed(self._owned):
            owned.force_flush(timeout_millis)

    def shutdown(self) -> None:
        for undo in reversed(self._uninstrument):
            undo()
        self._uninstrument.clear()
        for owned in reversed(self._owned):
            owned.shutdown()
        self._owned.clear()


def setup_telemetry(
    config: TelemetryConfig | None = None,
    *,
    service_name: str = "unknown_service",
    span_processors: Sequence[SpanProcessor] | None = None,
    metric_readers: Sequence[MetricReader] | None = None,
) -> Telemetry:
    """Install providers per ``config`` (read from the environment if None).

    ``span_processors`` and ``metric_readers`` replace the exporters that the
    environment would choose (tests pass in-memory ones).
    """
    config = config or TelemetryConfig.from_env()
    telemetry = Telemetry(config)
    if config.sdk_disabled:
        return telemetry
    for name in config.unknown_instrumentations:
        _logger.warning("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS names %r, which mlotel does not know", name)
    resource = build_resource(service_name)

    if config.metrics_on:
        telemetry.meter_provider = _install_meter_provider(telemetry, resource, config, metric_readers)
        _install_measurement_queue(telemetry)
    if config.traces_on:
        telemetry.tracer_provider = _install_tracer_provider(telemetry, resource, config, span_processors)
    if config.logs_on:
        telemetry.logger_provider = _install_logger_provider(telemetry, resource, config)
    if config.enabled("logging"):
        from opentelemetry.instrumentation.logging import LoggingInstrumentor

        instrumentor = LoggingInstrumentor()
        # Trace ids on every record; records shipped over OTLP only when a logs exporter is on.
        instrumentor.instrument(
            tracer_provider=telemetry.tracer_provider,
            inject_trace_context=True,
            enable_log_auto_instrumentation=telemetry.logger_provider is not None,
        )
        telemetry._uninstrument.append(instrumentor.uninstrument)
    if config.metrics_on and config.enabled("system_metrics"):
        from opentelemetry.instrumentation.system_metrics import SystemMetricsInstrumentor

        instrumentor = SystemMetricsInstrumentor(config=SYSTEM_METRICS)
        instrumentor.instrument(meter_provider=telemetry.meter_provider)
        telemetry._uninstrument.append(instrumentor.uninstrument)
    return telemetry


def _install_meter_provider(telemetry, resource, config, metric_readers) -> MeterProvider:
    existing = metrics.get_meter_provider()
    if isinstance(existing, MeterProvider):
        return existing
    if metric_readers is None:
        interval = None if os.environ.get(OTEL_METRIC_EXPORT_INTERVAL) else METRIC_EXPORT_INTERVAL_MS
        metric_readers = [
            PeriodicExportingMetricReader(_metric_exporter(config.metrics_exporter), export_interval_millis=interval)
        ]
    provider = MeterProvider(resource=resource, metric_readers=list(metric_readers), views=ml_views())
    metrics.set_meter_provider(provider)
    telemetry._owned.append(provider)
    return provider


def _install_measurement_queue(telemetry) -> None:
    if measurements.installed() is not None:
        return
    queue = MeasurementQueue(telemetry.meter_provider)
    measurements.install(queue)
    telemetry._owned.append(queue)


def _install_tracer_provider(telemetry, resource, config, span_processors) -> TracerProvider:
    existing = trace.get_tracer_provider()
    if isinstance(existing, TracerProvider):
        return existing
    provider = TracerProvider(resource=resource)
    if span_processors is None:
        meter_provider = telemetry.meter_provider or metrics.NoOpMeterProvider()
        with _sdk_internal_metrics(config.sdk_metrics):
            span_processors = [
                BatchSpanProcessor(
                    _span_exporter(config.traces_exporter, meter_provider),
                    meter_provider=meter_provider,
                    **_bsp_options(),
                )
            ]
    for processor in span_processors:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    telemetry._owned.append(provider)
    return provider


def _install_logger_provider(telemetry, resource, config):
    from opentelemetry import _logs
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    existing = _logs.get_logger_provider()
    if isinstance(existing, LoggerProvider):
        return existing
    provider = LoggerProvider(resource=resource)
    provider.add_log_record_processor(BatchLogRecordProcessor(_log_exporter(config.logs_exporter)))
    _logs.set_logger_provider(provider)
    telemetry._owned.append(provider)
    return provider
