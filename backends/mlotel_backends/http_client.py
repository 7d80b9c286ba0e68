"""What every backend client is: an httpx async client bound to one base URL."""

from __future__ import annotations

import httpx


class HttpClient:
    def __init__(self, url: str, timeout: float = 5.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.AsyncClient(base_url=self.url, timeout=timeout, transport=transport)

    async def close(self) -> None:
        await self._client.aclose()
