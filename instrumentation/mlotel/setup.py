"""Builds the tracer, meter and logger providers from the ``OTEL_*`` variables.

The SDK classes read most standard variables themselves (endpoint, headers,
timeouts, sampler, attribute counts); this module picks the exporter per
signal and protocol, gives the batching a queue that does not overflow at a
few thousand requests per second, bounds attribute values (8,192 characters
unless ``OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`` says otherwise) and span export
requests (3 MiB, :mod:`mlotel.export_size`), and installs the providers
globally. Providers that ``opentelemetry-instrument`` already
installed are reused, never replaced.
"""

from __future__ import annotations

import importlib
import logging
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.semconv._incubating.attributes.process_attributes import PROCESS_PID
from opentelemetry.semconv._incubating.attributes.service_attributes import SERVICE_INSTANCE_ID
from opentelemetry.semconv.attributes.service_attributes import SERVICE_NAME, SERVICE_VERSION

from mlotel.config import TelemetryConfig
from mlotel.export_health import EXPORT_HEALTH
from mlotel.export_size import SizeBoundedSpanExporter
from mlotel.views import ml_views

_logger = logging.getLogger(__name__)
# The instrumentors that setup_telemetry instrumented in this process: the distro leaves them out.
_instrumented: set[type] = set()


# Per signal: the exporter's module under opentelemetry.exporter.otlp.proto.{grpc,http}, and its class.
_OTLP_EXPORTERS = {
    "traces": ("trace_exporter", "OTLPSpanExporter"),
    "metrics": ("metric_exporter", "OTLPMetricExporter"),
}


def otlp_exporter(signal: str, protocol: str, **kwargs: Any) -> Any:
    """The OTLP exporter for ``signal`` (traces, metrics) over ``protocol``."""
    transport = "http" if protocol == "http/protobuf" else "grpc"
    module, name = _OTLP_EXPORTERS[signal]
    return getattr(importlib.import_module(f"opentelemetry.exporter.otlp.proto.{transport}.{module}"), name)(**kwargs)


def _span_exporter(config: TelemetryConfig, meter_provider: metrics.MeterProvider, name: str = "otlp") -> SpanExporter:
    """The span exporter ``name``; OTLP export requests stay under ``span_export_max_bytes``."""
    if name == "console":
        return ConsoleSpanExporter()
    if config.fastpath and config.traces_protocol == "grpc":
        from mlotel.fastpath.span_encoding import GrpcSpanExporter

        return GrpcSpanExporter(meter_provider=meter_provider, max_bytes=config.span_export_max_bytes, native=config.native)
    exporter = otlp_exporter("traces", config.traces_protocol, meter_provider=meter_provider)
    return SizeBoundedSpanExporter(exporter, config.span_export_max_bytes)


def _metric_exporter(config: TelemetryConfig, name: str) -> MetricExporter:
    if name == "console":
        return ConsoleMetricExporter()
    return otlp_exporter("metrics", config.metrics_protocol)


def build_resource(service_name: str, service_version: str | None = None) -> Resource:
    """The process's resource: env wins; each process gets its own instance id."""
    from_env = OTELResourceDetector().detect().attributes  # OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME
    defaults: dict[str, str | int] = {
        SERVICE_INSTANCE_ID: str(uuid.uuid4()),
        PROCESS_PID: os.getpid(),
        SERVICE_NAME: service_name,
    }
    if service_version:
        defaults[SERVICE_VERSION] = service_version
    return Resource.create({k: v for k, v in defaults.items() if k not in from_env})


@dataclass
class Telemetry:
    """What :func:`setup_telemetry` installed; ``shutdown()`` flushes and stops it."""

    config: TelemetryConfig
    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    logger_provider: Any = None
    _owned: list[Any] = field(default_factory=list)  # providers and the queue: force_flush() and shutdown()
    _uninstrument: list[Callable[[], None]] = field(default_factory=list)

    def force_flush(self, timeout_millis: int = 10_000) -> None:
        # Newest first: traces and queued measurements both record into the meter provider.
        for owned in reversed(self._owned):
            owned.force_flush(timeout_millis)

    def shutdown(self) -> None:
        # Providers first: their last collection still observes the process and host metrics,
        # whose callbacks stopping them would silence (a batch job would then export none).
        for owned in reversed(self._owned):
            owned.shutdown()
        self._owned.clear()
        for undo in reversed(self._uninstrument):
            undo()
        self._uninstrument.clear()


def setup_telemetry(
    config: TelemetryConfig | None = None,
    *,
    service_name: str = "unknown_service",
    service_version: str | None = None,
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
    resource = build_resource(service_name, service_version)

    if config.metrics_on:
        telemetry.meter_provider = meter_provider = _install_meter_provider(telemetry, resource, config, metric_readers)
        if config.fastpath:
            _install_measurement_queue(telemetry, meter_provider)
    if config.traces_on:
        telemetry.tracer_provider = _install_tracer_provider(telemetry, resource, config, span_processors)
    if config.logs_on and not config.fastpath:
        # The SDK's logs API is still private (opentelemetry.sdk._logs): used only where the fast path is.
        _logger.warning("OTEL_LOGS_EXPORTER ignored: shipping log records needs MLOTEL_FASTPATH on, on an SDK "
                        "release it is tested with (mlotel.fastpath.TESTED_WITH); trace ids still go on records")
    elif config.logs_on:
        from mlotel.fastpath import log_export

        telemetry.logger_provider, created = log_export.install_logger_provider(resource, config)
        if created:
            telemetry._owned.append(telemetry.logger_provider)
    if config.enabled("logging"):
        from opentelemetry.instrumentation.logging import LoggingInstrumentor

        # Trace ids on every record; records shipped over OTLP only when a logs exporter is on.
        _instrument_once(
            telemetry,
            LoggingInstrumentor,
            tracer_provider=telemetry.tracer_provider,
            inject_trace_context=True,
            enable_log_auto_instrumentation=telemetry.logger_provider is not None,
        )
    if config.metrics_on and config.enabled("system_metrics") and telemetry.meter_provider is not None:
        from mlotel import system_metrics

        stop = system_metrics.start(telemetry.meter_provider, look_for_contrib=config.fastpath)
        if stop is not None:
            telemetry._uninstrument.append(stop)
    return telemetry


def instrumented_by_mlotel(instrumentor: type) -> bool:
    """Whether :func:`setup_telemetry` instrumented this instrumentor in this process (and has not undone it)."""
    return instrumentor in _instrumented


def _instrument_once(telemetry: Telemetry, instrumentor: type, **kwargs: Any) -> None:
    """Instrument unless an earlier :func:`setup_telemetry` did (``opentelemetry-instrument``'s, then the app's).

    mlotel keeps its own record rather than ask the instrumentor: the only
    public way, constructing it, re-runs ``__init__`` on its shared instance
    (``BaseInstrumentor`` is a singleton), replacing its configuration. One
    instrumented by something else is refused by ``instrument()`` itself.
    """
    if instrumentor in _instrumented:
        return
    instance = instrumentor()
    instance.instrument(**kwargs)
    _instrumented.add(instrumentor)

    def undo() -> None:
        instance.uninstrument()
        _instrumented.discard(instrumentor)

    telemetry._uninstrument.append(undo)


def _install_meter_provider(telemetry: Telemetry, resource: Resource, config: TelemetryConfig,
                            metric_readers: Sequence[MetricReader] | None) -> MeterProvider:
    existing = metrics.get_meter_provider()
    if isinstance(existing, MeterProvider):
        return existing
    if metric_readers is None:
        metric_readers = [
            PeriodicExportingMetricReader(
                _metric_exporter(config, name), export_interval_millis=config.metric_export_interval_ms
            )
            for name in config.metrics_exporters
        ]
    provider = MeterProvider(resource=resource, metric_readers=list(metric_readers), views=ml_views())
    metrics.set_meter_provider(provider)
    telemetry._owned.append(provider)
    return provider


def _install_measurement_queue(telemetry: Telemetry, meter_provider: MeterProvider) -> None:
    from mlotel.fastpath import measurements

    if measurements.installed() is not None:
        return
    queue = measurements.MeasurementQueue(meter_provider)
    measurements.install(queue)
    telemetry._owned.append(queue)
    # Handed over rather than looked up: export_health imports nothing of the fast path.
    EXPORT_HEALTH.count_dropped_measurements(lambda: queue.dropped)
    telemetry._uninstrument.append(lambda: EXPORT_HEALTH.count_dropped_measurements(None))


def span_limits(config: TelemetryConfig) -> SpanLimits:
    """The limits mlotel's tracer provider gets: the lengths from ``config``, the counts of attributes,
    events and links as the SDK reads them from ``OTEL_*_COUNT_LIMIT``."""
    return SpanLimits(max_attribute_length=config.attribute_value_length,
                      max_span_attribute_length=config.span_attribute_value_length)


def _install_tracer_provider(telemetry: Telemetry, resource: Resource, config: TelemetryConfig,
                             span_processors: Sequence[SpanProcessor] | None) -> TracerProvider:
    existing = trace.get_tracer_provider()
    if isinstance(existing, TracerProvider):
        return existing
    provider = TracerProvider(resource=resource, span_limits=span_limits(config))
    if span_processors is None:
        meter_provider = telemetry.meter_provider or metrics.NoOpMeterProvider()
        span_processors = [_batch_processor(config, meter_provider, name) for name in config.traces_exporters]
    for each in span_processors:
        provider.add_span_processor(each)
    trace.set_tracer_provider(provider)
    telemetry._owned.append(provider)
    return provider


def _batch_processor(config: TelemetryConfig, meter_provider: metrics.MeterProvider, name: str) -> BatchSpanProcessor:
    processor = BatchSpanProcessor(
        _span_exporter(config, meter_provider, name),
        meter_provider=meter_provider,
        max_queue_size=config.bsp_max_queue_size,
        schedule_delay_millis=config.bsp_schedule_delay_ms,
        max_export_batch_size=config.bsp_max_export_batch_size,
    )
    if config.sdk_metrics and config.fastpath and name == "otlp":
        from mlotel.fastpath.sdk_metrics import count_drops

        count_drops(processor, meter_provider)
    return processor
