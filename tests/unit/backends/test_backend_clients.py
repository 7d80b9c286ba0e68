"""The backends' clients turn any answer they cannot use into their backend's error, never a
ValueError that a console page would show as a traceback."""

import asyncio

import httpx
import pytest

from mlotel_backends.alerting_service import AlertingService, AlertingServiceError
from mlotel_backends.alertmanager import Alertmanager, AlertmanagerError
from mlotel_backends.jaeger import Jaeger, JaegerError

PLACEHOLDER = httpx.MockTransport(lambda request: httpx.Response(200, html="<h1>not the API you are looking for</h1>"))
CALLS = [
    (Jaeger, JaegerError, lambda c: c.trace("0" * 32)),
    (Jaeger, JaegerError, lambda c: c.search("ml-api")),
    (Jaeger, JaegerError, lambda c: c.services()),
    (Jaeger, JaegerError, lambda c: c.operations("ml-api")),
    (Alertmanager, AlertmanagerError, lambda c: c.alerts()),
    (AlertingService, AlertingServiceError, lambda c: c.active_alerts()),
    (AlertingService, AlertingServiceError, lambda c: c.notifications(limit=5)),
]


async def call(client_class, work, transport):
    client = client_class("http://backend.test", transport=transport)
    try:
        return await work(client)
    finally:
        await client.close()


@pytest.mark.parametrize(("client_class", "error", "work"), CALLS)
def test_an_answer_without_json_is_the_backends_error(client_class, error, work):
    with pytest.raises(error, match="without JSON"):
        asyncio.run(call(client_class, work, PLACEHOLDER))


def test_jaeger_without_a_trace_is_none_and_a_refused_question_its_error():
    answers = httpx.MockTransport(lambda request: httpx.Response(
        404 if "/api/traces/" in request.url.path else 400, json={"errors": [{"msg": "no"}]}))
    assert asyncio.run(call(Jaeger, lambda c: c.trace("0" * 32), answers)) is None
    with pytest.raises(JaegerError, match="answered 400"):
        asyncio.run(call(Jaeger, lambda c: c.operations("ml-api"), answers))
