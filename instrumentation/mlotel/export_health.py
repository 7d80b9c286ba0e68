"""Whether this process's telemetry is getting out: what a health endpoint reports.

mlotel's span exporters (both pipelines, :mod:`mlotel.export_size` and
:mod:`mlotel.fastpath.span_encoding`) record each export request's outcome
here, and :func:`telemetry_health` adds what was dropped before export
(measurements turned away by the fast path's full queue, whose count
:func:`~mlotel.setup_telemetry` hands over when it installs the queue). It is per process,
as the exports are: each worker of ``uvicorn --workers N`` reports its own.

Meant for a body, not a verdict on the app: a collector that is down makes
``status`` ``"failing"`` while the app goes on serving, since telemetry never
stops a request. Metric export is not tracked (the SDK's metric reader offers
no public hook on its exporter's result); it goes to the same collector as
the spans in every deployment of this project.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class _Exports:
    exported: int = 0
    failed: int = 0
    consecutive_failures: int = 0
    last_success: float | None = None  # time.time()
    last_failure: float | None = None


class ExportHealth:
    """Outcomes of export requests, per signal; thread-safe (exports run in the SDK's worker threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._signals: dict[str, _Exports] = {}
        self._measurements_dropped: Callable[[], int] | None = None

    def record(self, signal: str, ok: bool, items: int) -> None:
        now = time.time()
        with self._lock:
            exports = self._signals.setdefault(signal, _Exports())
            if ok:
                exports.exported += items
                exports.consecutive_failures = 0
                exports.last_success = now
            else:
                exports.failed += items
                exports.consecutive_failures += 1
                exports.last_failure = now

    def snapshot(self) -> dict[str, dict[str, Any]]:
        now = time.time()
        with self._lock:
            return {
                signal: {
                    "status": "failing" if e.consecutive_failures else "ok",
                    "exported": e.exported,
                    "failed": e.failed,
                    "consecutive_failed_exports": e.consecutive_failures,
                    "seconds_since_success": None if e.last_success is None else round(now - e.last_success, 1),
                    "seconds_since_failure": None if e.last_failure is None else round(now - e.last_failure, 1),
                }
                for signal, e in self._signals.items()
            }

    def count_dropped_measurements(self, dropped: Callable[[], int] | None) -> None:
        """Where to read the number of measurements dropped (the fast path's queue); None: nothing drops them."""
        self._measurements_dropped = dropped

    def measurements_dropped(self) -> int:
        return self._measurements_dropped() if self._measurements_dropped is not None else 0

    def reset(self) -> None:
        with self._lock:
            self._signals.clear()
        self._measurements_dropped = None


EXPORT_HEALTH = ExportHealth()


def telemetry_health() -> dict[str, Any]:
    """This process's telemetry, per signal and in all, and what was dropped.

    ``status`` is ``"failing"`` when the last export of a signal failed,
    ``"idle"`` before anything was exported, else ``"ok"``.
    """
    signals = EXPORT_HEALTH.snapshot()
    dropped = EXPORT_HEALTH.measurements_dropped()
    if any(s["status"] == "failing" for s in signals.values()):
        status = "failing"
    else:
        status = "ok" if signals else "idle"
    return {"status": status, "exports": signals, "measurements_dropped": dropped}
