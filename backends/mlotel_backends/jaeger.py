"""A small client for Jaeger's query HTTP API (``/api/traces``, ``/api/services``),
the API Jaeger's own UI reads, served by Jaeger v2 with or without UI assets."""

from __future__ import annotations

import httpx

from mlotel_backends.errors import BackendError
from mlotel_backends.http_client import HttpClient


class JaegerError(BackendError):
    pass


class Jaeger(HttpClient):
    error = JaegerError

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
        data = self._data(response)
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
        return self._data(await self._get("/api/traces", params))

    async def services(self) -> list[str]:
        return self._data(await self._get("/api/services"))

    async def operations(self, service: str) -> list[str]:
        """The span names Jaeger has seen from ``service`` (e.g. "predict digits")."""
        return self._data(await self._get(f"/api/services/{service}/operations"))

    def _data(self, response: httpx.Response) -> list:
        """The ``data`` of an answer; any status but 200 is Jaeger refusing the question."""
        if response.status_code != 200:
            raise JaegerError(f"Jaeger answered {response.status_code} to {response.request.url.path}", unavailable=False)
        body = self._json(response)
        return (body.get("data") if isinstance(body, dict) else None) or []
