"""``python -m benchmarks.instructions``: what telemetry costs ``/predict``, in instructions.

The same request as ``benchmarks/overhead.py`` (fast model, one instance),
sent in process to the ASGI app, counted by valgrind's callgrind: the
instructions executed per request by every thread of the process, including
the batch span processor's export and the measurement thread's recording,
with telemetry off and on. Counts repeat to within ~0.5% from run to run on
these shared machines, where throughput moves by 5-10%, so a change of a
few percent in telemetry's cost shows here before it can show in req/s. It
is no substitute for ``overhead.py``: instructions are not time (C code
such as protobuf's runs more of them per nanosecond than the interpreter),
and nothing here loads the server concurrently.

Counting covers only the measured requests and the flush after them
(``callgrind_control -i on/off`` from inside); start-up and warm-up are not
counted. Under valgrind the process runs ~50 times slower, so work that
follows the clock is held off for the run: the span batch is exported at
the final flush, the metric reader does not collect, predictions are
kept under ``MLOTEL_STAGE_SPAN_THRESHOLD_MS`` (otherwise each would look slow
and emit its stage spans), and the measurement queue is recorded every
``QUEUE_RECORDED_EVERY`` requests rather than every 100 ms: on the clock, a
loaded machine recorded after every request or two, a quiet one after a few,
and the count moved with the machine's load (a server at 500 req/s records
50 requests' measurements at a time).

The metric export (the SDK's collection and the OTLP request, every series of
the process) is counted apart from the requests: its cost follows the number
of series, once per export interval (10 s by default), not the number of
requests. Spread over the 200 requests counted here, one export of the demo's
~400 series weighed as if the server exported every 0.2 s at 1,000 req/s. The
figure per request is the requests' part plus one export spread over the
requests of one interval at ``REFERENCE_RATE`` (1,000 req/s, what a fast model
server serves on this machine kind); both parts are printed, so the figure at
another rate can be worked out.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.overhead import BODY, start_receiver, stop
from harness.processes import ROOT
from mlotel.config import METRIC_EXPORT_INTERVAL_MS

HELD_OFF = {
    "OTEL_BSP_SCHEDULE_DELAY": "3600000",
    "OTEL_METRIC_EXPORT_INTERVAL": "3600000",
    "MLOTEL_STAGE_SPAN_THRESHOLD_MS": "3600000",
}
SERVER = "mlotel_model_server.main:create_app"
# mode -> (app factory, environment); mlotel-sklearn: predictions recorded by the scikit-learn instrumentor;
# mlotel-no-ids: mlotel with prediction ids left unsigned (the response carries null), to price the ids alone.
MODES = {
    "off": (SERVER, {"OTEL_SDK_DISABLED": "true"}),
    "no-drift": (SERVER, {"MLOTEL_DRIFT_FEATURES": "0"}),
    "mlotel": (SERVER, {}),
    "mlotel-sklearn": ("benchmarks.apps:sklearn_app", {}),
    "mlotel-no-ids": ("benchmarks.apps:without_ids_app", {}),
}
WARMUP_REQUESTS = 50
QUEUE_RECORDED_EVERY = 50
REFERENCE_RATE = 1_000  # requests per second over which one metric export is spread


def _callgrind_instrumentation(state: str) -> None:
    subprocess.run(["callgrind_control", "-i", state, str(os.getpid())], check=True, capture_output=True)


def _callgrind_dump() -> None:
    """Write what was counted so far to ``<out>.1`` and start counting from zero."""
    subprocess.run(["callgrind_control", "-d", str(os.getpid())], check=True, capture_output=True)


async def _drive(requests: int, factory: str) -> None:
    """In the child, under valgrind: warm up, then count ``requests`` requests and the flush."""
    module, _, name = factory.partition(":")
    app = getattr(importlib.import_module(module), name)()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/predict", "raw_path": b"/predict", "query_string": b"", "root_path": "",
        # A user agent, as every real client sends (the server span records it).
        "headers": [(b"host", b"127.0.0.1"), (b"user-agent", b"python-httpx/0.28.1"),
                    (b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }

    async def one() -> None:
        messages = [{"type": "http.request", "body": BODY.encode(), "more_body": False}]
        statuses = []

        async def receive():
            return messages.pop() if messages else await asyncio.Event().wait()

        async def send(message):
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(dict(scope), receive, send)
        if statuses != [200]:
            raise RuntimeError(f"/predict answered {statuses}")

    from mlotel.fastpath import measurements

    async with app.router.lifespan_context(app):
        queue = measurements.installed()
        if queue is not None:
            queue._interval = 3600  # its thread's next wait; recorded below instead, by the count of requests
        for _ in range(WARMUP_REQUESTS):
            await one()
        _flush()
        _callgrind_instrumentation("on")
        for index in range(1, requests + 1):
            await one()
            if queue is not None and index % QUEUE_RECORDED_EVERY == 0:
                queue.force_flush()
        _flush(metrics_too=False)  # the requests' spans exported, their measurements recorded
        _callgrind_dump()
        _flush()  # one metric export
        _callgrind_instrumentation("off")


def _flush(metrics_too: bool = True) -> None:
    from opentelemetry import metrics, trace

    from mlotel.fastpath import measurements

    queue = measurements.installed()
    if queue is not None:
        queue.force_flush()
    providers = (trace.get_tracer_provider(), metrics.get_meter_provider()) if metrics_too else (trace.get_tracer_provider(),)
    for provider in providers:
        getattr(provider, "force_flush", lambda: None)()


def count(mode: str, requests: int, endpoint: str, workdir: Path, child: str = "benchmarks.instructions",
          valgrind_options: tuple[str, ...] = (), extra_env: dict[str, str] | None = None) -> int:
    """Instructions counted for ``requests`` requests of ``mode`` (``child``: the module that drives them)."""
    factory, extra = MODES[mode]
    # A fixed hash seed: str hashes, and so dict and set layouts, the same in every run (with a random
    # one, a mode's count moved by ±10 K between runs of the same code; with this, by ~1 K).
    env = {"PYTHONHASHSEED": "0", **os.environ, **HELD_OFF, **extra, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
           "OTEL_TRACES_SAMPLER": "always_on", "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "", **(extra_env or {})}
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={workdir / mode}.out",
         *valgrind_options, sys.executable, "-m", child, "--child", str(requests), "--app", factory],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    found = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or found is None:
        raise RuntimeError(f"{mode} under valgrind failed:\n{result.stderr[-3000:]}")
    return int(found.group(1))


def requests_part(mode: str, workdir: Path) -> int:
    """Of a :func:`count` of ``mode``, what the requests took: the first dump (one file per thread if separated)."""
    dumps = [path.read_text() for path in workdir.glob(f"{mode}.out.1*")]
    return sum(int(re.search(r"^totals: (\d+)", dump, re.MULTILINE).group(1)) for dump in dumps)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests counted per mode")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated, of " + ", ".join(MODES))
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--app", default=SERVER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        asyncio.run(_drive(args.child, args.app))
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    per_request = {}
    per_interval = REFERENCE_RATE * METRIC_EXPORT_INTERVAL_MS / 1000
    with tempfile.TemporaryDirectory() as tmp:
        receiver, ports = start_receiver(Path(tmp))
        try:
            for mode in args.modes.split(","):
                endpoint = f"http://127.0.0.1:{ports['grpc_port']}"
                total = count(mode, args.requests, endpoint, Path(tmp))
                requests = requests_part(mode, Path(tmp))
                per_request[mode] = requests / args.requests + (total - requests) / per_interval
                print(f"{mode:<9} {per_request[mode] / 1e6:6.2f} M instructions per request: "
                      f"{requests / args.requests / 1e6:.3f} M the request, {(total - requests) / 1e6:5.1f} M "
                      f"the metric export over {per_interval:,.0f} requests", file=sys.stderr)
        finally:
            stop(receiver)
    off = per_request["off"]
    print()
    for mode, on in per_request.items():
        if mode != "off":
            print(f"{mode} costs {(on - off) / 1e6:.2f} M instructions per request over off's {off / 1e6:.2f} M; "
                  f"ratio off/{mode} {off / on:.3f} ({args.requests} requests each, every thread, span export included, "
                  f"a metric export every {METRIC_EXPORT_INTERVAL_MS / 1000:.0f} s at {REFERENCE_RATE:,} req/s)")
    if "mlotel" in per_request and "mlotel-sklearn" in per_request:
        recorder, library = per_request["mlotel"] - off, per_request["mlotel-sklearn"] - off
        print(f"telemetry's cost with the scikit-learn instrumentor / with the recorder: {library / recorder:.3f}")
    if "mlotel" in per_request and "mlotel-no-ids" in per_request:
        ids = per_request["mlotel"] - per_request["mlotel-no-ids"]
        print(f"the prediction id (signed, one per instance): {ids / 1e3:.0f} K instructions per request, "
              f"{ids / per_request['mlotel']:.1%} of the request with mlotel")
    if "no-drift" in per_request and "mlotel" in per_request:
        on, no_drift = per_request["mlotel"], per_request["no-drift"]
        print(f"drift bins cost {(on - no_drift) / 1e6:.3f} M instructions per request: mlotel/no-drift {on / no_drift:.4f}")


if __name__ == "__main__":
    main()
