"""The metrics contract of mlotel: instrument and attribute names, buckets, the
Prometheus names they become, and the PromQL over them. A module of its own
distribution with no dependencies (it imports only the standard library), so
that what reads metrics need not install the library and its SDK.

What writes them takes their names from here: the recorder and the middleware
(``instrumentation/mlotel``), the model server (its service name) and the
alert-rule service's own ``GET /metrics``. Statistics over the metrics (drift)
are not here but where they are computed, in the alert-rule service.

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
# The alert-rule service's own metrics (its GET /metrics, mlotel_alerting/exposition.py).
PROM_ALERTS = "mlotel_alerting_alerts"
PROM_RULE_HEALTHY = "mlotel_alerting_rule_healthy"
PROM_DELIVERY_FAILURES = "mlotel_alerting_delivery_failures_total"

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

# OpenTelemetry attribute names mlotel sets (the standard ones, error.type and
# http.*, come from opentelemetry-semantic-conventions). On metrics they become the
# Prometheus labels above; the predict span carries them too, and the console reads
# them from Jaeger.
ATTR_MODEL_NAME = "ml.model.name"
ATTR_MODEL_VERSION = "ml.model.version"
ATTR_PREDICTION_LABEL = "ml.prediction.label"
ATTR_LOW_CONFIDENCE = "ml.prediction.low_confidence"
ATTR_BATCH_SIZE = "ml.batch.size"
# The predict span's summary of its results.
ATTR_CONFIDENCE_MIN = "ml.prediction.confidence.min"
ATTR_CONFIDENCE_MAX = "ml.prediction.confidence.max"
ATTR_CONFIDENCE_MEAN = "ml.prediction.confidence.mean"
ATTR_LOW_CONFIDENCE_COUNT = "ml.prediction.low_confidence_count"
# A stage span's name, and the instance's feature values (only when request capture is switched on).
ATTR_STAGE = "ml.stage"
ATTR_REQUEST_FEATURES = "ml.request.features"


def stage_duration_attribute(stage: str) -> str:
    """The predict span's attribute holding one stage's duration in milliseconds."""
    return f"ml.stage.{stage}.duration_ms"


# The model server's service.name, which the collector makes the Prometheus job of
# its metrics (prometheus/prometheus.yml) and Jaeger the service of its traces.
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
    # Read the window ending this long ago (``1h``): a baseline to compare the latest window with.
    offset: str = ""

    def __call__(self, **changes: Any) -> Scope:
        return replace(self, **changes)

    def grouping(self, *extra: str) -> str:
        return ", ".join((*extra, *self.by))

    def select(self, metric: str, *matchers: str) -> str:
        inner = ", ".join(m for m in (self.matchers, *matchers) if m)
        return f"{metric}{{{inner}}}" if inner else metric

    def range(self) -> str:
        """The range of a range vector selector, with the offset if any: ``[5m]`` or ``[1h] offset 10m``."""
        return f"[{self.window}]" + (f" offset {self.offset}" if self.offset else "")


def for_model(model: str, version: str = "", scope: Scope = Scope()) -> Scope:
    """``scope`` narrowed to one model (and one version, if given); names are quoted for PromQL."""
    # A JSON string is a valid PromQL string literal: the same escapes. Other characters stay as they
    # are (UTF-8): JSON's \u escapes of surrogate pairs, for those beyond the BMP, are not PromQL's.
    wanted = [f"{MODEL}={json.dumps(model, ensure_ascii=False)}",
              *([f"{VERSION}={json.dumps(version, ensure_ascii=False)}"] if version else [])]
    return scope(matchers=", ".join(m for m in (scope.matchers, *wanted) if m))


def _sum_rate(metric: str, scope: Scope, *matchers: str, extra: tuple[str, ...] = ()) -> str:
    return f"sum by ({scope.grouping(*extra)}) (rate({scope.select(metric, *matchers)}{scope.range()}))"


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


def active_alerts(state: str = "firing") -> str:
    """Alerts of the alert-rule service in ``state``; 0 rather than nothing when there are none."""
    return f'sum({PROM_ALERTS}{{state="{state}"}}) or vector(0)'


def alerts_by_rule() -> str:
    """Pending and firing alerts of the alert-rule service, per rule and state."""
    return f'sum by (alertname, state) ({PROM_ALERTS}{{state=~"pending|firing"}})'


# The collectors' own metrics (their telemetry port, job "otel-collector-self"): one
# target, so one instance label, per gateway of a pool (scripts/stack/ GATEWAYS=N).
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


# ---------------------------------------------------------------------------
# Model correctness: feedback, accuracy and calibration (issue 21's ground truth;
# mlotel/feedback.py records these, docs/model-correctness.md explains them).
# ---------------------------------------------------------------------------
# Scored predictions, by correctness and confidence bin: realized accuracy and the reliability curve.
FEEDBACK_OUTCOMES = "ml.feedback.outcomes"
# The top-class confidences of scored predictions, summed, with the same attributes: with the
# count above, each bin's mean confidence, so the expected calibration error is exact per bin.
FEEDBACK_CONFIDENCE = "ml.feedback.confidence"
# Seconds from the prediction to its feedback.
FEEDBACK_DELAY = "ml.feedback.delay"
FEEDBACK_REFUSED = "ml.feedback.refused"
FEEDBACK_DUPLICATES = "ml.feedback.duplicates"
# Scored predictions forgotten before their join window ended (the dedupe memory was full).
FEEDBACK_DEDUPE_EVICTED = "ml.feedback.dedupe.evicted"
# Attribute names as the library records them.
ATTR_CORRECT = "ml.feedback.correct"
ATTR_CONFIDENCE_BIN = "ml.confidence.bin"
# Labels arrive minutes to days after their prediction.
FEEDBACK_DELAY_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 10800.0, 43200.0, 86400.0, 259200.0, 604800.0)

PROM_FEEDBACK_OUTCOMES = "ml_feedback_outcomes_total"
PROM_FEEDBACK_CONFIDENCE = "ml_feedback_confidence_total"
PROM_FEEDBACK_DELAY = "ml_feedback_delay_seconds"
PROM_FEEDBACK_REFUSED = "ml_feedback_refused_total"
PROM_FEEDBACK_DUPLICATES = "ml_feedback_duplicates_total"
PROM_FEEDBACK_DEDUPE_EVICTED = "ml_feedback_dedupe_evicted_total"
CORRECT = "ml_feedback_correct"
CONFIDENCE_BIN = "ml_confidence_bin"

# Labels are sparser than predictions: a longer window than the 5 minutes of latency.
FEEDBACK = Scope(window="10m")
_FEEDBACK_ALL_MODELS = FEEDBACK(by=())
# Calibration needs more labels than accuracy (each bin its share); silence needs a wider look.
_CALIBRATION = FEEDBACK(window="30m")
_LABEL_SILENCE = FEEDBACK(window="15m")
# The default alert rules' thresholds (and where the console's figures turn red).
ACCURACY_FLOOR = 0.8
ACCURACY_DROP = 0.1
CALIBRATION_ERROR_ALERT = 0.1
# Fewer scored predictions than this in a window say too little to alert on.
FEEDBACK_MIN_SAMPLES = 50


def confidence_bin(confidence: float) -> str:
    """The reliability bin of a confidence: the lower bound of its ``CONFIDENCE_BUCKETS`` interval, as text."""
    lower = 0.0
    for bound in CONFIDENCE_BUCKETS:
        if confidence < bound:
            break
        lower = bound
    return f"{lower:g}"


def _outcomes(scope: Scope, *matchers: str, extra: tuple[str, ...] = ()) -> str:
    return _sum_rate(PROM_FEEDBACK_OUTCOMES, scope, *matchers, extra=extra)


def feedback_rate(scope: Scope = FEEDBACK) -> str:
    """Scored predictions (labels that arrived and joined) per second."""
    return _outcomes(scope)


def _correct_rate(scope: Scope, extra: tuple[str, ...] = ()) -> str:
    return _or_zero(_outcomes(scope, f'{CORRECT}="true"', extra=extra), _outcomes(scope, extra=extra))


def realized_accuracy(scope: Scope = FEEDBACK) -> str:
    """Share of the predictions scored in the window that were right (by feedback time, not prediction time)."""
    return f"{_correct_rate(scope)} / {_outcomes(scope)}"


def estimated_accuracy(scope: Scope = FEEDBACK) -> str:
    """The mean top-class confidence of all predictions: what accuracy would be if the model were calibrated,
    there before any label arrives."""
    return (f"{_sum_rate(f'{PROM_CONFIDENCE}_sum', scope)} / {_sum_rate(f'{PROM_CONFIDENCE}_count', scope)}")


def calibration_error(scope: Scope = FEEDBACK) -> str:
    """The expected calibration error over the confidence bins,
        ECE = Σ_b (n_b / N) · |accuracy_b − confidence_b| = Σ_b |correct_b − Σconfidence_b| / N,
    exact per bin: the bins' mean confidences come from the summed confidences, not bin midpoints."""
    by_bin = (CONFIDENCE_BIN,)
    gap = f"abs({_correct_rate(scope, by_bin)} - {_sum_rate(PROM_FEEDBACK_CONFIDENCE, scope, extra=by_bin)})"
    return f"sum by ({scope.grouping()}) ({gap}) / {_outcomes(scope)}"


def reliability_accuracy(scope: Scope = FEEDBACK) -> str:
    """Per confidence bin (``ml_confidence_bin``), the share of scored predictions that were right."""
    by_bin = (CONFIDENCE_BIN,)
    return f"{_correct_rate(scope, by_bin)} / {_outcomes(scope, extra=by_bin)}"


def reliability_confidence(scope: Scope = FEEDBACK) -> str:
    """Per confidence bin, the mean confidence of the scored predictions in it."""
    by_bin = (CONFIDENCE_BIN,)
    return f"{_sum_rate(PROM_FEEDBACK_CONFIDENCE, scope, extra=by_bin)} / {_outcomes(scope, extra=by_bin)}"


def reliability_counts(scope: Scope = FEEDBACK) -> str:
    """Scored predictions per confidence bin within the window."""
    return f"sum by ({scope.grouping(CONFIDENCE_BIN)}) (increase({scope.select(PROM_FEEDBACK_OUTCOMES)}{scope.range()}))"


def scored_count(scope: Scope = FEEDBACK) -> str:
    """Scored predictions within the window."""
    return f"sum by ({scope.grouping()}) (increase({scope.select(PROM_FEEDBACK_OUTCOMES)}{scope.range()}))"


def label_coverage(scope: Scope = FEEDBACK) -> str:
    """Labels that arrived over predictions made, in the same window: the share of predictions that get scored
    when labels keep pace (labels that come hours later lag behind a change in traffic)."""
    return f"{_or_zero(_outcomes(scope), prediction_rate(scope))} / {prediction_rate(scope)}"


def label_delay_quantile(q: float, scope: Scope = FEEDBACK) -> str:
    """Seconds from prediction to its feedback at quantile ``q``."""
    return f"histogram_quantile({q}, {_sum_rate(f'{PROM_FEEDBACK_DELAY}_bucket', scope, extra=('le',))})"


def feedback_refused_rate(scope: Scope = _FEEDBACK_ALL_MODELS) -> str:
    """Refused feedback calls per second, by reason (``error_type``); no model: a refused id names none reliably."""
    return _sum_rate(PROM_FEEDBACK_REFUSED, scope, extra=(ERROR_TYPE,))


def _enough_labels(scope: Scope) -> str:
    return f"{scored_count(scope)} >= {FEEDBACK_MIN_SAMPLES}"


def accuracy_below_floor(scope: Scope = FEEDBACK) -> str:
    return f"({realized_accuracy(scope)} < {ACCURACY_FLOOR}) and on ({scope.grouping()}) ({_enough_labels(scope)})"


def accuracy_dropped(scope: Scope = FEEDBACK, baseline: str = "1h") -> str:
    """Accuracy in the window under that of the ``baseline`` before it by more than ``ACCURACY_DROP``."""
    shifted = realized_accuracy(scope(window=baseline, offset=scope.window))
    return (f"({realized_accuracy(scope)} < {shifted} - {ACCURACY_DROP}) "
            f"and on ({scope.grouping()}) ({_enough_labels(scope)})")


def calibration_error_high(scope: Scope = _CALIBRATION) -> str:
    return (f"({calibration_error(scope)} > {CALIBRATION_ERROR_ALERT}) "
            f"and on ({scope.grouping()}) ({_enough_labels(scope)})")


def labels_stopped(scope: Scope = _LABEL_SILENCE, before: str = "1h") -> str:
    """Models that got labels in the ``before`` preceding the window and none within it; the value is how many
    arrived before."""
    earlier = scored_count(scope(window=before, offset=scope.window))
    return f"({earlier} > 0) unless on ({scope.grouping()}) ({scored_count(scope)} > 0)"


FEEDBACK_RECORDING_RULES = {
    "ml_model:accuracy:ratio_rate10m": realized_accuracy(),
    "ml_model:estimated_accuracy:mean_confidence_10m": estimated_accuracy(),
    "ml_model:calibration_error:ece_10m": calibration_error(),
    "ml_model:label_coverage:ratio_rate10m": label_coverage(),
}
RECORDING_RULES.update(FEEDBACK_RECORDING_RULES)
