"""What every backend client is: an httpx async client bound to one base URL."""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx

from mlotel_backends.errors import BackendError


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client: loading the CA bundle takes ~50 ms, and the console makes four clients a page."""
    return httpx.create_ssl_context()


class HttpClient:
    error: type[BackendError] = BackendError
    """What this client raises; a subclass names its backend's own."""

    def __init__(self, url: str, timeout: float = 5.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.AsyncClient(base_url=self.url, timeout=timeout, transport=transport, verify=_tls())

    async def close(self) -> None:
        await self._client.aclose()

    def _json(self, response: httpx.Response) -> Any:
        """The answer's JSON; an answer that is none (a proxy's error page, a placeholder) is the backend's error."""
        try:
            return response.json()
        except ValueError:
            raise self.error(f"{self.url} answered {response.status_code} without JSON") from None
