"""``/health``: the service answers; the body tells how evaluation and delivery go."""

from fastapi import APIRouter

from mlotel_alerting.api.deps import EngineDep
from mlotel_alerting.api.views import timestamp
from mlotel_alerting.state import Health

router = APIRouter(tags=["health"])


@router.get("/health")
def health(engine: EngineDep) -> dict:
    """200 while the service runs; rules that cannot be evaluated and undelivered alerts are listed."""
    return {
        "status": "ok",
        "rules": len(engine.states),
        "rules_failing": sorted(name for name, s in engine.states.items() if s.health is Health.ERROR),
        "delivery": {
            "last_success": timestamp(engine.last_delivery_at),
            "failures": engine.delivery_failures,
            "last_error": engine.last_delivery_error,
        },
    }
