"""Per-model serving figures from Prometheus, for ``GET /metrics/summary``."""

from __future__ import annotations

import asyncio

import mlotel_contract as contract
from mlotel_alerting.durations import format_duration
from mlotel_alerting.state import finite
from mlotel_backends.prometheus import Prometheus
from mlotel_contract import MODEL, QUANTILES, Scope


def queries(window: float) -> dict[str, str]:
    scope = Scope(window=format_duration(window))
    return {
        "request_rate": contract.request_rate(scope),
        **{f"latency_p{round(q * 100)}_seconds": contract.latency_quantile(q, scope) for q in QUANTILES},
        "error_ratio": contract.error_ratio(scope),
        "low_confidence_ratio": contract.low_confidence_ratio(scope),
    }


async def summary(prometheus: Prometheus, at: float, window: float) -> dict[str, dict[str, float | None]]:
    """{model: {figure: value}}; a figure Prometheus has no value for is None."""
    named = queries(window)
    results = await asyncio.gather(*(prometheus.query(expr, at) for expr in named.values()))
    models: dict[str, dict[str, float | None]] = {}
    for figure, samples in zip(named, results):
        for sample in samples:
            model = sample.labels.get(MODEL, "")
            models.setdefault(model, dict.fromkeys(named))[figure] = finite(sample.value)
    return dict(sorted(models.items()))
