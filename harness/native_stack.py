"""The native stack (``make up``) as end-to-end tests see it: the settings they start it with,
its URLs, the slow prediction users hunt for, and its backends' HTTP APIs."""

from __future__ import annotations

import time

import httpx
import numpy as np

API = "http://127.0.0.1:8000"
JAEGER = "http://127.0.0.1:16686"
PROMETHEUS = "http://127.0.0.1:9090"
ALERTMANAGER = "http://127.0.0.1:9093"
ALERTING = "http://127.0.0.1:8080"

# Decisions sooner than the default, so tests wait less; same policies otherwise. The slow
# threshold sits well under the tests' slow prediction (a 1,024-row forest batch: 50 ms on an
# idle machine of this kind, a few hundred under load), so that trace is kept by the "slow"
# policy, not by the 10% baseline's luck.
STACK_ENV = {"TAIL_SAMPLING_DECISION_WAIT": "2s", "SLOW_PREDICTION_MS": "30", "TRACE_SAMPLING_PERCENT": "10",
             "ALERTING_EVALUATION_INTERVAL": "5s"}


def slow_prediction(base: str = API) -> tuple[str, float]:
    """A forest batch of the largest allowed size: the slow prediction users hunt for."""
    rows = np.random.default_rng(0).uniform(0, 16, (1024, 64)).round(1).tolist()
    response = httpx.post(f"{base}/predict", json={"model": "digits", "instances": rows}, timeout=60)
    assert response.status_code == 200
    return response.json()["trace_id"], time.monotonic()


def jaeger_trace(trace_id: str) -> dict | None:
    response = httpx.get(f"{JAEGER}/api/traces/{trace_id}", timeout=10)
    if response.status_code != 200 or not response.json().get("data"):
        return None
    return response.json()["data"][0]


def tags(span: dict) -> dict:
    return {tag["key"]: tag["value"] for tag in span.get("tags", [])}


def prometheus(expr: str) -> list[dict]:
    response = httpx.get(f"{PROMETHEUS}/api/v1/query", params={"query": expr}, timeout=10)
    response.raise_for_status()
    return response.json()["data"]["result"]


def exemplars(expr: str, since: float) -> list[dict]:
    """Exemplars of ``expr`` stored since the Unix time ``since``."""
    response = httpx.get(
        f"{PROMETHEUS}/api/v1/query_exemplars", params={"query": expr, "start": since, "end": time.time()}, timeout=10
    )
    response.raise_for_status()
    return [e for series in response.json()["data"] for e in series["exemplars"]]


def alerts() -> list[dict]:
    return httpx.get(f"{ALERTMANAGER}/api/v2/alerts", timeout=10).json()
