"""``python -m benchmarks.overhead``: what telemetry costs ``/predict``.

Fast model, one instance per request, driven by wrk over loopback at a fixed
number of connections. Modes run in turn, the order reversed every other round
(A B C, C B A, ...) so that the machine's noise and the bias of a run's place
in the round fall on all of them alike. Reported are medians, and each
mode's ratio to ``off`` (``OTEL_SDK_DISABLED=true``): the median over rounds
of its throughput divided by off's in the same round, so that drift of the
machine between rounds cancels out, with the lowest and highest round:

- ``bare``: no mlotel code runs (what the kill switch should match);
- ``off``: mlotel with ``OTEL_SDK_DISABLED=true``;
- ``mlotel``: everything on, every request traced and exported over OTLP/gRPC
  to a receiver in another process, metrics on, input features binned for drift;
- ``no-drift``: the same without the drift bins (``MLOTEL_DRIFT_FEATURES=0``);
  ``mlotel``'s ratio to it is what binning costs;
- ``no-spans``, ``no-export``, ``no-metrics`` (on request, ``--modes``): the
  same with no spans at all (``OTEL_TRACES_EXPORTER=none``: mlotel installs
  no tracer provider, so the API's are no-ops), with spans made and ended but
  exported nowhere (a tracer provider without a span processor), or with
  metrics off (``OTEL_METRICS_EXPORTER=none``); ``mlotel``'s ratio to each,
  in the same round, is what that part costs in the running server, where a
  part costs several times what its instructions do in a loop
  (``docs/performance.md``);
- ``mlotel-public``: the same with ``MLOTEL_FASTPATH=false``: the SDK's public
  APIs only (its spans, its encoder, measurements recorded in place);
- ``stock``: ``FastAPIInstrumentor`` and the SDK's defaults, same receiver;
- ``mlotel-sklearn``: mlotel, the predictions recorded by the scikit-learn
  instrumentor with no code in the route (compare with ``mlotel``);
- ``contrib-http``, ``fastapi-native``: mlotel with another HTTP instrumentation.

Spans dropped is what the SDK's batch span processor itself counted as dropped
(``otel.sdk.processor.span.processed`` with ``error.type``), as exported to
the receiver; spans received is what the receiver decoded after each server
flushed on shutdown.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.processes import ROOT, free_port, wait_healthy

BODY = '{"model": "iris", "instances": [[5.1, 3.5, 1.4, 0.2]]}'
MODES = {
    "bare": ("benchmarks.apps:bare_app", {}),
    "off": ("mlotel_model_server.main:create_app", {"OTEL_SDK_DISABLED": "true"}),
    "mlotel": ("mlotel_model_server.main:create_app", {"MLOTEL_FASTPATH": "true"}),
    "mlotel-public": ("mlotel_model_server.main:create_app", {"MLOTEL_FASTPATH": "false"}),
    "no-drift": ("mlotel_model_server.main:create_app", {"MLOTEL_FASTPATH": "true", "MLOTEL_DRIFT_FEATURES": "0"}),
    "no-spans": ("mlotel_model_server.main:create_app", {"MLOTEL_FASTPATH": "true", "OTEL_TRACES_EXPORTER": "none"}),
    "no-export": ("benchmarks.apps:unexported_spans_app", {"MLOTEL_FASTPATH": "true"}),
    "no-metrics": ("mlotel_model_server.main:create_app", {"MLOTEL_FASTPATH": "true", "OTEL_METRICS_EXPORTER": "none"}),
    "mlotel-no-ids": ("benchmarks.apps:without_ids_app", {"MLOTEL_FASTPATH": "true"}),
    # Stock SDK setup counts its drops only with the SDK's self-metrics on, which
    # also adds three counter updates per span: its figure is a little pessimistic.
    "stock": ("benchmarks.apps:stock_app", {"OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED": "true"}),
    "mlotel-sklearn": ("benchmarks.apps:sklearn_app", {"MLOTEL_FASTPATH": "true"}),
    "contrib-http": ("benchmarks.apps:contrib_http_app", {}),
    "fastapi-native": ("benchmarks.apps:fastapi_native_app", {}),
}
# What `make bench` compares; the other HTTP instrumentations and the parts' modes on request (--modes).
DEFAULT_MODES = ("bare", "off", "no-drift", "mlotel", "mlotel-no-ids", "mlotel-sklearn", "mlotel-public", "stock")
# A part of telemetry, by the mode that runs without it: mlotel against that mode, in the same round, is its cost.
PARTS = {"no-drift": "drift bins", "no-spans": "spans, made and exported", "no-export": "span export",
         "no-metrics": "metrics"}


def start_receiver(workdir: Path) -> tuple[subprocess.Popen, dict]:
    ready = workdir / "receiver.json"
    ready.unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "harness.otlp_receiver", "--ready-file", str(ready)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not ready.exists() or not ready.read_text():
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("OTLP receiver did not start")
        time.sleep(0.05)
    return process, json.loads(ready.read_text())


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=60)
    return out or ""


def run_wrk(url: str, seconds: int, connections: int, workdir: Path) -> dict:
    script = workdir / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = '{BODY}'\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("JSON {\\"requests\\": %d, \\"errors\\": %d, \\"p50\\": %d, \\"p99\\": %d}\\n",\n'
        "    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read\n"
        "    + summary.errors.write + summary.errors.timeout, latency:percentile(50), latency:percentile(99)))\n"
        "end\n"
    )
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = json.loads(re.search(r"^JSON (.*)$", out, re.M).group(1))
    result["rps"] = result["requests"] / seconds
    return result


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far, user and system, all its threads (``/proc/PID/stat``'s utime and stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def context_switches(pid: int) -> int:
    """A process's context switches so far, voluntary and not, over its threads alive now (``/proc/PID/task/*/status``).

    A thread that waits for the GIL switches out: a call on the request path
    that lets the GIL go (a system call CPython wraps in
    ``Py_BEGIN_ALLOW_THREADS``) shows here as switches, and in CPU/req,
    where instruction counts do not see it.
    """
    total = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            text = status.read_text()
        except OSError:  # the thread ended while we read
            continue
        total += sum(int(n) for n in re.findall(r"^(?:non)?voluntary_ctxt_switches:\s+(\d+)$", text, re.M))
    return total


def run_mode(mode: str, args, workdir: Path) -> dict:
    app, extra = MODES[mode]
    receiver, ports = start_receiver(workdir)
    port = free_port()
    # The receiver port that matches the protocol the environment asks for (gRPC by default).
    http = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") == "http/protobuf"
    env = {
        **os.environ,
        **extra,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{ports['http_port' if http else 'grpc_port']}",
        "OTEL_TRACES_SAMPLER": "always_on",
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stderr=open(workdir / f"{mode}.log", "a"),
    )
    url = f"http://127.0.0.1:{port}/predict"
    try:
        # Generous: on a shared 2-core machine under load, start-up alone has taken over a minute.
        wait_healthy(f"http://127.0.0.1:{port}/health", timeout=180, process=server)
        run_wrk(url, args.warmup, args.connections, workdir)  # warm-up, not measured
        server_cpu, receiver_cpu = cpu_seconds(server.pid), cpu_seconds(receiver.pid)
        switches = context_switches(server.pid)
        result = run_wrk(url, args.seconds, args.connections, workdir)
        server_cpu, receiver_cpu = cpu_seconds(server.pid) - server_cpu, cpu_seconds(receiver.pid) - receiver_cpu
        switches = context_switches(server.pid) - switches
    finally:
        stop(server)
        counts = json.loads(stop(receiver).strip().splitlines()[-1])
    # The server's threads together, and the receiver, in cores; the server's CPU time per request.
    result["server_cores"], result["receiver_cores"] = server_cpu / args.seconds, receiver_cpu / args.seconds
    result["cpu_us"] = server_cpu / max(result["requests"], 1) * 1e6
    result["switches"] = switches / max(result["requests"], 1)
    result["spans_dropped"] = counts["spans_dropped"]
    result["spans_received"] = counts["spans"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.overhead", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4, help="times each mode runs (order reversed every other round)")
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per run")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured seconds before each run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--modes", default=",".join(DEFAULT_MODES), help="comma-separated, of " + ", ".join(MODES))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    modes = [m.strip() for m in args.modes.split(",")]
    runs: dict[str, list[dict]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            # A B, then B A: a mode's place in the round biases it by several percent
            # on these machines, so every mode takes every place equally often.
            for mode in modes if round_ % 2 == 0 else reversed(modes):
                result = run_mode(mode, args, Path(tmp))
                runs[mode].append(result)
                print(f"round {round_ + 1} {mode:<13} {result['rps']:8.0f} req/s  p50 {result['p50'] / 1e3:6.2f} ms"
                      f"  p99 {result['p99'] / 1e3:6.2f} ms  server {result['server_cores']:.2f} cores"
                      f" {result['cpu_us']:5.0f} µs CPU/req {result['switches']:.1f} switches/req, receiver {result['receiver_cores']:.3f}"
                      f"  spans received {result['spans_received']}"
                      f" dropped {result['spans_dropped']}", file=sys.stderr)
    report(runs, args)


def report(runs: dict[str, list[dict]], args: argparse.Namespace) -> None:
    base = runs.get("off")
    base_p99 = statistics.median(r["p99"] for r in base) if base else None
    print(f"\n{'mode':<13} {'req/s':>8} {'ratio':>6} {'range':>10} {'p50 ms':>7} {'p99 ms':>7} {'p99/off':>7}"
          f" {'cores':>5} {'CPU/req':>7} {'sw/req':>6} {'errors':>6} {'dropped':>8}")
    for mode, results in runs.items():
        rps = statistics.median(r["rps"] for r in results)
        ratio, spread = "-", "-"
        if base:
            ratios = [r["rps"] / b["rps"] for r, b in zip(results, base)]
            ratio, spread = f"{statistics.median(ratios):.2f}", f"{min(ratios):.2f}-{max(ratios):.2f}"
        p50 = statistics.median(r["p50"] for r in results) / 1e3
        p99 = statistics.median(r["p99"] for r in results)
        p99_ratio = f"{p99 / base_p99:.2f}" if base_p99 else "-"
        errors = sum(r["errors"] for r in results)
        dropped = sum(r["spans_dropped"] for r in results)
        cores = statistics.median(r["server_cores"] for r in results)
        cpu_us = statistics.median(r["cpu_us"] for r in results)
        switches = statistics.median(r["switches"] for r in results)
        print(f"{mode:<13} {rps:8.0f} {ratio:>6} {spread:>10} {p50:7.2f} {p99 / 1e3:7.2f} {p99_ratio:>7} {cores:5.2f}"
              f" {cpu_us:5.0f}µs {switches:6.1f} {errors:6d} {dropped:8d}")
    for without, part in PARTS.items():
        if "mlotel" in runs and without in runs:
            ratios = [r["rps"] / b["rps"] for r, b in zip(runs["mlotel"], runs[without])]
            cpu = statistics.median(r["cpu_us"] - b["cpu_us"] for r, b in zip(runs["mlotel"], runs[without]))
            print(f"\n{part}: mlotel against {without} in the same round {statistics.median(ratios):.3f} "
                  f"(range {min(ratios):.3f}-{max(ratios):.3f}), {cpu:+.0f} µs of CPU a request")
    print(f"\nmedians of {args.rounds} alternating runs of {args.seconds} s, {args.connections} connections, "
          f"{os.cpu_count()} CPUs; ratio = median of req/s against off's in the same round (range: lowest-highest "
          "round); p99/off = median p99 against off's; cores = the server's CPU time "
          "(every thread) per second, and CPU/req per request; sw/req = the server's context switches per request "
          "(its threads' waits for the GIL among them); dropped = spans the SDK counted as dropped, summed over runs. "
          "mlotel: MLOTEL_FASTPATH on; mlotel-sklearn: the same, predictions recorded by the scikit-learn instrumentor; "
          "mlotel-public: off (public SDK APIs only); stock: FastAPIInstrumentor "
          "and the SDK's defaults. Ratios hold between machines better than req/s: quote off's req/s with them.")


if __name__ == "__main__":
    main()
