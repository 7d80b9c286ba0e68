"""Refuses request bodies over a size limit, with the APIs' JSON error (``api_errors``).

Starlette's own ``RequestBodyLimitMiddleware`` answers in plain text and
replaces any response once the limit is crossed, which breaks the JSON error
contract; this one checks Content-Length up front and counts chunked bodies
as they arrive, raising an HTTPException that the API's handlers render.
(The ML API has its own copy, ``mlotel_model_server.body_limit``, from before
this shared one.)
"""

from starlette.exceptions import HTTPException

from mlotel_backends.api_errors import error_response


def _message(max_bytes: int) -> str:
    return f"request body is over the limit of {max_bytes} bytes"


class BodySizeLimit:
    def __init__(self, app, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                response = error_response(413, "body_too_large", _message(self.max_bytes))
                await response(scope, receive, send)
                return
        received = 0

        async def counting_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # An HTTPException, so that FastAPI passes it to the error handlers unchanged.
                raise HTTPException(413, _message(self.max_bytes))
            return message

        await self.app(scope, counting_receive, send)
