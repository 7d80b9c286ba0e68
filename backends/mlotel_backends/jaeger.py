"""A small client for Jaeger's query HTTP API (``/api/traces``, ``/api/services``),
the API Jaeger's own UI reads, served by Jaeger v2 with or without UI assets."""

from __future__ import annotations

import httpx

from mlotel_backends.errors import BackendError
from mlotel_backends.http_client import HttpClient


class JaegerError(BackendError):
    pass


class Jaeger(HttpClient):
    async def _get(self, path: str, params: dict | None = None) -> httpx.Response:
        try:
            response = await self._client.get(path, params=params)
        except httpx.HTTPError as error:
            raise JaegerError(f"Jaeger at {self.url} unreachable: {type(error).__name__}") from None
        if response.status_code >= 500:
            raise JaegerError(f"Jaeger at {self.url} answered {response.status_code}")
        return response

    async def trace(self, trace_id: str) -> dict | None:
        """The trace in Jaeger's JSON model (``spans``, ``processes``), or None if Jaeger does not have it."""
        response = await self._get(f"/api/traces/{trace_id}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise JaegerError(f"Jaeger answered {response.status_code} for trace {trace_id}", unavailable=False)
        data = response.json().get("data") or []
        return data[0] if data else None

    async def search(self, service: str, operation: str = "", min_duration: str = "", start_us: int | None = None,
                     end_us: int | None = None, limit: int = 20) -> list[dict]:
        """Traces of ``service`` (optionally one operation, at least ``min_duration`` like "250ms"), newest first."""
        params: dict[str, str | int] = {"service": service, "limit": limit}
        if operation:
            params["operation"] = operation
        if min_duration:
            params["minDuration"] = min_duration
        if start_us is not None:
            params["start"] = start_us
        if end_us is not None:
            params["end"] = end_us
        response = await self._get("/api/traces", params)
        if response.status_code != 200:
            raise JaegerError(f"Jaeger refused the search ({response.status_code})", unavailable=False)
        return response.json().get("data") or []

    async def services(self) -> list[str]:
        return (await self._get("/api/services")).json().get("data") or []

    async def operations(self, service: str) -> list[str]:
        """The span names Jaeger has seen from ``service`` (e.g. "predict digits")."""
        return (await self._get(f"/api/services/{service}/operations")).json().get("data") or []
