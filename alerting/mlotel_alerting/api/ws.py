"""``WS /ws/alerts``: the active alerts on connect, then every state change as it happens."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from mlotel_alerting.api.views import alert_view

router = APIRouter(tags=["alerts"])


@router.websocket("/ws/alerts")
async def alert_stream(websocket: WebSocket) -> None:
    engine = websocket.app.state.engine
    await websocket.accept()
    queue = engine.hub.subscribe()
    try:
        active = [alert_view(alert) for state in engine.states.values() for alert in state.active()]
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
