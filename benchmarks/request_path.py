"""``python -m benchmarks.request_path``: what mlotel's request path costs, part by part, in instructions.

``benchmarks/instructions.py`` counts a whole ``/predict`` with and without
telemetry; this counts the parts of telemetry that run on the request itself,
each in a loop of its own under callgrind, so that a change to one of them
shows in its own figure (to ~1 k instructions) within a quarter of a minute:

- ``request``: the middleware and a prediction recorded inside it, around an
  app that does nothing else (three stages, one result, one prediction id);
- ``middleware``: the middleware around an app that only answers (``app``,
  counted last, is that app alone: the middleware's own work, its span's
  included, is the difference);
- ``prediction``: the recorder's ``with recorder.predict(...)`` block alone;
- ``span``: one span started with two attributes and ended;
- ``context``: a span made current and the context restored;
- ``prediction-id``: one signed id.

Telemetry as ``benchmarks/instructions.py`` sets it up (fast path per
``MLOTEL_FASTPATH``, spans to a batch processor whose exporter sends nothing,
metrics recorded and not exported), measurements recorded every 50 calls as
there. A loop's own cost and callgrind's switching, counted by an empty case,
are taken off every figure.

Compare a part's figure only with that part counted in the same company:
the parts run one after the other in one process, and a part counted alone
counts more (``--parts span`` 77 k against 40 k after the others, with every
part warmed up first or not; memory the spans first take is the suspect, not
pinned down). The default, every part, is what the docs quote.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlotel_contract as contract
from harness.processes import ROOT

RECORDED_EVERY = 50
# "app" last: a part counted after the others leaves their figures as they were (the module docstring).
PARTS = ("request", "middleware", "prediction", "span", "context", "prediction-id", "app")


def _cases() -> dict[str, Callable[[], Any]]:
    """The parts, as functions of no argument, with telemetry set up."""
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    from mlotel import PredictionRecorder, TelemetryConfig, setup_telemetry
    from mlotel.middleware import TelemetryMiddleware
    from mlotel.request_path import context_setters

    class Nowhere(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    config = TelemetryConfig.from_env()
    setup_telemetry(config, span_processors=[BatchSpanProcessor(Nowhere(), schedule_delay_millis=3_600_000)],
                    metric_readers=[InMemoryMetricReader()])
    recorder = PredictionRecorder(config)

    def prediction() -> None:
        with recorder.predict("iris", "1", batch_size=1) as under_way:
            with under_way.stage("preprocess"):
                pass
            with under_way.stage("inference"):
                pass
            under_way.set_results([1], [0.9])
            with under_way.stage("postprocess"):
                under_way.prediction_ids()

    def app(predicting: bool) -> Callable[..., Any]:
        async def answer(scope: Any, receive: Any, send: Any) -> None:
            if predicting:
                prediction()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})
        return answer

    class Route:
        path_format = "/predict"

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/predict", "raw_path": b"/predict", "query_string": b"", "root_path": "", "route": Route(),
        "headers": [(b"host", b"127.0.0.1"), (b"user-agent", b"python-httpx/0.28.1"),
                    (b"content-type", b"application/json"), (b"content-length", b"40")],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }

    async def send(message: Any) -> None:
        pass

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    def served(asgi: Callable[..., Any]) -> Callable[[], None]:
        def one() -> None:
            try:  # nothing in it waits: one step runs the request to its end
                asgi(dict(scope), receive, send).send(None)
            except StopIteration:
                pass
        return one

    tracer = recorder.tracer
    attach, detach = context_setters(config)
    span = tracer.start_span("made current")
    ids = recorder.prediction_ids
    return {
        "empty": lambda: None,
        "request": served(TelemetryMiddleware(app(predicting=True), config)),
        "middleware": served(TelemetryMiddleware(app(predicting=False), config)),
        "prediction": prediction,
        "span": lambda: tracer.start_span("predict iris", attributes={contract.ATTR_MODEL_NAME: "iris", "n": 1}).end(),
        "context": lambda: detach(attach(span)),
        "prediction-id": lambda: ids.issue("iris", "1", [1], [0.9]),
        "app": served(app(predicting=False)),
    }


def _child(calls: int, parts: list[str]) -> None:
    from benchmarks.instructions import _callgrind_instrumentation
    from mlotel.fastpath import measurements

    cases = _cases()
    # As the model server does once started: what set-up made is left out of full collections, which
    # otherwise walk it whenever enough objects outlive a young one (and weigh on whichever part runs then).
    gc.freeze()
    queue = measurements.installed()
    if queue is not None:
        queue._interval = 3600  # recorded below, every RECORDED_EVERY calls
    for name in ["empty", *parts]:
        case = cases[name]
        for _ in range(RECORDED_EVERY):  # warm-up: caches, first-use lookups
            case()
        if queue is not None:
            queue.force_flush()
        _callgrind_instrumentation("on")
        for index in range(1, calls + 1):
            case()
            if queue is not None and index % RECORDED_EVERY == 0:
                queue.force_flush()
        _callgrind_instrumentation("off")
        subprocess.run(["callgrind_control", "-d", name, str(os.getpid())], check=True, capture_output=True)


def dumps_counted(module: str, child_args: list[str]) -> tuple[dict[str, int], str]:
    """``python -m module *child_args`` under callgrind, counting only where the child switches counting on.

    With this benchmark's telemetry settings; what each ``callgrind_control -d
    NAME`` dump counted, by NAME, and what the child printed.
    """
    env = {"PYTHONHASHSEED": "0", **os.environ, "MLOTEL_STAGE_SPAN_THRESHOLD_MS": "3600000", "OTEL_TRACES_SAMPLER": "always_on",
           "MLOTEL_FEEDBACK_KEY": os.environ.get("MLOTEL_FEEDBACK_KEY", "request-path-benchmark")}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        result = subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}", sys.executable,
             "-m", module, *child_args],
            cwd=ROOT, env=env, capture_output=True, text=True,
        )
        if result.returncode != 0:
            sys.exit(f"the run under valgrind failed:\n{result.stderr[-3000:]}")
        counted = {}
        for dump in out.parent.glob(f"{out.name}.*"):
            text = dump.read_text()
            name = re.search(r"^desc: Trigger: dump (\S+)", text, re.M)
            total = re.search(r"^totals: (\d+)", text, re.M)
            if name and total:
                counted[name.group(1)] = int(total.group(1))
    return counted, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.request_path", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500, help="calls counted per part")
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated, of " + ", ".join(PARTS))
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    parts = [part for part in args.parts.split(",") if part]
    if args.child is not None:
        _child(args.child, parts)
        return
    dumps, _ = dumps_counted("benchmarks.request_path", ["--child", str(args.calls), "--parts", ",".join(parts)])
    counted = {name: total / args.calls for name, total in dumps.items()}
    empty = counted.pop("empty")
    print(f"instructions per call ({args.calls} calls each, {empty / 1e3:.1f} k of loop and switching taken off):")
    for part in parts:
        print(f"  {part:<14} {(counted[part] - empty) / 1e3:8.1f} k")


if __name__ == "__main__":
    main()
