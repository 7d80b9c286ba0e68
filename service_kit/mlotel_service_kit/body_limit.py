"""Refuses request bodies over a size limit with the APIs' JSON 413 (``api_errors``): the one
body limiter of both APIs, an ASGI middleware.

    app.add_middleware(BodySizeLimit, max_bytes=64 * 1024, paths={"/notifications": 1024 * 1024})

``Content-Length`` is checked before anything is read, and a chunked body is
counted as it arrives, so nothing past the limit is ever held. ``paths`` gives
a path (and what lies under it) a limit of its own: the alert-rule service takes
64 KiB rules but 1 MiB webhooks. Hand-written because Starlette's own
``RequestBodyLimitMiddleware`` and FastAPI's route-level ``max_body_size``
answer in plain text, which breaks the JSON error contract.
"""

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlotel_service_kit.api_errors import error_response


def _message(max_bytes: int) -> str:
    return f"request body is over the limit of {max_bytes} bytes"


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, paths: Mapping[str, int] | None = None) -> None:
        self.app, self.max_bytes = app, max_bytes
        # Longest prefix first, so /a/b's limit wins over /a's.
        self.paths = sorted((paths or {}).items(), key=lambda item: -len(item[0]))

    def limit(self, path: str) -> int:
        for prefix, max_bytes in self.paths:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return max_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit(scope["path"])
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > max_bytes:
                response = error_response(413, "body_too_large", _message(max_bytes))
                await response(scope, receive, send)
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > max_bytes:
                # An HTTPException, so that FastAPI passes it to the error handlers unchanged.
                raise HTTPException(413, _message(max_bytes))
            return message

        await self.app(scope, counting_receive, send)
