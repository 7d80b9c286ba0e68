"""A small Prometheus HTTP API client: instant and range queries, exemplars and
expression checks, with a timeout per request and retries with backoff for
transient failures."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Any

import httpx

from mlotel_backends.errors import BackendError
from mlotel_backends.http_client import HttpClient


@dataclass(frozen=True)
class Sample:
    """One series of an instant vector: its labels and value."""

    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Series:
    """One series of a range query: its labels and (Unix time, value) points."""

    labels: dict[str, str]
    points: list[tuple[float, float]]


@dataclass(frozen=True)
class Exemplar:
    """A measurement that points at its trace: the series' labels, the exemplar's own labels (trace_id), value and time."""

    series: dict[str, str]
    labels: dict[str, str]
    value: float
    at: float


class PrometheusError(BackendError):
    """A query that did not return a result; ``unavailable`` tells an outage from a bad query."""


class Prometheus(HttpClient):
    def __init__(self, url: str, timeout: float = 5.0, retries: int = 2, backoff: float = 0.25,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(url, timeout, transport)
        self.retries, self.backoff = retries, backoff

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
        kind = data.get("resultType")
        result: Any = data.get("result")
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

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        """The matrix of ``expr`` from ``start`` to ``end`` (Unix times), one point per ``step`` seconds."""
        data = await self._get("/api/v1/query_range",
                               {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"})
        if data.get("resultType") != "matrix":
            raise PrometheusError(f"range query returned a {data.get('resultType')}, not a matrix", unavailable=False)
        return [Series(item["metric"], [(float(t), float(v)) for t, v in item["values"]]) for item in data["result"]]

    async def exemplars(self, expr: str, start: float, end: float) -> list[Exemplar]:
        """Exemplars stored for the series of ``expr`` between ``start`` and ``end``."""
        data = await self._get("/api/v1/query_exemplars", {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}"})
        return [Exemplar(group["seriesLabels"], e["labels"], float(e["value"]), float(e["timestamp"]))
                for group in data or [] for e in group.get("exemplars", [])]
