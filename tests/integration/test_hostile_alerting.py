"""Hostile input against the real alert-rule service process (with a real Prometheus to check
PromQL): each class of it, with instances other than the issue's, is answered within bounded
time as a JSON 4xx that names the limit and never repeats the input, while ``/health`` keeps
answering within 1 s, and the server's memory comes back (docs/reliability.md lists the limits)."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import httpx
import pytest
import websockets

from harness.alerting_backends import MetricsTarget, prometheus, running
from harness.alerting_service import running_alerting
from harness.hostile_request import HEALTH_SECONDS, send_while_probing_health

pytestmark = pytest.mark.integration

SECONDS_PER_REQUEST = 3.0
RSS_GROWTH_BYTES = 32 * 1024 * 1024
MAX_RULES = 40
MARKUP = "<svg onload=alert(7)>"
MEASURED = {"request": 0.0, "health": 0.0}  # the slowest seen, printed at the end (docs/reliability.md quotes them)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hostile-alerting")
    target = MetricsTarget()
    with running(prometheus(directory, target.port)) as prom, running_alerting(
            directory, {"PROMETHEUS_URL": prom.url, "ALERTING_MAX_RULES": str(MAX_RULES),
                        "ALERTING_EVALUATION_INTERVAL": "1s"}) as process:
        yield process
    target.close()
    print(f"\nslowest hostile request {MEASURED['request']:.2f} s, slowest /health meanwhile {MEASURED['health']:.2f} s")


def _while_probing_health(service, method: str, path: str, **request) -> tuple[httpx.Response, float, float]:
    return send_while_probing_health(service.url, method, path, **request)


def hostile(service, method: str, path: str, status: int, error: str, not_in_body: tuple[str, ...] = (), **request) -> dict:
    response, seconds, health = _while_probing_health(service, method, path, **request)
    MEASURED["request"], MEASURED["health"] = max(MEASURED["request"], seconds), max(MEASURED["health"], health)
    assert seconds < SECONDS_PER_REQUEST, f"{seconds:.2f} s"
    assert health < HEALTH_SECONDS, f"/health took {health:.2f} s while the request ran"
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "message", "details"} and body["error"] == error and body["message"]
    assert len(response.content) < 2048
    for text in not_in_body:
        assert text not in response.text
    return body


def put(service, name: str, document, status: int, error: str, not_in_body: tuple[str, ...] = ()) -> dict:
    content = document if isinstance(document, (str, bytes)) else json.dumps(document)
    return hostile(service, "PUT", f"/rules/{name}", status, error, not_in_body, content=content, headers=service.auth)


def test_work_is_bounded_by_the_limit_not_by_the_errors(service):
    """Class 1: a body full of bad fields costs a handful of error lines, not one per field."""
    document = {"expr": "up > 0", **{f"u{i}": [None] for i in range(3_000)}}
    assert len(json.dumps(document)) < 64 * 1024
    body = put(service, "ManyErrors", document, 400, "invalid_rule", ("u1",))
    assert "and 2995 more" in body["message"]


@pytest.mark.parametrize(("name", "expr", "limit"), [
    ("nested calls", "abs(" * 900 + "up" + ")" * 900, "4096 characters"),
    ("a chain of operators", " / ".join(["up"] * 700), "64 levels"),
    ("unary minus", "-" * 3_900 + "up", "64 levels"),
    ("subqueries in parentheses", "(((" * 300 + "up" + ")))" * 300, "64 levels"),
])
def test_promql_that_would_crash_a_parser_is_refused_before_one_sees_it(service, name, expr, limit):
    """Class 4: length and depth, checked on the text (the bundled parser segfaults past ~10,000 levels)."""
    body = put(service, "DeepExpr", {"expr": expr}, 400, "invalid_rule", ("abs(abs(", "up / up", "---"))
    assert limit in body["message"]


def test_rule_count_is_bounded(service):
    """Class 4: the service refuses one rule past ALERTING_MAX_RULES, and keeps evaluating the others."""
    with httpx.Client(timeout=10, headers=service.auth) as client:
        for i in range(MAX_RULES):
            response = client.put(f"{service.url}/rules/Volume{i}", json={"expr": f"vector({i}) > 1e9"})
            if response.status_code == 409:
                break
            assert response.status_code == 201
    body = put(service, "OneTooMany", {"expr": "up > 0"}, 409, "too_many_rules")
    assert f"limit of {MAX_RULES} rules" in body["message"]
    with httpx.Client(timeout=10) as client:
        poll = time.monotonic()
        while {rule["health"] for rule in client.get(f"{service.url}/rules").json()} != {"ok"}:
            assert time.monotonic() - poll < 30
            time.sleep(0.5)
        for i in range(MAX_RULES):
            client.delete(f"{service.url}/rules/Volume{i}", headers=service.auth)


@pytest.mark.parametrize(("template", "status"), [
    ("{{ 3 ** 777777777 }} is a number", 201),  # folded while compiling, by plain Jinja
    ("{{ ('ab' * 4000) * 4000 }}", 201),
    ("{{ '%0888888888x' % 255 }}", 201),
    ("{% for a in range(99999) %}{% for b in range(99999) %}.{% endfor %}{% endfor %}", 400),
    ("{% macro m(n) %}{{ m(n) }}{{ m(n) }}{% endmacro %}{{ m(1) }}", 400),
])
def test_templates_cannot_compute_without_bound(service, template, status):
    """Class 5: a template that would compute is accepted but fails its render in bounded time, or is refused."""
    document = {"expr": "vector(1) > 0", "annotations": {"summary": template}}
    if status == 400:
        put(service, "Computing", document, 400, "invalid_rule")
        return
    response, seconds, health = _while_probing_health(service, "PUT", "/rules/Computing", json=document, headers=service.auth)
    assert response.status_code in (200, 201) and seconds < SECONDS_PER_REQUEST and health < HEALTH_SECONDS
    with httpx.Client(timeout=10) as client:  # it fires within a couple of evaluations, rendered in bounded time
        started = time.monotonic()
        while not (active := client.get(f"{service.url}/alerts/active", params={"rule": "Computing"}).json()):
            assert time.monotonic() - started < 20 and client.get(f"{service.url}/health", timeout=HEALTH_SECONDS).status_code == 200
            time.sleep(0.2)
        assert "template error" in active[0]["annotations"]["summary"]
        client.delete(f"{service.url}/rules/Computing", headers=service.auth)


@pytest.mark.parametrize(("what", "document", "error"), [
    ("an expression of 50,000 characters", {"expr": "up" + " " * 50_000}, "invalid_rule"),
    ("JSON nested 20,000 deep", '{"expr": "up", "labels": ' + '{"a":' * 20_000 + "1" + "}" * 20_000 + "}", "json_too_deep"),
    ("a duration of 3,000 digits", {"expr": "up", "for": "7" * 3_000 + "ms"}, "invalid_rule"),
    ("a duration of 1e300 seconds", {"expr": "up", "keep_firing_for": 1e300}, "invalid_rule"),
    ("an infinite threshold", '{"drift": {"threshold": 1e999}}', "invalid_rule"),
])
def test_what_escaped_as_plain_text_500s_is_a_json_400(service, what, document, error):
    """Class 6."""
    status = 413 if len(json.dumps(document)) > 64 * 1024 else 400
    put(service, "Escaped", document, status, "body_too_large" if status == 413 else error, ("7777", "1e300"))


def test_a_50_mb_annotation_is_refused_before_it_is_read(service):
    """Class 7, by Content-Length and as a chunked body."""
    annotation = {"expr": "up", "annotations": {"description": "Z" * (50 * 1024 * 1024)}}
    put(service, "Huge", annotation, 413, "body_too_large")

    def chunks():
        yield b'{"expr": "up", "annotations": {"d": "'
        for _ in range(50):
            yield b"Z" * (1024 * 1024)
        yield b'"}}'

    hostile(service, "PUT", "/rules/Huge", 413, "body_too_large", content=chunks(), headers=service.auth)
    assert httpx.get(f"{service.url}/rules/Huge").status_code == 404


@pytest.mark.parametrize(("method", "path", "status", "error", "kwargs"), [
    ("GET", "/rules/Never" + "Seen" * 30, 404, "unknown_rule", {}),
    ("DELETE", "/rules/Never" + "Seen" * 30, 404, "unknown_rule", {"auth": True}),
    ("POST", "/alerts/Never" + "Seen" * 30 + "/resolve", 404, "unknown_rule", {"auth": True}),
    ("GET", "/rules/" + MARKUP, 422, "invalid_request", {}),
    ("PUT", "/rules/Markup", 400, "invalid_expr", {"auth": True, "json": {"expr": f'up{{job="{MARKUP}"'}}),
    ("PUT", "/rules/Markup", 400, "invalid_rule", {"auth": True, "json": {"expr": "up", MARKUP: 1}}),
    ("PUT", "/rules/Markup", 400, "invalid_rule", {"auth": True, "json": {"expr": "up", "for": MARKUP}}),
    ("GET", "/alerts/history?since=" + MARKUP, 422, "invalid_request", {}),
])
def test_errors_never_echo_the_input(service, method, path, status, error, kwargs):
    """Class 8."""
    headers = service.auth if kwargs.pop("auth", False) else {}
    hostile(service, method, path, status, error, ("NeverSeen", "SeenSeen", "svg", "alert(7)"), headers=headers, **kwargs)


def test_protocol_405_carries_allow_and_the_websocket_checks_origin(service):
    """Class 9."""
    response = httpx.request("PATCH", f"{service.url}/rules/Anything")
    assert response.status_code == 405 and response.headers["allow"] == "DELETE, GET, PUT"
    assert response.json()["error"] == "method_not_allowed"
    host = service.url.removeprefix("http://")

    async def handshake(origin: str | None):
        headers = {"Origin": origin} if origin else {}
        async with websockets.connect(f"ws://{host}/ws/alerts", additional_headers=headers, open_timeout=5) as ws:
            return json.loads(await ws.recv())["type"]

    with pytest.raises(websockets.InvalidStatus) as refused:
        asyncio.run(handshake("https://attacker.example"))
    assert refused.value.response.status_code == 403
    assert asyncio.run(handshake(service.url)) == "snapshot"
    assert asyncio.run(handshake(None)) == "snapshot"


def test_a_slow_client_does_not_hold_health(service):
    """A body trickled one byte at a time is read on the event loop without blocking it."""
    host, port = service.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"PUT /rules/Slow HTTP/1.1\r\nHost: {host}\r\nContent-Length: 60000\r\n"
                     f"Authorization: Bearer {service.token}\r\n\r\n".encode())
        for _ in range(20):
            sock.sendall(b"[")
            started = time.perf_counter()
            assert httpx.get(f"{service.url}/health", timeout=5).status_code == 200
            assert time.perf_counter() - started < HEALTH_SECONDS


def test_memory_comes_back_and_the_service_still_works(service):
    """The worst bodies several times over: what the server keeps must not grow with them."""
    bodies = [json.dumps({"expr": "up", **{f"u{i}": [None] for i in range(3_000)}}),
              '{"expr": "up", "labels": ' + "[" * 30_000 + "]" * 30_000 + "}",
              json.dumps({"expr": "-" * 4_000 + "up"}),
              json.dumps({"expr": "up", "annotations": {"a": "Z" * 60_000}})]
    with httpx.Client(timeout=30, headers=service.auth) as client:
        before = service.process.memory_info().rss
        for _ in range(5):
            for body in bodies:
                assert 400 <= client.put(f"{service.url}/rules/Memory", content=body).status_code < 500
        after = service.process.memory_info().rss
        assert after - before < RSS_GROWTH_BYTES, f"RSS {before >> 20} MiB -> {after >> 20} MiB"
        print(f"\nRSS {before / 2**20:.1f} MiB -> {after / 2**20:.1f} MiB after 20 hostile bodies")
        assert client.put(f"{service.url}/rules/Memory", json={"expr": "up > 0"}).status_code == 201
        assert client.delete(f"{service.url}/rules/Memory").status_code == 200
