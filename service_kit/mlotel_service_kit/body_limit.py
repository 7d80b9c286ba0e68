"""Reading a request body up to a limit, refused with the APIs' JSON 413 (``api_errors``).

A route that reads its body calls this instead of ``request.body()``: the limit is
checked against ``Content-Length`` before anything is read, and counted as a
chunked body arrives, so nothing past it is ever held. Per route, not as a
middleware: the alert-rule service takes 64 KiB rules and 1 MiB webhooks.
(FastAPI's route-level ``max_body_size`` answers in plain text.)
"""

from fastapi import Request

from mlotel_backends.api_errors import ClientError


async def bounded_body(request: Request, max_bytes: int) -> bytes:
    too_large = ClientError(413, "body_too_large", f"request body is over the limit of {max_bytes} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise too_large
    return bytes(body)
