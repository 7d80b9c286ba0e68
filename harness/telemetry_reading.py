"""Reads what the SDK's in-memory exporter and reader hold, for assertions; and forgets the
global providers between tests, with opentelemetry-test-utils as OpenTelemetry's own tests do."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.test.globals_test import reset_logging_globals, reset_metrics_globals, reset_trace_globals

from mlotel.fastpath import measurements


def reset_globals() -> None:
    """Forget the installed tracer, meter and logger providers, so the next setup installs its own."""
    reset_trace_globals()
    reset_metrics_globals()
    reset_logging_globals()


@dataclass
class Captured:
    span_exporter: InMemorySpanExporter
    metric_reader: InMemoryMetricReader | None

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        spans = self.span_exporter.get_finished_spans()
        return [s for s in spans if name is None or s.name == name]

    def metrics(self) -> dict[str, list]:
        """Instrument name -> data points, over every scope."""
        found: dict[str, list] = {}
        if self.metric_reader is None:
            return found
        queue = measurements.installed()
        if queue is not None:
            queue.force_flush()  # what requests queued, as Telemetry.force_flush() would
        data = self.metric_reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found

    def points(self, name: str, **attributes) -> list:
        wanted = {k.replace("__", "."): v for k, v in attributes.items()}
        return [
            p for p in self.metrics().get(name, []) if all(p.attributes.get(k) == v for k, v in wanted.items())
        ]
