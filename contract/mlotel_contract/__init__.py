"""The metrics contract of mlotel: instrument names, buckets, the Prometheus
names they become, and the PromQL over them.

Everything that reads mlotel's metrics takes them from here: the recording
rules (``prometheus/rules/ml.rules.yml``) and the default alert rules
(``alerting/mlotel_alerting/default_rules/ml.yml``), both written by
``scripts/generate_rules.py``, the alert-rule service's summary, the Grafana
dashboards (``dashboards/generate.py``), ``make demo`` and the console.
Generated files are checked against this module by tests, so a renamed metric
or a changed bucket cannot leave one of them behind.

Prometheus names are what the collector's Prometheus exporter makes of the
OpenTelemetry names: dots become underscores, the unit becomes a suffix
(``_seconds``), counters end in ``_total``, histograms are ``_bucket``,
``_count`` and ``_sum`` series.

Queries are built from a :class:`Scope`: which series (label matchers), how
they are grouped (``by``) and over what rate window, so one definition serves
a per-model alert over 5 minutes and a per-version dashboard panel over
Grafana's ``$__rate_interval`` alike.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Any

# OpenTelemetry instrument names.
CONFIDENCE = "ml.prediction.confidence"
PREDICTION_DURATION = "ml.prediction.duration"
PREDICTIONS = "ml.predictions"
PREDICTION_ERRORS = "ml.prediction.errors"
BATCH_SIZE = "ml.batch.size"
HTTP_SERVER_DURATION = "http.server.request.duration"

CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
# Sub-millisecond to seconds: a one-row logistic regression takes ~0.2 ms,
# a thousand-row forest several hundred.
DURATION_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)
# The HTTP semantic conventions' recommendation for http.server.request.duration.
HTTP_SERVER_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)

# Prometheus metric names (histograms without their _bucket/_count/_sum suffix).
PROM_CONFIDENCE = "ml_prediction_confidence"
PROM_DURATION = "ml_prediction_duration_seconds"
PROM_PREDICTIONS = "ml_predictions_total"
PROM_ERRORS = "ml_prediction_errors_total"
PROM_BATCH_SIZE = "ml_batch_size"
PROM_HTTP_DURATION = "http_server_request_duration_seconds"
PROM_PROCESS_CPU = "process_cpu_utilization_ratio"
PROM_PROCESS_MEMORY = "process_memory_usage_bytes"
PROM_PROCESS_THREADS = "process_thread_count"
PROM_SYSTEM_CPU = "system_cpu_utilization_ratio"
PROM_SYSTEM_MEMORY = "system_memory_usage_bytes"
PROM_SYSTEM_DISK_IO = "system_disk_io_bytes_total"
PROM_ALERTS = "mlotel_alerting_alerts"

# Prometheus label names.
MODEL = "ml_model_name"
VERSION = "ml_model_version"
LABEL = "ml_prediction_label"
LOW_CONFIDENCE = "ml_prediction_low_confidence"
ERROR_TYPE = "error_type"
ROUTE = "http_route"
METHOD = "http_request_method"
# The system metrics' attributes (mlotel/system_metrics.py), as current semantic conventions name them.
CPU_MODE = "cpu_mode"
MEMORY_STATE = "system_memory_state"
DISK_DIRECTION = "disk_io_direction"
STATUS = "http_response_status_code"

# The Prometheus job of the ML API's own metrics (prometheus/prometheus.yml).
API_JOB = "ml-api"
QUANTILES = (0.5, 0.95, 0.99)
# The default alert rules' thresholds: the rules fire there and the console's gauges turn red there.
P95_LATENCY_ALERT_SECONDS = 0.5
ERROR_RATIO_ALERT = 0.05


@dataclass(frozen=True)
class Scope:
    """Which series a query reads (``matchers``, PromQL label matchers without
    braces), how it groups them (``by``) and its rate window."""

    window: str = "5m"
    matchers: str = ""
    by: tuple[str, ...] = (MODEL,)

    def __call__(self, **changes: Any) -> Scope:
        return replace(self, **changes)

    def grouping(self, *extra: str) -> str:
        return ", ".join((*extra, *self.by))

    def select(self, metric: str, *matchers: str) -> str:
        inner = ", ".join(m for m in (self.matchers, *matchers) if m)
        return f"{metric}{{{inner}}}" if inner else metric


def for_model(model: str, version: str = "", scope: Scope = Scope()) -> Scope:
    """``scope`` narrowed to one model (and one version, if given); names are quoted for PromQL."""
    # A JSON string is a valid PromQL string literal: the same escapes.
    wanted = [f"{MODEL}={json.dumps(model)}", *([f"{VERSION}={json.dumps(version)}"] if version else [])]
    return scope(matchers=", ".join(m for m in (scope.matchers, *wanted) if m))


def _sum_rate(metric: str, scope: Scope, *matchers: str, extra: tuple[str, ...] = ()) -> str:
    return f"sum by ({scope.grouping(*extra)}) (rate({scope.select(metric, *matchers)}[{scope.window}]))"


def _or_zero(expr: str, like: str) -> str:
    """``expr``, or 0 for each series of ``like``: a counter that has counted nothing yet does not exist."""
    return f"({expr} or 0 * {like})"


def request_rate(scope: Scope = Scope()) -> str:
    """Prediction requests per second (one per /predict call that reached a model)."""
    return _sum_rate(f"{PROM_DURATION}_count", scope)


def prediction_rate(scope: Scope = Scope()) -> str:
    """Predictions (rows) per second."""
    return _sum_rate(PROM_PREDICTIONS, scope)


def predictions_by_label_rate(scope: Scope = Scope()) -> str:
    return _sum_rate(PROM_PREDICTIONS, scope, extra=(LABEL,))


def error_rate(scope: Scope = Scope()) -> str:
    """Failed or refused prediction requests per second."""
    return _or_zero(_sum_rate(PROM_ERRORS, scope), request_rate(scope))


def errors_by_type_rate(scope: Scope = Scope()) -> str:
    """Failed or refused prediction requests per second, by ``error.type``."""
    return _sum_rate(PROM_ERRORS, scope, extra=(ERROR_TYPE,))


def error_ratio(scope: Scope = Scope()) -> str:
    """Failed or refused prediction requests over all prediction requests."""
    errors = error_rate(scope)
    return f"{errors} / ({errors} + {request_rate(scope)})"


def latency_quantile(q: float, scope: Scope = Scope()) -> str:
    """Prediction latency in seconds at quantile ``q``."""
    return f"histogram_quantile({q}, {_sum_rate(f'{PROM_DURATION}_bucket', scope, extra=('le',))})"


def bucket_floor(value: float | None, bounds: tuple[float, ...] = DURATION_BUCKETS) -> float:
    """The lower edge of the histogram bucket (``bounds``, the upper edges) that a quantile estimate
    ``value`` lies in; 0 in the first bucket, NaN for no estimate.

    ``histogram_quantile`` interpolates inside the bucket, so the p95 of ten predictions between
    2.5 and 3.4 s may read 4.4 s, above every one of them. The bucket's lower edge cannot: at least
    5% of the observations lie above it. Links to "the predictions slower than the p95" search from here.
    """
    if value is None or math.isnan(value):
        return math.nan
    return max((bound for bound in bounds if bound < value), default=0.0)


def low_confidence_ratio(scope: Scope = Scope()) -> str:
    """Share of predictions under the low-confidence threshold."""
    low = _sum_rate(PROM_PREDICTIONS, scope, f'{LOW_CONFIDENCE}="true"')
    return f"{_or_zero(low, prediction_rate(scope))} / {prediction_rate(scope)}"


def confidence_buckets(scope: Scope = Scope(), offset: str = "") -> str:
    """Predictions per cumulative confidence bucket (``le``) within the window, ending ``offset`` ago
    (a baseline to compare the latest window with)."""
    shifted = f" offset {offset}" if offset else ""
    return f"sum by ({scope.grouping('le')}) (increase({scope.select(f'{PROM_CONFIDENCE}_bucket')}[{scope.window}]{shifted}))"


def batch_size_quantile(q: float, scope: Scope = Scope()) -> str:
    return f"histogram_quantile({q}, {_sum_rate(f'{PROM_BATCH_SIZE}_bucket', scope, extra=('le',))})"


def model_versions(scope: Scope = Scope(by=(MODEL, VERSION))) -> str:
    """One series per model and version that has served prediction requests (within Prometheus' staleness)."""
    return f"group by ({scope.grouping()}) ({scope.select(f'{PROM_DURATION}_count')})"


def duration_exemplar_series(scope: Scope = Scope()) -> str:
    """The series whose exemplars point at prediction traces (for ``/api/v1/query_exemplars``)."""
    return scope.select(f"{PROM_DURATION}_bucket")


# HTTP endpoints, by route and method.
ENDPOINTS = Scope(by=(ROUTE, METHOD))


def http_request_rate(scope: Scope = ENDPOINTS) -> str:
    return _sum_rate(f"{PROM_HTTP_DURATION}_count", scope)


def http_error_ratio(scope: Scope = ENDPOINTS) -> str:
    """Share of responses with a 5xx or 4xx status."""
    failed = _sum_rate(f"{PROM_HTTP_DURATION}_count", scope, f'{STATUS}=~"[45].."')
    return f"{_or_zero(failed, http_request_rate(scope))} / {http_request_rate(scope)}"


def http_latency_quantile(q: float, scope: Scope = ENDPOINTS) -> str:
    return f"histogram_quantile({q}, {_sum_rate(f'{PROM_HTTP_DURATION}_bucket', scope, extra=('le',))})"


# Resources of the API processes and their host (mlotel/system_metrics.py).
API_SCOPE = Scope(matchers=f'job="{API_JOB}"', by=("instance",))


def process_cpu(scope: Scope = API_SCOPE) -> str:
    """A process's CPU utilization, its modes (user, system) added up; the average over processes when grouped wider."""
    per_process = f"sum by (instance) ({scope.select(PROM_PROCESS_CPU)})"
    return f"avg by ({scope.grouping()}) ({per_process})"


def process_memory(scope: Scope = API_SCOPE) -> str:
    return f"sum by ({scope.grouping()}) ({scope.select(PROM_PROCESS_MEMORY)})"


def process_threads(scope: Scope = API_SCOPE) -> str:
    return f"sum by ({scope.grouping()}) ({scope.select(PROM_PROCESS_THREADS)})"


_HOST_BY_CPU_MODE = API_SCOPE(by=(CPU_MODE,))
_HOST_BY_MEMORY_STATE = API_SCOPE(by=(MEMORY_STATE,))
_HOST_BY_DISK_DIRECTION = API_SCOPE(by=(DISK_DIRECTION,))


def host_cpu(scope: Scope = _HOST_BY_CPU_MODE) -> str:
    return f"avg by ({scope.grouping()}) ({scope.select(PROM_SYSTEM_CPU)})"


def host_memory(scope: Scope = _HOST_BY_MEMORY_STATE) -> str:
    return f"avg by ({scope.grouping()}) ({scope.select(PROM_SYSTEM_MEMORY)})"


def disk_io_rate(scope: Scope = _HOST_BY_DISK_DIRECTION) -> str:
    return _sum_rate(PROM_SYSTEM_DISK_IO, scope)


# Confidence drift: the population stability index (PSI) between a histogram's
# distribution over a recent window and over a baseline window,
#     PSI = Σ (recentᵢ − baselineᵢ) · ln(recentᵢ / baselineᵢ)
# over the buckets as proportions (< 0.1 stable, 0.1–0.25 moderate, > 0.25 a real shift).
# Here rather than in the alert-rule service so the console computes the same index.

# Proportions are floored at this so that an empty bucket on one side does not
# make the index infinite.
PSI_EPSILON = 1e-4


def bucket_counts(cumulative: dict[float, float]) -> list[float]:
    """Observations per bucket, in ``le`` order, from Prometheus' cumulative counts (clamped at 0)."""
    bounds = sorted(cumulative)
    counts, below = [], 0.0
    for bound in bounds:
        counts.append(max(cumulative[bound] - below, 0.0))
        below = max(below, cumulative[bound])
    return counts


def psi(baseline: list[float], recent: list[float]) -> float:
    """The index between two count vectors over the same buckets."""
    if len(baseline) != len(recent):
        raise ValueError("both distributions need the same buckets")
    total_b, total_r = sum(baseline), sum(recent)
    if total_b <= 0 or total_r <= 0:
        raise ValueError("a distribution without observations has no proportions")
    index = 0.0
    for b, r in zip(baseline, recent):
        p, q = max(r / total_r, PSI_EPSILON), max(b / total_b, PSI_EPSILON)
        index += (p - q) * math.log(p / q)
    return index


def active_alerts(state: str = "firing") -> str:
    """Alerts of the alert-rule service in ``state``; 0 rather than nothing when there are none."""
    return f'sum({PROM_ALERTS}{{state="{state}"}}) or vector(0)'


def alerts_by_rule() -> str:
    """Pending and firing alerts of the alert-rule service, per rule and state."""
    return f'sum by (alertname, state) ({PROM_ALERTS}{{state=~"pending|firing"}})'


# The collectors' own metrics (their telemetry port, job "otel-collector-self"): one
# target, so one instance label, per gateway of a pool (scripts/stack.py GATEWAYS=N).
COLLECTOR_JOB = "otel-collector-self"
GATEWAY = "instance"
PROM_RECEIVER_ACCEPTED_SPANS = "otelcol_receiver_accepted_spans_total"
PROM_RECEIVER_REFUSED_SPANS = "otelcol_receiver_refused_spans_total"
PROM_RECEIVER_ACCEPTED_POINTS = "otelcol_receiver_accepted_metric_points_total"
PROM_RECEIVER_REFUSED_POINTS = "otelcol_receiver_refused_metric_points_total"
PROM_EXPORTER_SENT_SPANS = "otelcol_exporter_sent_spans_total"
PROM_EXPORTER_FAILED_SPANS = "otelcol_exporter_send_failed_spans_total"
PROM_EXPORTER_SENT_POINTS = "otelcol_exporter_sent_metric_points_total"
PROM_EXPORTER_FAILED_POINTS = "otelcol_exporter_send_failed_metric_points_total"
PROM_EXPORTER_QUEUE_SIZE = "otelcol_exporter_queue_size"
PROM_EXPORTER_QUEUE_CAPACITY = "otelcol_exporter_queue_capacity"
PROM_TRACES_SAMPLED = "otelcol_processor_tail_sampling_count_traces_sampled_total"
# Traces evicted before their decision: num_traces too small for the traces/s (docs/deployment.md).
PROM_TRACES_DROPPED_TOO_EARLY = "otelcol_processor_tail_sampling_sampling_trace_dropped_too_early_total"
PROM_TRACES_ON_MEMORY = "otelcol_processor_tail_sampling_sampling_traces_on_memory"
PROM_COLLECTOR_RSS = "otelcol_process_memory_rss_bytes"
PROM_COLLECTOR_HEAP = "otelcol_process_runtime_heap_alloc_bytes"
PROM_COLLECTOR_CPU = "otelcol_process_cpu_seconds_total"
COLLECTORS = Scope(matchers=f'job="{COLLECTOR_JOB}"', by=(GATEWAY,))


def collector_rate(metric: str, scope: Scope = COLLECTORS, *by: str) -> str:
    """Per second, per gateway (and ``by``, e.g. receiver or exporter), of one collector counter."""
    return _sum_rate(metric, scope, extra=by)


def collector_gauge(metric: str, scope: Scope = COLLECTORS, *by: str) -> str:
    """One collector gauge per gateway (and ``by``)."""
    return f"sum by ({scope.grouping(*by)}) ({scope.select(metric)})"


def traces_dropped_too_early_rate(scope: Scope = COLLECTORS) -> str:
    """Traces per second tail sampling evicted undecided: lost, though nothing was refused."""
    return collector_rate(PROM_TRACES_DROPPED_TOO_EARLY, scope)


def export_queue_fill(scope: Scope = COLLECTORS) -> str:
    """Each exporter's sending queue, as a share of its capacity, per gateway."""
    return (f"max by ({scope.grouping('exporter')}) "
            f"({scope.select(PROM_EXPORTER_QUEUE_SIZE)} / {scope.select(PROM_EXPORTER_QUEUE_CAPACITY)})")


# Recorded by Prometheus (prometheus/rules/ml.rules.yml is generated from this).
RECORDING_RULES = {
    **{f"ml_model:prediction_duration_seconds:p{round(q * 100)}_5m": latency_quantile(q) for q in QUANTILES},
    "ml_model:low_confidence_ratio:rate5m": low_confidence_ratio(),
    "ml_model:error_ratio:rate5m": error_ratio(),
}
