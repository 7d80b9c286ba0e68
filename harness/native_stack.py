"""Reading the real backends' HTTP APIs, with deadlines instead of sleeps."""

from __future__ import annotations

import time

import httpx

API = "http://127.0.0.1:8000"
JAEGER = "http://127.0.0.1:16686"
PROMETHEUS = "http://127.0.0.1:9090"
ALERTMANAGER = "http://127.0.0.1:9093"
ALERTING = "http://127.0.0.1:8080"


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
