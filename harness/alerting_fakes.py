"""Prometheus and Alertmanager as httpx mock transports, and an engine wired to them: the
alert-rule service's unit tests drive it without servers (tests/unit/alerting/conftest.py
makes fixtures of them). Real servers are in ``harness.alerting_backends``."""

from __future__ import annotations

import json

import httpx
import promql_parser

from mlotel_alerting.main import build_engine
from mlotel_alerting.settings import Settings
from mlotel_backends.alertmanager import Alertmanager
from mlotel_backends.prometheus import Prometheus

TOKEN = "s3cret-token"
RULES = """
rules:
  - name: LowConfidence
    expr: low_confidence_ratio > 0.3
    labels: {severity: warning}
    annotations: {summary: "{{ value | percent }} low-confidence for {{ labels.ml_model_name }}"}
  - name: SlowPredictions
    expr: p95_seconds > 0.5
    trace_search: {operation: "predict {{ labels.ml_model_name }}", min_duration: "{{ value | milliseconds }}"}
"""


class FakePrometheus:
    """Answers instant queries from ``results`` (expr -> [(labels, value)]), parses like Prometheus.
    The series the rules compare exist (value 0 for iris), so an empty result is "condition false",
    not "no data"."""

    SERIES = ("low_confidence_ratio{}", "p95_seconds{}", "error_ratio{}")

    def __init__(self) -> None:
        self.results: dict[str, list[tuple[dict, float]]] = {}
        self.down = False
        self.queries: list[str] = []
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.down:
            raise httpx.ConnectError("connection refused")
        expr = request.url.params["query"]
        try:
            promql_parser.parse(expr)
        except Exception as error:  # noqa: BLE001
            return httpx.Response(400, json={"status": "error", "errorType": "bad_data",
                                             "error": f'invalid parameter "query": parse error: {error}'})
        if request.url.path == "/api/v1/format_query":
            return httpx.Response(200, json={"status": "success", "data": expr})
        self.queries.append(expr)
        samples = self.results.get(expr, [({"ml_model_name": "iris"}, 0.0)] if expr in self.SERIES else [])
        result = [{"metric": labels, "value": [0, str(value)]} for labels, value in samples]
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": result}})


class FakeAlertmanager:
    def __init__(self) -> None:
        self.posts: list[list[dict]] = []
        self.down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused")
        assert request.url.path == "/api/v2/alerts"
        self.posts.append(json.loads(request.content))
        return httpx.Response(200)

    @property
    def alerts(self) -> list[dict]:
        return [alert for post in self.posts for alert in post]


def make_engine(settings: Settings, backends):
    prometheus, alertmanager = backends
    return build_engine(
        settings,
        Prometheus(settings.prometheus_url, retries=0, transport=httpx.MockTransport(prometheus)),
        Alertmanager(settings.alertmanager_url, transport=httpx.MockTransport(alertmanager)),
    )


AUTH = {"Authorization": f"Bearer {TOKEN}"}
