"""``/notifications``: Alertmanager's webhook lands here, and what it delivered is listed.

Alertmanager's ``webhook_configs`` posts with ``http_config.authorization``
(``type: Bearer``, the service's ``ALERTING_API_TOKEN``). The store is a SQLite file
next to the service's database (``<db_path stem>-notifications.sqlite3``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from mlotel_alerting.api.deps import TokenDep
from mlotel_alerting.notifications import NotificationStore, WebhookPayload
from mlotel_service_kit.api_errors import ClientError, error_responses

MAX_BODY_BYTES = 1024 * 1024
"""Largest webhook body accepted (413 above, by main.py's BodySizeLimit): a full group of alerts fits many times over."""


def store_path(db_path: Path) -> Path | str:
    return ":memory:" if str(db_path) == ":memory:" else db_path.with_name(f"{db_path.stem}-notifications.sqlite3")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Nested in the app's lifespan, which has built the engine and its settings.
    app.state.notifications = NotificationStore(store_path(app.state.engine.settings.db_path))
    try:
        yield
    finally:
        app.state.notifications.close()


router = APIRouter(prefix="/notifications", tags=["notifications"], lifespan=_lifespan)


def get_store(request: Request) -> NotificationStore:
    return request.app.state.notifications


StoreDep = Annotated[NotificationStore, Depends(get_store)]


def _time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


# The payload's real schema, so that schema fuzzing sends payloads; main.py adds the models it refers to.
_PAYLOAD_SCHEMA = WebhookPayload.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
SCHEMAS = {**_PAYLOAD_SCHEMA.pop("$defs", {}), "WebhookPayload": _PAYLOAD_SCHEMA}
_WEBHOOK_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/WebhookPayload"}}}}}


@router.post("", dependencies=[TokenDep], openapi_extra=_WEBHOOK_BODY, responses=error_responses(400, 401, 403, 413, 422))
async def receive(request: Request, store: StoreDep) -> dict:
    """Alertmanager's webhook: keep each alert once per episode and status; repeats are counted."""
    body = await request.body()
    try:
        payload = WebhookPayload.model_validate_json(body)
    except ValidationError as error:
        first = error.errors(include_input=False, include_url=False)[0]
        if first["type"] == "json_invalid":
            raise ClientError(400, "malformed_json", "request body is not valid JSON") from None
        # Past the field name a location holds the payload's own label names: left out, never echoed.
        where = ".".join(str(part) for part in first["loc"][:3]) or "body"
        raise ClientError(422, "invalid_notification", f"not an Alertmanager webhook payload (version 4): {where}: "
                          f"{first['msg']}") from None
    new, repeated = await run_in_threadpool(store.record, payload)
    return {"received": len(payload.alerts), "new": new, "repeated": repeated}


@router.get("", responses=error_responses(422))
def list_notifications(
        store: StoreDep, status: Literal["firing", "resolved"] | None = None, alertname: str | None = None,
        since: datetime | float | None = Query(None, description="RFC 3339 time or Unix seconds"),
        limit: int = Query(100, ge=1, le=1000)) -> list[dict]:
    """What Alertmanager delivered, newest first: one entry per alert episode and status."""
    rows = store.list(status, alertname, since.timestamp() if isinstance(since, datetime) else since, limit)
    return [{**row, "received_at": _time(row["received_at"]), "last_received_at": _time(row["last_received_at"])}
            for row in rows]
