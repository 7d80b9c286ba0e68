"""The SDK's own metrics for the span pipeline, and not for its tracers.

See :mod:`mlotel.fastpath`: this reaches into private attributes of the SDK's
batch span processor and OTLP exporters.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import metrics
from opentelemetry.exporter.otlp.common._exporter_metrics import NoOpExporterMetrics, create_exporter_metrics
from opentelemetry.sdk._shared_internal._processor_metrics import NoOpProcessorMetrics, create_processor_metrics
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.semconv._incubating.attributes.otel_attributes import OtelComponentTypeValues


def count_drops(processor: BatchSpanProcessor, meter_provider: metrics.MeterProvider) -> None:
    """Switch the SDK's own metrics on for this processor and its exporter only.

    mlotel wants them for the batch processor and the exporter (they count
    dropped spans and failed exports) but not for tracers, whose three counter
    updates per span cost about a tenth of a request (benchmarks/overhead.py).
    The SDK reads its switch only from the process-wide environment, as each
    component is built; rather than rewrite ``os.environ`` (global, racy),
    the no-op metrics of these two components are replaced. Where the SDK
    keeps them elsewhere (another release), nothing is replaced.
    """
    batch: Any = getattr(processor, "_batch_processor", None)
    if isinstance(getattr(batch, "_metrics", None), NoOpProcessorMetrics):
        batch._metrics = create_processor_metrics(
            "traces",
            OtelComponentTypeValues.BATCHING_SPAN_PROCESSOR,
            meter_provider,
            capacity=batch._max_queue_size,
            enabled=True,
        )
    # mlotel's size-bounded exporter wraps the OTLP one, whose metrics count each request it sends.
    exporter = getattr(processor.span_exporter, "exporter", processor.span_exporter)
    if isinstance(getattr(exporter, "_metrics", None), NoOpExporterMetrics):
        exporter._metrics = create_exporter_metrics(
            getattr(exporter, "_component_type", None) or OtelComponentTypeValues.OTLP_HTTP_SPAN_EXPORTER,
            "traces",
            exporter._endpoint,
            meter_provider,
            True,
        )
