"""``/metrics``: the service's own metrics; ``/metrics/summary``: per-model request rate, latency
quantiles, error and low-confidence ratios; ``/metrics/drift``: one model's confidence drift."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST

import mlotel_contract as contract
from mlotel_alerting import drift, summary
from mlotel_alerting.api.deps import EngineDep
from mlotel_alerting.durations import format_duration, parse_duration
from mlotel_alerting.exposition import exposition
from mlotel_backends.prometheus import PrometheusError
from mlotel_service_kit.api_errors import ClientError, error_responses

router = APIRouter(prefix="/metrics", tags=["metrics"])

MAX_WINDOW = 31 * 86400
Window = Annotated[str, Query(pattern=r"^(\d{1,9}(ms|s|m|h|d|w)){1,6}$", max_length=32,
                              description="rate window, e.g. 1m, 5m, 1h; from 1s to 31d")]


@router.get("", response_class=PlainTextResponse)
async def prometheus_metrics(engine: EngineDep) -> PlainTextResponse:
    """The service's own state in the Prometheus text format (alerts by rule and state, rule health)."""
    return PlainTextResponse(exposition(engine), media_type=CONTENT_TYPE_LATEST)


@router.get("/summary", responses=error_responses(400, 422, 503))
async def metrics_summary(engine: EngineDep, window: Window = "5m") -> dict:
    """Per model, from Prometheus over ``window``; a figure without data is null."""
    seconds = parse_duration(window)
    if not 1 <= seconds <= MAX_WINDOW:
        raise ClientError(400, "invalid_window", "window: between 1s and 31d")
    try:
        models = await summary.summary(engine.prometheus, time.time(), seconds)
    except PrometheusError as error:
        raise ClientError(503, "prometheus_unavailable", str(error)) from None
    return {"window": window, "models": models}


ModelName = Annotated[str, Query(min_length=1, max_length=200, description=f"the model ({contract.MODEL})")]
ModelVersion = Annotated[str, Query(max_length=200, description=f"one version ({contract.VERSION}); empty: all")]


@router.get("/drift", responses=error_responses(400, 422, 503))
async def confidence_drift(engine: EngineDep, model: ModelName, version: ModelVersion = "", window: Window = "5m") -> dict:
    """One model's confidence distribution over the last ``window`` and the ``window`` before, per
    bucket (``le``), and the PSI between them (null without predictions in either): what the
    console shows, computed where the drift rules compute theirs."""
    seconds = parse_duration(window)
    if not 1 <= seconds <= MAX_WINDOW:
        raise ClientError(400, "invalid_window", "window: between 1s and 31d")
    duration = format_duration(seconds)  # as PromQL spells it (units largest first)
    scope = contract.for_model(model, version, contract.Scope(window=duration, by=()))
    now = time.time()
    try:
        recent, baseline = await asyncio.gather(engine.prometheus.query(contract.confidence_buckets(scope), now),
                                                engine.prometheus.query(contract.confidence_buckets(scope, duration), now))
    except PrometheusError as error:
        raise ClientError(503, "prometheus_unavailable", str(error)) from None
    return {"model": model, "version": version, "window": window, **drift.compare(recent, baseline)}
