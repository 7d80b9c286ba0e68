"""``/metrics/summary``: per-model request rate, latency quantiles, error and low-confidence ratios."""

from __future__ import annotations

import time

from fastapi import APIRouter, Query

from alerting import summary
from alerting.api.deps import EngineDep
from alerting.durations import parse_duration
from alerting.prometheus import PrometheusError
from ml_api.errors import ClientError

router = APIRouter(prefix="/metrics", tags=["metrics"])


@router.get("/summary")
async def metrics_summary(engine: EngineDep, window: str = Query("5m", description="rate window, e.g. 1m, 5m, 1h")) -> dict:
    """Per model, from Prometheus over ``window``; a figure without data is null."""
    try:
        seconds = parse_duration(window)
    except ValueError as error:
        raise ClientError(400, "invalid_window", f"window: {error}") from None
    if not 1 <= seconds <= 31 * 86400:
        raise ClientError(400, "invalid_window", "window: between 1s and 31d")
    try:
        models = await summary.summary(engine.prometheus, time.time(), seconds)
    except PrometheusError as error:
        raise ClientError(503, "prometheus_unavailable", str(error)) from None
    return {"window": window, "models": models}
