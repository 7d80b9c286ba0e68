"""Backends' responses recorded from the real stack and replayed to the console's pages.

    .venv/bin/python -m harness.console.recording   # with `make up` running and some traffic

runs every page against the live backends through :class:`Recorder` and writes
what each page asked and got to ``recorded/<page>.json``. The unit tests serve
those answers back through :class:`Replay`: the pages are tested against what
Prometheus, Jaeger, Alertmanager and the alert-rule service really answer.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

RECORDED = Path(__file__).resolve().parent / "recorded"
# Parameters that change with the clock, left out of a request's identity.
VOLATILE = {"time", "start", "end", "step", "lookback"}


def request_key(request: httpx.Request) -> str:
    params = sorted((k, v) for k, v in request.url.params.multi_items() if k not in VOLATILE)
    return json.dumps([request.method, request.url.port, request.url.path, params])


class Recorder(httpx.AsyncBaseTransport):
    """Passes requests to the network and keeps each answer by its request key."""

    def __init__(self) -> None:
        self.answers: dict[str, dict] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        async with httpx.AsyncHTTPTransport() as network:
            response = await network.handle_async_request(request)
            body = await response.aread()
        self.answers[request_key(request)] = {"status": response.status_code, "body": json.loads(body or b"null")}
        return httpx.Response(response.status_code, content=body, headers={"content-type": "application/json"})


class Replay(httpx.AsyncBaseTransport):
    """Answers from a recording; a request it has no answer for is kept in ``misses`` and gets a 503."""

    def __init__(self, answers: dict[str, dict], down_ports: frozenset[int] = frozenset()) -> None:
        self.answers, self.down_ports = answers, down_ports
        self.misses: list[str] = []

    @classmethod
    def of(cls, page: str, down_ports: frozenset[int] = frozenset()) -> Replay:
        return cls(json.loads((RECORDED / f"{page}.json").read_text()), down_ports)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.port in self.down_ports:
            raise httpx.ConnectError("connection refused (a backend made unreachable by the test)", request=request)
        answer = self.answers.get(request_key(request))
        if answer is None:
            self.misses.append(request_key(request))
            return httpx.Response(503, json={"status": "error", "error": "not recorded"})
        return httpx.Response(answer["status"], json=answer["body"])


def record(page: str, script: str, query: dict[str, str] | None = None) -> None:
    """Run one page against the live stack and write what it asked and got."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from mlotel_console import clients

    recorder = Recorder()
    clients.transport = recorder
    try:
        st.cache_data.clear()
        app = AppTest.from_file(str(Path(clients.__file__).parent / "app.py"), default_timeout=60)
        app.query_params.update(query or {})
        app.switch_page(script).run()
        assert not app.exception, app.exception
    finally:
        clients.transport = None
    RECORDED.mkdir(exist_ok=True)
    (RECORDED / f"{page}.json").write_text(json.dumps(recorder.answers, indent=1, sort_keys=True) + "\n")
    print(f"{page}: {len(recorder.answers)} answers recorded")


def slow_trace_id(jaeger: str = "http://127.0.0.1:16686") -> str:
    """A kept slow prediction's trace id, for the trace page's recording."""
    traces = httpx.get(f"{jaeger}/api/traces", params={"service": "ml-api", "minDuration": "100ms", "limit": 1},
                       timeout=10).json()["data"]
    assert traces, "no slow prediction in Jaeger: run the load generator with slow batches first"
    return traces[0]["traceID"]


if __name__ == "__main__":
    record("overview", "views/overview.py")
    # 5 minutes: the 5 before, the confidence drift's baseline, had traffic too.
    record("models", "views/models.py", {"model": "digits", "range": "5m"})
    record("slow", "views/slow.py", {"model": "digits", "min_ms": "1000", "since": "5m"})
    record("trace", "views/trace.py", {"trace_id": slow_trace_id()})
    record("trace-missing", "views/trace.py", {"trace_id": "0123456789abcdef0123456789abcdef"})
    record("alerts", "views/alerts.py")
    record("resources", "views/resources.py")
