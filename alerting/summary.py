"""Per-model serving figures from Prometheus, for ``GET /metrics/summary``."""

from __future__ import annotations

import asyncio

from alerting.durations import format_duration
from backends.prometheus import Prometheus
from alerting.state import finite


def queries(window: float) -> dict[str, str]:
    w = format_duration(window)
    requests = f"sum by (ml_model_name) (rate(ml_prediction_duration_seconds_count[{w}]))"
    errors = f"sum by (ml_model_name) (rate(ml_prediction_errors_total[{w}]))"
    predictions = f"sum by (ml_model_name) (rate(ml_predictions_total[{w}]))"
    low = f'sum by (ml_model_name) (rate(ml_predictions_total{{ml_prediction_low_confidence="true"}}[{w}]))'
    quantile = "histogram_quantile({q}, sum by (le, ml_model_name) (rate(ml_prediction_duration_seconds_bucket[" + w + "])))"
    return {
        "request_rate": requests,
        "latency_p50_seconds": quantile.format(q=0.5),
        "latency_p95_seconds": quantile.format(q=0.95),
        "latency_p99_seconds": quantile.format(q=0.99),
        # Counters that have not counted anything yet do not exist: "or 0 *" makes them 0.
        "error_ratio": f"({errors} or 0 * {requests}) / (({errors} or 0 * {requests}) + {requests})",
        "low_confidence_ratio": f"({low} or 0 * {predictions}) / {predictions}",
    }


async def summary(prometheus: Prometheus, at: float, window: float) -> dict[str, dict[str, float | None]]:
    """{model: {figure: value}}; a figure Prometheus has no value for is None."""
    named = queries(window)
    results = await asyncio.gather(*(prometheus.query(expr, at) for expr in named.values()))
    models: dict[str, dict[str, float | None]] = {}
    for figure, samples in zip(named, results):
        for sample in samples:
            model = sample.labels.get("ml_model_name", "")
            models.setdefault(model, dict.fromkeys(named))[figure] = finite(sample.value)
    return dict(sorted(models.items()))
