"""What the loaders share: concurrent queries where one backend's failure is that panel's banner."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from mlotel_backends.errors import BackendError


async def gather(*queries: Awaitable) -> list:
    """Each query's result, or its BackendError in its place so the other panels still render;
    any other exception is a bug and propagates."""
    results = await asyncio.gather(*queries, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, BackendError):
            raise result
    return results
