"""``python -m benchmarks.part_costs``: what each part of telemetry costs in the running server, in CPU time a call.

``benchmarks/instructions.py`` and ``benchmarks/request_path.py`` count a
part's instructions in a loop, where its code and data stay in the caches.
In the server under wrk, between the app's own code, a part runs cold, once
per request, and its time follows the distinct code and objects it touches,
each cold, more than its instructions: a prediction id that
takes 0.7 µs in a loop took ~7 µs here (``docs/performance.md``, "Parts in
place"). This times them where they run: the ML API under the same load as
``benchmarks/overhead.py`` (``mlotel`` mode), each chosen function wrapped by
a timer that reads its thread's CPU clock (``CLOCK_THREAD_CPUTIME_ID``: time
waiting for the GIL or switched out is not counted) around the call.

Printed per part: calls per request and CPU µs a call, inclusive of what it
calls (a part inside another is counted in both). The timer costs something
itself, cold too: ``probe``, an empty function timed the same way once a
request (before ``Prediction.set_results``), estimates it, and ``net`` takes
it off. Compare a part's figure with itself before and after a change, runs
alternated; a change shows when it is larger than the run-to-run spread of
the probe. Parts are ``module:Class.method`` (looked up at call time, so a
method that the code binds once at start-up is still timed).
"""

from __future__ import annotations

import argparse
import collections
import functools
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from benchmarks.overhead import run_wrk, start_receiver, stop
from harness.processes import ROOT, free_port, wait_healthy

PARTS = (
    "mlotel.http_attributes:HttpAttributes.head",
    "mlotel.http_attributes:HttpAttributes.outcome",
    "mlotel.fastpath.lean_spans:LeanTracer.start_span",
    "mlotel.prediction:Prediction.__enter__",
    "mlotel.prediction:Prediction.__exit__",
    "mlotel.prediction:Prediction.stage",
    "mlotel.prediction:_Stage.__enter__",
    "mlotel.prediction:_Stage.__exit__",
    "mlotel.prediction:Prediction.observe_features",
    "mlotel.prediction:Prediction.prediction_ids",
    "mlotel.recorder:PredictionRecorder._summary",
    "mlotel.recorder:PredictionRecorder._record_success",
    "mlotel.fastpath.measurements:MeasurementQueue.force_flush",
)
PROBE = "probe"
_ENV = "MLOTEL_BENCH_TIMED_PARTS"
_ROUTE = "/_bench/parts"


def _timed(name: str, function: Callable, totals: collections.Counter, calls: collections.Counter) -> Callable:
    clock = time.thread_time_ns

    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = clock()
        try:
            return function(*args, **kwargs)
        finally:
            totals[name] += clock() - start
            calls[name] += 1

    return timed


def time_part(part: str, totals: collections.Counter, calls: collections.Counter) -> None:
    """Replace ``module:Class.method`` (or ``module:function``) where it is defined with its timed self."""
    module, _, qualname = part.partition(":")
    owner: Any = importlib.import_module(module)
    *path, name = qualname.split(".")
    for step in path:
        owner = getattr(owner, step)
    setattr(owner, name, _timed(part, getattr(owner, name), totals, calls))


def timed_app() -> FastAPI:
    """The ML API with the parts in ``MLOTEL_BENCH_TIMED_PARTS`` timed, their totals served at ``/_bench/parts``."""
    from mlotel.prediction import Prediction
    from mlotel_model_server.main import create_app

    totals: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    for part in filter(None, os.environ.get(_ENV, "").split(",")):
        time_part(part, totals, calls)
    probe = _timed(PROBE, lambda: None, totals, calls)
    set_results = Prediction.set_results

    def probed_set_results(self: Prediction, labels: Any, confidences: Any) -> None:
        probe()
        set_results(self, labels, confidences)

    Prediction.set_results = probed_set_results  # type: ignore[method-assign]
    app = create_app()
    # Added before the first request builds the middleware stack: this route is traced like any other.
    app.add_api_route(_ROUTE, lambda: {"totals_ns": dict(totals), "calls": dict(calls)}, methods=["GET"])
    return app


def _read(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{_ROUTE}", timeout=30) as response:
        return json.load(response)


def run(parts: list[str], args: argparse.Namespace, workdir: Path) -> dict[str, tuple[float, float]]:
    """One server under wrk: per part, (calls per request, CPU µs a call)."""
    receiver, ports = start_receiver(workdir)
    port = free_port()
    env = {**os.environ, _ENV: ",".join(parts), "MLOTEL_FASTPATH": "true", "OTEL_TRACES_SAMPLER": "always_on",
           "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{ports['grpc_port']}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "benchmarks.part_costs:timed_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log", "--log-level", "warning"],
        cwd=ROOT, env=env, stderr=open(workdir / "part_costs.log", "a"),
    )
    url = f"http://127.0.0.1:{port}/predict"
    try:
        wait_healthy(f"http://127.0.0.1:{port}/health", timeout=180, process=server)
        run_wrk(url, args.warmup, args.connections, workdir)
        before = _read(port)
        requests = run_wrk(url, args.seconds, args.connections, workdir)["requests"]
        after = _read(port)
    finally:
        stop(server)
        stop(receiver)
    costs = {}
    for part in [*parts, PROBE]:
        calls = after["calls"].get(part, 0) - before["calls"].get(part, 0)
        nanoseconds = after["totals_ns"].get(part, 0) - before["totals_ns"].get(part, 0)
        costs[part] = (calls / max(requests, 1), nanoseconds / max(calls, 1) / 1e3)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.part_costs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated module:Class.method")
    parser.add_argument("--runs", type=int, default=3, help="servers run one after another; medians are printed")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        runs = [run(parts, args, Path(tmp)) for _ in range(args.runs)]
    probe = statistics.median(each[PROBE][1] for each in runs)
    print(f"{'part':<62} {'calls/req':>9} {'µs/call':>8} {'net':>6} {'range':>11}")
    for part in [*parts, PROBE]:
        per_call = [each[part][1] for each in runs]
        median = statistics.median(per_call)
        net = "-" if part == PROBE else f"{median - probe:6.2f}"
        print(f"{part:<62} {statistics.median(each[part][0] for each in runs):9.2f} {median:8.2f} {net:>6}"
              f" {min(per_call):5.2f}-{max(per_call):<5.2f}")
    print(f"\nmedians of {args.runs} runs of {args.seconds} s under wrk ({args.connections} connections), "
          f"{os.cpu_count()} CPUs; µs/call: the calling thread's CPU time (inclusive), net: less the probe's "
          "(the timer's own cost, cold, once a request)")


if __name__ == "__main__":
    main()
