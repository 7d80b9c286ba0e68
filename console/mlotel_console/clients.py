"""The backends' clients for one piece of a page.

httpx's async clients belong to the event loop that made them, and each
Streamlit run is a plain thread, so a loader makes its clients, runs its
queries concurrently and closes them inside one ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TypeVar

import httpx

from mlotel_backends.alerting_service import AlertingService
from mlotel_backends.alertmanager import Alertmanager
from mlotel_backends.jaeger import Jaeger
from mlotel_backends.prometheus import Prometheus
from mlotel_console.settings import settings

T = TypeVar("T")

# Tests replace it with recorded responses (httpx.MockTransport); None: the network.
transport: httpx.AsyncBaseTransport | None = None


@dataclass
class Clients:
    prometheus: Prometheus
    jaeger: Jaeger
    alerting: AlertingService
    alertmanager: Alertmanager


def run(work: Callable[[Clients], Awaitable[T]]) -> T:
    """``await work(clients)`` with fresh clients, closed afterwards."""

    async def main() -> T:
        clients = Clients(
            # No retries: a page shows a backend's outage at once rather than after backoffs.
            Prometheus(settings.prometheus_url, timeout=settings.timeout, retries=0, transport=transport),
            Jaeger(settings.jaeger_url, timeout=settings.timeout, transport=transport),
            AlertingService(settings.alerting_url, timeout=settings.timeout, transport=transport),
            Alertmanager(settings.alertmanager_url, timeout=settings.timeout, transport=transport),
        )
        async with AsyncExitStack() as stack:
            for client in vars(clients).values():
                stack.push_async_callback(client.close)
            return await work(clients)

    return asyncio.run(main())
