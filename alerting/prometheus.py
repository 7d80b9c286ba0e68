"""A small Prometheus HTTP API client: instant queries and expression checks,
with a timeout per request and retries with backoff for transient failures."""

from __future__ import annotations

import asyncio
import math

import httpx

from alerting.state import Sample


class PrometheusError(Exception):
    """A query that did not return a result; ``unavailable`` tells an outage from a bad query."""

    def __init__(self, message: str, unavailable: bool) -> None:
        super().__init__(message)
        self.unavailable = unavailable


class Prometheus:
    def __init__(self, url: str, timeout: float = 5.0, retries: int = 2, backoff: float = 0.25,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self.retries, self.backoff = retries, backoff
        self._client = httpx.AsyncClient(base_url=self.url, timeout=timeout, transport=transport)

    async def close(self) -> None:
        await self._client.aclose()

    async def _get(self, path: str, params: dict) -> dict:
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = await self._client.get(path, params=params)
            except httpx.HTTPError as error:
                last = f"Prometheus at {self.url} unreachable: {type(error).__name__}: {error}".rstrip(": ")
                continue
            if response.status_code >= 500:
                last = f"Prometheus at {self.url} answered {response.status_code}"
                continue
            try:
                body = response.json()
            except ValueError:
                raise PrometheusError(f"Prometheus at {self.url} answered {response.status_code} without JSON", True) from None
            if body.get("status") != "success":
                raise PrometheusError(body.get("error") or f"Prometheus answered {response.status_code}", unavailable=False)
            return body["data"]
        raise PrometheusError(last, unavailable=True)

    async def query(self, expr: str, at: float) -> list[Sample]:
        """The instant vector (or scalar) of ``expr`` at Unix time ``at``."""
        data = await self._get("/api/v1/query", {"query": expr, "time": f"{at:.3f}"})
        kind, result = data.get("resultType"), data.get("result")
        if kind == "vector":
            return [Sample(item["metric"], float(item["value"][1])) for item in result]
        if kind == "scalar":
            value = float(result[1])
            return [] if math.isnan(value) else [Sample({}, value)]
        raise PrometheusError(f"expression returns a {kind}, not an instant vector", unavailable=False)

    async def check(self, expr: str) -> str | None:
        """None if Prometheus parses ``expr``, else its parse error. Raises PrometheusError if unreachable."""
        try:
            await self._get("/api/v1/format_query", {"query": expr})
        except PrometheusError as error:
            if error.unavailable:
                raise
            return str(error).removeprefix('invalid parameter "query": ')
        return None
