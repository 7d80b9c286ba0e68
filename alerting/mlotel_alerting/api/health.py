"""``/health``: how the service is doing, and the two meanings Kubernetes probes ask for.

- ``GET /health``: always 200 while the service answers; ``status`` is ``ok``,
  or ``degraded`` with ``reasons``: ``prometheus_unreachable`` (the last
  evaluation could not reach it), ``rules_failing`` (a rule's last evaluation
  errored), ``delivery_failing`` (the last post to Alertmanager failed),
  ``stored_rules_invalid`` (a stored rule no longer loads and is not evaluated).
  Degraded is not dead: restarting the service would not bring Prometheus back.
- ``GET /health/live`` (liveness): 503 when the evaluation loop has stopped or
  has not finished an evaluation for ``stall_after`` seconds; restarting helps then.
- ``GET /health/ready`` (readiness): 503 until the first evaluation finished, so
  a new replica does not serve rules whose health is still unknown.
"""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from mlotel_alerting.api.deps import EngineDep
from mlotel_alerting.api.views import timestamp
from mlotel_alerting.engine import Engine
from mlotel_alerting.state import Health
from mlotel_service_kit.api_errors import error_responses

router = APIRouter(prefix="/health", tags=["health"])


def stall_after(engine: Engine) -> float:
    """Seconds without a finished evaluation that mean the loop is stuck: a few intervals, plus
    one outage's worth of query timeouts and retries (an outage is asked once per evaluation)."""
    settings = engine.settings
    return 4 * settings.evaluation_interval + 4 * (settings.query_retries + 1) * settings.query_timeout


@router.get("")
async def health(engine: EngineDep) -> dict:
    """200 while the service answers; ``status`` is ``degraded`` with ``reasons`` when Prometheus is
    unreachable, a rule errs, delivery fails or a stored rule no longer loads."""
    failing = sorted(name for name, state in engine.states.items() if state.health is Health.ERROR)
    reasons = [reason for reason, present in (("prometheus_unreachable", engine.prometheus_error),
                                              ("rules_failing", failing),
                                              ("delivery_failing", engine.last_delivery_error),
                                              ("stored_rules_invalid", engine.invalid)) if present]
    return {
        "status": "degraded" if reasons else "ok",
        "reasons": reasons,
        "rules": len(engine.states),
        "rules_failing": failing,
        "stored_rules_invalid": engine.invalid,
        "prometheus": {"last_error": engine.prometheus_error},
        "evaluation": {"last_finished": timestamp(engine.evaluation_finished), "seconds": engine.evaluation_seconds},
        "delivery": {
            "last_success": timestamp(engine.last_delivery_at),
            "failures": engine.delivery_failures,
            "last_error": engine.last_delivery_error,
        },
    }


@router.get("/live", responses=error_responses(503))
async def live(engine: EngineDep) -> JSONResponse:
    """Liveness: 200 while the evaluation loop runs and finishes evaluations; 503 when it is stuck or gone."""
    loop = getattr(engine, "loop_task", None)
    last = engine.evaluation_finished or engine.loaded_at
    if loop is not None and loop.done():
        return JSONResponse({"error": "not_live", "message": "the evaluation loop has stopped", "details": []}, 503)
    if loop is not None and time.time() - last > stall_after(engine):
        return JSONResponse({"error": "not_live", "message": f"no evaluation finished for {stall_after(engine):g} s",
                             "details": []}, 503)
    return JSONResponse({"status": "live"})


@router.get("/ready", responses=error_responses(503))
async def ready(engine: EngineDep) -> JSONResponse:
    """Readiness: 200 once the first evaluation has finished."""
    if engine.evaluation_finished is None:
        return JSONResponse({"error": "not_ready", "message": "the first evaluation has not finished", "details": []}, 503)
    return JSONResponse({"status": "ready"})
