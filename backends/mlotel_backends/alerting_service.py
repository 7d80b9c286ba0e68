"""A small client for the alert-rule service's REST API (``python -m mlotel_alerting``)."""

from __future__ import annotations

from typing import Any

import httpx

from mlotel_backends.errors import BackendError
from mlotel_backends.http_client import HttpClient


class AlertingServiceError(BackendError):
    pass


class AlertingService(HttpClient):
    error = AlertingServiceError

    async def _call(self, method: str, path: str, token: str | None = None, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = await self._client.request(method, path, params=params or None, headers=headers)
        except httpx.HTTPError as error:
            raise AlertingServiceError(f"alert-rule service at {self.url} unreachable: {type(error).__name__}") from None
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            message = (body.get("message") if isinstance(body, dict) else None) or response.reason_phrase
            raise AlertingServiceError(f"alert-rule service answered {response.status_code}: {message}",
                                       unavailable=response.status_code >= 500)
        return self._json(response)

    async def health(self) -> dict:
        return await self._call("GET", "/health")

    async def rules(self) -> list[dict]:
        return await self._call("GET", "/rules")

    async def active_alerts(self) -> list[dict]:
        return await self._call("GET", "/alerts/active")

    async def history(self, **params) -> list[dict]:
        return await self._call("GET", "/alerts/history", **params)

    async def notifications(self, **params) -> list[dict]:
        """What Alertmanager delivered to the service's webhook, newest first."""
        return await self._call("GET", "/notifications", **params)

    async def confidence_drift(self, model: str, version: str, window: str) -> dict:
        """One model's confidence distribution in the last ``window`` and the one before, and their PSI."""
        return await self._call("GET", "/metrics/drift", model=model, version=version, window=window)

    async def resolve(self, name: str, token: str) -> dict:
        return await self._call("POST", f"/alerts/{name}/resolve", token=token)
