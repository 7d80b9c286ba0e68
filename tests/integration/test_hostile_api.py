"""Hostile input against the real ML API process: every class of it costs bounded time and
memory, answers a JSON 4xx that names the problem without echoing the input, and never
stalls ``/health`` while it is being handled (docs/reliability.md lists the limits)."""

from __future__ import annotations

import httpx
import psutil
import pytest

from harness.hostile_request import HEALTH_SECONDS, send_while_probing_health
from harness.model_server import running_api
from harness.processes import free_port

pytestmark = pytest.mark.integration

BODY_LIMIT = 4 * 1024 * 1024
SECONDS_PER_REQUEST = 3.0
# What the server may keep after all of this: allocator arenas, not the bodies.
RSS_GROWTH_BYTES = 32 * 1024 * 1024


def _filled(prefix: str, unit: str, suffix: str, size: int = BODY_LIMIT - 1024) -> str:
    return prefix + unit * ((size - len(prefix) - len(suffix)) // len(unit)) + suffix


# name: (body, status)
MANY_BAD_ELEMENTS = {
    "empty lists in a row": (_filled('{"instances": [[', "[],", "[]]]}"), 413),
    "objects in a row": (_filled('{"instances": [[', "{},", "{}]]}"), 413),
    "strings in a row": (_filled('{"instances": [[', '"x",', '"x"]]}'), 413),
    "nulls after a number": (_filled('{"instances": [[1', ",null", "]]}"), 413),
    "unknown fields": ('{"instances": [[1,2,3,4]], ' + ", ".join(f'"f{i}": 0' for i in range(300_000)) + "}", 413),
    "nested empty lists": ('{"instances": ' + "[" * 1_000_000 + "]" * 1_000_000 + "}", 413),
    "rows over the batch limit": (_filled('{"instances": [', "[0],", "[0]]}"), 413),
    "a row of a million features": (_filled('{"instances": [[', "0,", "0]]}"), 413),
    "objects nested to the parser's limit": ('{"instances": [[' + '{"a":' * 250 + "1" + "}" * 250 + "]]}", 400),
    "a 4 MB string in an unknown field": (_filled('{"instances": [[1,2,3,4]], "x": "', "a", '"}'), 422),
    "a number of 4 million digits": (_filled('{"instances": [[1,2,0.', "1", "]]}"), 422),
    # Just inside the count limits (1024 instances of 64 features): pydantic stops at the first error.
    "objects up to the value limit": ('{"instances": [[' + "{}," * 65_000 + "{}]]}", 422),
    "a full batch, bad at its end": (
        '{"model": "digits", "instances": [' + ",".join(["[" + ",".join(["1.5"] * 64) + "]"] * 1023) + ', [1, "x"]]}', 422),
}

OUT_OF_DOMAIN = {
    "near the float64 limit": "[[1.7e308, 1, 1, 1]]",
    "near the negative float64 limit": "[[1, 1, 1, -1.7e308]]",
    "beyond float32 for the forest": "[[" + ", ".join(["3.5e38"] * 64) + "]]",
    "a 400-digit integer": "[[" + "7" * 400 + ", 1, 1, 1]]",
    "a 9000-digit integer": "[[" + "7" * 9000 + ", 1, 1, 1]]",
}


@pytest.fixture(scope="module")
def api():
    port = free_port()
    with running_api(port, {"MLOTEL_ENABLED": "false"}) as base:
        (pid,) = {c.pid for c in psutil.net_connections("tcp") if c.laddr.port == port and c.status == "LISTEN"}
        yield base, psutil.Process(pid)


def _send_while_probing_health(base: str, method: str, path: str, content: str | bytes | None) -> tuple:
    return send_while_probing_health(base, method, path, timeout=30, content=content,
                                     headers={"content-type": "application/json"})


def _assert_refused(response: httpx.Response, status: int, *, not_in_body: tuple[str, ...] = ()) -> dict:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "message", "details"} and body["message"]
    for text in not_in_body:
        assert text not in response.text
    return body


def _hostile(api, method: str, path: str, content, status: int, not_in_body: tuple[str, ...] = ()) -> dict:
    base, _ = api
    response, seconds, health = _send_while_probing_health(base, method, path, content)
    assert seconds < SECONDS_PER_REQUEST
    assert health < HEALTH_SECONDS, f"/health took {health:.2f} s while the request ran"
    return _assert_refused(response, status, not_in_body=not_in_body)


@pytest.mark.parametrize("name", MANY_BAD_ELEMENTS)
def test_work_is_bounded_by_the_body_not_by_its_errors(api, name):
    body, status = MANY_BAD_ELEMENTS[name]
    assert len(body) < BODY_LIMIT
    answer = _hostile(api, "POST", "/predict", body, status)
    assert len(answer["details"]) <= 2
    assert len(str(answer)) < 1024


def test_a_body_over_the_limit_is_refused_before_it_is_read(api):
    _hostile(api, "POST", "/predict", "[" * (BODY_LIMIT + 1), 413)


@pytest.mark.parametrize("name", OUT_OF_DOMAIN)
def test_numbers_outside_the_models_domain_are_a_4xx(api, name):
    instances = OUT_OF_DOMAIN[name]
    model = "digits" if "forest" in name else "iris"
    status = 400 if "9000" in name else 422
    _hostile(api, "POST", "/predict", f'{{"model": "{model}", "instances": {instances}}}', status, ("777", "e38", "e308"))


@pytest.mark.parametrize(
    "body",
    [
        '{"model": "' + "<script>alert(1)</script>" * 40_000 + '", "instances": [[1, 2, 3, 4]]}',
        '{"model": "<img src=x onerror=alert(1)>", "instances": [[1, 2, 3, 4]]}',
        '{"instances": [[1, 2, 3, 4]], "<script>alert(1)</script>": 1}',
        '{"instances": [[1, 2, "<script>alert(1)</script>", 4]]}',
    ],
)
def test_errors_never_echo_the_input(api, body):
    status = 404 if "onerror" in body else 422
    _hostile(api, "POST", "/predict", body, status, ("<script>", "<img", "alert(1)"))


@pytest.mark.parametrize(("method", "path", "allow"), [("PURGE", "/predict", "POST"), ("DELETE", "/predict", "POST"),
                                                       ("PUT", "/predict", "POST"), ("POST", "/models", "GET")])
def test_a_wrong_method_is_a_405_with_allow(api, method, path, allow):
    base, _ = api
    response = httpx.request(method, f"{base}{path}")
    _assert_refused(response, 405)
    assert allow in response.headers["allow"]


def test_memory_comes_back_and_the_api_still_predicts(api):
    """Runs the worst bodies several times over: what the server keeps must not grow with them."""
    base, process = api
    with httpx.Client(timeout=30) as client:
        client.post(f"{base}/predict", json={"model": "digits", "instances": [[0.0] * 64] * 64})
        before = process.memory_info().rss
        for _ in range(3):
            for body, _ in MANY_BAD_ELEMENTS.values():
                assert 400 <= client.post(f"{base}/predict", content=body).status_code < 500
        after = process.memory_info().rss
        assert after - before < RSS_GROWTH_BYTES, f"RSS {before >> 20} MiB -> {after >> 20} MiB"
        response = client.post(f"{base}/predict", json={"instances": [[5.1, 3.5, 1.4, 0.2]]})
        assert response.status_code == 200
