"""Health as Kubernetes probes read it, and a report of what works.

- ``/health/live``: liveness. 200 while the process serves requests; nothing
  else decides it, telemetry least of all: restarting the API does not bring
  a collector back.
- ``/health/ready``: readiness. 200 once the models are loaded, else 503
  ``not_ready``. Telemetry does not decide it either: every replica shares the
  collector, so taking replicas out of service for it would only stop the
  predictions too.
- ``/health``: the report. Always 200 while the process serves (probes and
  scripts that read only the status code keep working); ``status`` is
  ``degraded`` when the API is not ready or its telemetry is failing, and the
  body says which (``telemetry``: :func:`mlotel.telemetry_health`).
"""

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from mlotel import telemetry_health
from mlotel_model_server.schemas import ErrorBody
from mlotel_service_kit.api_errors import error_response

router = APIRouter(prefix="/health", tags=["health"])


class Live(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready"]
    models: list[str]


class Report(BaseModel):
    status: Literal["ok", "degraded"]
    live: bool
    ready: bool
    models: list[str]
    telemetry: dict[str, Any]


def _models(request: Request) -> list[str]:
    # Set by the lifespan; an app serving without it (tests) has none.
    return sorted(getattr(request.app.state, "models", None) or ())


@router.get("/live", response_model=Live)
async def live() -> dict[str, str]:
    """Liveness: 200 while the process serves; telemetry never fails it."""
    return {"status": "ok"}


@router.get("/ready", response_model=Ready, responses={503: {"model": ErrorBody}})
async def ready(request: Request) -> Any:
    """Readiness: 200 once the models are loaded, else 503; telemetry does not decide it."""
    models = _models(request)
    if not models:
        return error_response(503, "not_ready", "no model is loaded yet")
    return {"status": "ready", "models": models}


@router.get("", response_model=Report)
async def report(request: Request) -> dict[str, Any]:
    """What works: ready or not, and whether telemetry is getting out (always 200 while the process serves)."""
    models = _models(request)
    telemetry = telemetry_health()
    degraded = not models or telemetry["status"] == "failing"
    return {
        "status": "degraded" if degraded else "ok",
        "live": True,
        "ready": bool(models),
        "models": models,
        "telemetry": telemetry,
    }
