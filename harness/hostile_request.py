"""One hostile request sent while ``/health`` is probed: the hostile-input suites' common measure."""

from __future__ import annotations

import threading
import time

import httpx

HEALTH_SECONDS = 1.0  # no hostile request may keep /health from answering longer than this


def send_while_probing_health(base: str, method: str, path: str, timeout: float = 60.0,
                              **request) -> tuple[httpx.Response, float, float]:
    """The hostile request from a thread, ``/health`` probed until it returns.

    Returns (response, the request's seconds, the slowest ``/health`` answer meanwhile)."""
    result: dict = {}

    def hostile() -> None:
        started = time.perf_counter()
        with httpx.Client(timeout=timeout) as client:
            result["response"] = client.request(method, f"{base}{path}", **request)
        result["seconds"] = time.perf_counter() - started

    thread = threading.Thread(target=hostile)
    thread.start()
    slowest = 0.0
    with httpx.Client(timeout=HEALTH_SECONDS * 5) as client:
        while thread.is_alive():
            started = time.perf_counter()
            assert client.get(f"{base}/health").status_code == 200
            slowest = max(slowest, time.perf_counter() - started)
            time.sleep(0.02)
    thread.join()
    return result["response"], result["seconds"], slowest
