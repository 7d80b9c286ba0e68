"""Fan-out of alert state changes to WebSocket subscribers.

Each subscriber has a bounded queue; one that falls that far behind is cut
off (told why, and counted) rather than making the service buffer forever.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from mlotel_alerting.state import Transition, finite

QUEUE_SIZE = 1000


class Hub:
    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue] = set()
        self.dropped_subscribers = 0

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._subscribers.discard(queue)

    def publish(self, transitions: list[Transition]) -> None:
        for transition in transitions:
            message = {"type": "transition", **asdict(transition), "value": finite(transition.value)}
            for queue in list(self._subscribers):
                try:
                    queue.put_nowait(message)
                except asyncio.QueueFull:
                    self._subscribers.discard(queue)
                    self.dropped_subscribers += 1
                    queue.get_nowait()
                    queue.put_nowait({"type": "overflow", "message": f"more than {QUEUE_SIZE} changes behind; reconnect"})
