"""``python -m benchmarks.part_costs``: what each part of telemetry costs in the running server, in CPU time a call.

``benchmarks/instructions.py`` and ``benchmarks/request_path.py`` count a
part's instructions in a loop, where its code and data stay in the caches.
In the server under wrk, between the app's own code, a part runs cold, once
per request, and its time follows the distinct code and objects it touches,
each cold, more than its instructions: a prediction id that
takes 0.7 µs in a loop took 7–10 µs here (``docs/performance.md``, "Parts in
place"). This times them where they run: the ML API under the same load as
``benchmarks/overhead.py`` (``mlotel`` mode), each chosen function wrapped by
a timer that reads its thread's CPU clock (``CLOCK_THREAD_CPUTIME_ID``: time
waiting for the GIL or switched out is not counted) around the call.

Printed per part: calls per request and CPU µs a call, inclusive of what it
calls (a part inside another is counted in both). The timer costs something
itself, cold too: ``probe``, an empty function timed the same way once a
request (before ``Prediction.set_results``), estimates it, and ``net`` takes
one off; a part with timed parts inside it also carries their timers, one
probe each (``Prediction.__exit__``: three). Compare a part's figure with
itself before and after a change, runs alternated; a change shows when it
is larger than the run-to-run spread. Parts are ``module:Class.method`` or
``module:function``, replaced where they are defined before the app is
built, so that what the middleware and the recorder bind at start-up is
bound timed; a part never called (a function another module imported by
name first) is flagged.
"""

from __future__ import annotations

import argparse
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

# What docs/performance.md quotes ("Parts in place"). Nested parts: Prediction.__enter__ holds a span's start,
# __exit__ the summary, the measurements and a span's end, each with its timer.
PARTS = (
    "mlotel.http_attributes:HttpAttributes.head",
    "mlotel.http_attributes:HttpAttributes.outcome",
    "mlotel.fastpath.lean_spans:LeanTracer.start_span",
    "mlotel.fastpath.lean_span:finish",
    "mlotel.fastpath.lean_span:traceresponse",
    "mlotel.prediction:Prediction.__enter__",
    "mlotel.prediction:Prediction.__exit__",
    "mlotel.prediction:Prediction.stage",
    "mlotel.prediction:_Stage.__enter__",
    "mlotel.prediction:_Stage.__exit__",
    "mlotel.feature_drift:FeatureCounts.observe",
    "mlotel.prediction_ids:PredictionIds.issue",
    "mlotel.recorder:PredictionRecorder._summary",
    "mlotel.recorder:PredictionRecorder._record_success",
    "mlotel.fastpath.span_encoding:GrpcSpanExporter.export",
    "mlotel.fastpath.measurements:MeasurementQueue.force_flush",
)
PROBE = "probe"
_ENV = "MLOTEL_BENCH_TIMED_PARTS"
_ROUTE = "/_bench/parts"


class Timings:
    """Each part's calls, as the CPU nanoseconds each took; appended from any thread (``list.append`` is atomic)."""

    def __init__(self, parts: list[str]) -> None:
        self._taken: dict[str, list[int]] = {part: [] for part in parts}

    def timed(self, part: str, function: Callable) -> Callable:
        clock, taken = time.thread_time_ns, self._taken[part]

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            try:
                return function(*args, **kwargs)
            finally:
                taken.append(clock() - start)

        return timed

    def totals(self) -> dict[str, tuple[int, int]]:
        """Per part, (calls, CPU nanoseconds) so far."""
        return {part: (len(taken), sum(taken[:len(taken)])) for part, taken in self._taken.items()}


def resolve(part: str) -> tuple[Any, str]:
    """Where ``module:Class.method`` (or ``module:function``) is defined: its owner and its name there."""
    module, _, qualname = part.partition(":")
    owner: Any = importlib.import_module(module)
    *path, name = qualname.split(".")
    for step in path:
        owner = getattr(owner, step)
    getattr(owner, name)  # AttributeError now, with the part's name, rather than in the server
    return owner, name


def time_part(part: str, timings: Timings) -> None:
    """Replace the part where it is defined with its timed self.

    Done before the app is built: what the middleware and the recorder bind when they are
    made is bound timed. A function another module imported by name earlier is not
    replaced there: it is never called, and ``main`` says so.
    """
    owner, name = resolve(part)
    setattr(owner, name, timings.timed(part, getattr(owner, name)))


def timed_app() -> FastAPI:
    """The ML API with the parts in ``MLOTEL_BENCH_TIMED_PARTS`` timed, their totals served at ``/_bench/parts``."""
    from mlotel.prediction import Prediction
    from mlotel_model_server.main import create_app

    parts = [part for part in os.environ.get(_ENV, "").split(",") if part]
    timings = Timings([*parts, PROBE])
    for part in parts:
        time_part(part, timings)
    probe = timings.timed(PROBE, lambda: None)
    set_results = Prediction.set_results

    def probed_set_results(self: Prediction, labels: Any, confidences: Any) -> None:
        probe()
        set_results(self, labels, confidences)

    Prediction.set_results = probed_set_results  # type: ignore[method-assign]
    app = create_app()
    # Added before the first request builds the middleware stack: this route is traced like any other.
    app.add_api_route(_ROUTE, timings.totals, methods=["GET"])
    return app


def _read(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{_ROUTE}", timeout=30) as response:
        return json.load(response)


def run(parts: list[str], args: argparse.Namespace, workdir: Path) -> dict[str, tuple[float, float]]:
    """One server under wrk: per part, (calls per request, CPU µs a call)."""
    receiver, ports = start_receiver(workdir)
    port = free_port()
    # As benchmarks.overhead runs its mlotel mode (OTLP over gRPC).
    env = {**os.environ, _ENV: ",".join(parts), "MLOTEL_FASTPATH": "true", "OTEL_TRACES_SAMPLER": "always_on",
           "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
           "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{ports['grpc_port']}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "benchmarks.part_costs:timed_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log", "--log-level", "warning"],
        cwd=ROOT, env=env, stderr=open(workdir / "part_costs.log", "a"),
    )
    url = f"http://127.0.0.1:{port}/predict"
    try:
        try:
            wait_healthy(f"http://127.0.0.1:{port}/health", timeout=180, process=server)
        except Exception:
            sys.stderr.write((workdir / "part_costs.log").read_text()[-4000:])
            raise
        run_wrk(url, args.warmup, args.connections, workdir)
        before = _read(port)
        measured = run_wrk(url, args.seconds, args.connections, workdir)
        after = _read(port)
    finally:
        stop(server)
        stop(receiver)
    if measured["errors"]:
        raise RuntimeError(f"{measured['errors']} of wrk's requests failed: the figures would not be /predict's")
    costs = {}
    for part in [*parts, PROBE]:
        calls = after[part][0] - before[part][0]
        nanoseconds = after[part][1] - before[part][1]
        costs[part] = (calls / max(measured["requests"], 1), nanoseconds / max(calls, 1) / 1e3)
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
    for part in parts:
        resolve(part)
    with tempfile.TemporaryDirectory() as tmp:
        runs = [run(parts, args, Path(tmp)) for _ in range(args.runs)]
    probe = statistics.median(each[PROBE][1] for each in runs)
    print(f"{'part':<62} {'calls/req':>9} {'µs/call':>8} {'net':>8} {'range':>15} {'net µs/req':>10}")
    for part in [*parts, PROBE]:
        per_call = [each[part][1] for each in runs]
        median = statistics.median(per_call)
        calls = statistics.median(each[part][0] for each in runs)
        net = "-" if part == PROBE else f"{median - probe:8.2f}"
        per_request = "-" if part == PROBE else f"{calls * (median - probe):10.2f}"
        print(f"{part:<62} {calls:9.3f} {median:8.2f} {net:>8} {min(per_call):7.2f}-{max(per_call):<7.2f} {per_request:>10}"
              + ("  never called: bound or imported by name before it was timed?" if not calls else ""))
    print(f"\nmedians of {args.runs} runs of {args.seconds} s under wrk ({args.connections} connections), "
          f"{os.cpu_count()} CPUs; µs/call: the calling thread's CPU time (inclusive), net: less the probe's "
          "(the timer's own cost, cold, once a request; a part also carries the timers of timed parts inside it); "
          "net µs/req: net times calls a request. The figures move a little with what else is timed: "
          "each timer is cold code too")


if __name__ == "__main__":
    main()
