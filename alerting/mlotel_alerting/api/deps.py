"""What the routes need: the engine, and the bearer token for changes."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mlotel_alerting.engine import Engine
from mlotel_alerting.limits import MAX_NAME_LENGTH
from mlotel_alerting.rules import NAME
from mlotel_service_kit.api_errors import ClientError

_bearer = HTTPBearer(auto_error=False, description="ALERTING_API_TOKEN")


async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


async def require_token(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    """401 without a bearer token, 403 with a wrong one (compared in constant time; never logged)."""
    if credentials is None:
        raise ClientError(401, "unauthorized", "this call changes state: send 'Authorization: Bearer <ALERTING_API_TOKEN>'",
                          headers={"WWW-Authenticate": "Bearer"})
    expected = request.app.state.engine.settings.api_token
    if expected is None or not expected.get_secret_value():
        raise ClientError(403, "forbidden", "changes are disabled: the service was started without ALERTING_API_TOKEN")
    if not hmac.compare_digest(credentials.credentials.encode(), expected.get_secret_value().encode()):
        raise ClientError(403, "forbidden", "wrong token")


EngineDep = Annotated[Engine, Depends(get_engine)]
TokenDep = Depends(require_token)
RuleName = Annotated[str, Path(pattern=f"^{NAME.pattern}$", max_length=MAX_NAME_LENGTH, description="the rule's name")]


def known_rule(engine: Engine, name: str) -> None:
    """404 for a rule the service does not hold (the message never repeats the name)."""
    if not engine.known(name):
        raise ClientError(404, "unknown_rule", "no rule of that name; GET /rules lists them")
