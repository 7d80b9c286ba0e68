"""Errors as JSON that says what is wrong, and never echoes the input.

FastAPI's default validation handler returns the offending input; a NaN in it
makes that handler fail with a 500. These handlers report location and reason
only, keep the headers an error carries (``Allow`` on a 405), and answer an
unexpected failure with the same JSON body instead of Starlette's plain text.
"""

from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

# pydantic-core's JSON parser refuses deeper nesting (its recursion limit).
MAX_JSON_DEPTH = 200


class ErrorBody(BaseModel):
    """Every error answer's body."""

    error: str = Field(description="what kind of problem, e.g. body_too_large")
    message: str = Field(description="what is wrong, in words; never the input")
    details: list[dict] = Field(default_factory=list, description="where, for validation errors")


_MEANINGS = {400: "malformed or refused input (the message names the limit or field)", 401: "no bearer token",
             403: "wrong token, or changes disabled", 404: "no such resource", 409: "conflicts with the service's state",
             413: "request body over the limit", 422: "a parameter or field fails the schema",
             503: "a backend the answer needs is unavailable"}


def error_responses(*statuses: int) -> dict[int | str, dict]:
    """OpenAPI ``responses`` for a route's error statuses, each with the error body's schema."""
    return {status: {"model": ErrorBody, "description": _MEANINGS[status]} for status in statuses}


class ClientError(Exception):
    """A request the API refuses, with its HTTP status and a short error kind."""

    def __init__(self, status: int, error: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.headers = status, error, message, headers


def error_response(status: int, error: str, message: str, details: list | None = None,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    body = {"error": error, "message": message, "details": details or []}
    return JSONResponse(body, status_code=status, headers=headers)


def _describe(err: dict) -> dict:
    loc = [part for part in err.get("loc", ()) if part != "body"]
    return {"loc": loc, "type": err.get("type", ""), "msg": err.get("msg", "")}


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        reason = errors[0].get("ctx", {}).get("error", "")
        if "recursion limit" in reason:
            return error_response(400, "json_too_deep", f"request body nests deeper than the limit of {MAX_JSON_DEPTH} levels")
        return error_response(400, "malformed_json", f"request body is not valid JSON: {reason}".rstrip(": "))
    details = [_describe(err) for err in errors[:20]]
    first = details[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return error_response(422, "invalid_request", f"{where}: {first['msg']}", details)


async def _client_error(request: Request, exc: ClientError) -> JSONResponse:
    return error_response(exc.status, exc.error, exc.message, headers=exc.headers)


_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _allowed_methods(request: Request) -> str:
    """Every method the OpenAPI document gives this path. Starlette's own ``Allow`` lists only the
    first route that matched the path, so GET /rules/{name} hid PUT and DELETE on the same path."""
    table = getattr(request.app.state, "allowed_methods", None)
    if table is None:
        table = request.app.state.allowed_methods = [
            (compile_path(path)[0], {method.upper() for method in item if method in _METHODS})
            for path, item in request.app.openapi().get("paths", {}).items()]
    methods = set().union(*(methods for pattern, methods in table if pattern.match(request.url.path)))
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    error = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and (allowed := _allowed_methods(request)):
        headers["Allow"] = allowed
    return error_response(exc.status_code, error, str(exc.detail), headers=headers or None)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette still re-raises after this response, so the failure is logged and traced.
    return error_response(500, "internal_error", "the server failed to handle this request")


def install_error_handlers(app: FastAPI) -> None:
    # Starlette types every handler as taking Exception; each of these takes the class it is registered for.
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(ClientError, _client_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _internal_error)
