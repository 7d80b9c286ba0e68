"""``WS /ws/alerts``: the active alerts on connect, then every state change as it happens.

A browser sends ``Origin`` with every WebSocket handshake and, unlike for
``fetch``, enforces nothing itself: any page could read the alerts. A handshake
whose Origin is neither this service's own, the console's, nor one of
``ALERTING_ALLOWED_ORIGINS`` is refused (HTTP 403). Clients that are not
browsers send no Origin and are let in, as for the rest of the read API.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from mlotel_alerting.api.views import alert_view

router = APIRouter(tags=["alerts"])


def _origin(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}".lower()


def origin_allowed(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    settings = websocket.app.state.engine.settings
    own = {f"{scheme}://{websocket.headers.get('host', '')}".lower() for scheme in ("http", "https")}
    allowed = own | {_origin(url) for url in [settings.console_url, settings.external_url, *settings.allowed_origins]}
    return origin.strip().lower() in allowed


@router.websocket("/ws/alerts")
async def alert_stream(websocket: WebSocket) -> None:
    if not origin_allowed(websocket):
        await websocket.close(code=1008)  # before accept: the handshake is answered 403
        return
    engine = websocket.app.state.engine
    await websocket.accept()
    queue = engine.hub.subscribe()
    try:
        active = [alert_view(alert, engine.trace_url(alert.rule, alert.labels, alert.value)) for state in engine.states.values()
                  for alert in state.active()]
        await websocket.send_json({"type": "snapshot", "alerts": active})
        while True:
            message = await queue.get()
            await websocket.send_json(message)
            if message["type"] == "overflow":
                await websocket.close(code=1013)
                return
    except WebSocketDisconnect:
        pass
    finally:
        engine.hub.unsubscribe(queue)
