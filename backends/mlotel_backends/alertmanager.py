"""A small Alertmanager API v2 client: post alerts, read what it holds."""

from __future__ import annotations

import httpx

from mlotel_backends.errors import BackendError
from mlotel_backends.http_client import HttpClient


class AlertmanagerError(BackendError):
    pass


class Alertmanager(HttpClient):
    error = AlertmanagerError

    async def post(self, alerts: list[dict]) -> None:
        try:
            response = await self._client.post("/api/v2/alerts", json=alerts)
        except httpx.HTTPError as error:
            raise AlertmanagerError(f"Alertmanager at {self.url} unreachable: {type(error).__name__}: {error}") from None
        if response.status_code != 200:
            raise AlertmanagerError(f"Alertmanager at {self.url} answered {response.status_code}: {response.text[:200]}")

    async def alerts(self) -> list[dict]:
        """The alerts Alertmanager holds (active, silenced and inhibited), as its API returns them."""
        try:
            response = await self._client.get("/api/v2/alerts")
        except httpx.HTTPError as error:
            raise AlertmanagerError(f"Alertmanager at {self.url} unreachable: {type(error).__name__}: {error}") from None
        if response.status_code != 200:
            raise AlertmanagerError(f"Alertmanager at {self.url} answered {response.status_code}")
        return self._json(response)
