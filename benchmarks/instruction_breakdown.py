"""``python -m benchmarks.instruction_breakdown``: where telemetry's instructions per ``/predict`` go.

``benchmarks/instructions.py`` says what telemetry costs in all; this says
what each part of it costs, two ways, counted exactly as there (same
request, same held-off clocks, every thread):

- by thread: one run with callgrind's ``--separate-threads=yes``; each
  thread's share of the instructions per request, named by what runs in it;
- by part: runs with one part taken away (a class or function replaced by
  one that does nothing), each against a full run: what the part costs is
  what its absence saves. The parts nest (``send`` is inside ``export``,
  which is inside ``span-processor``, inside ``spans``), so they do not add up.

The C functions behind a thread's figure: ``--keep DIR`` keeps the callgrind
files (``--dump-instr=yes``) for ``callgrind_annotate --inclusive=yes``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import tempfile
import threading
from pathlib import Path

from benchmarks import instructions
from benchmarks.overhead import start_receiver, stop

WITHOUT = "MLOTEL_BENCH_WITHOUT"
THREAD_NAMES = "MLOTEL_BENCH_THREAD_NAMES"


def _nothing(*args: object, **kwargs: object) -> None:
    return None


def _without_export() -> None:
    from opentelemetry.sdk.trace.export import SpanExportResult

    from mlotel.fastpath.span_encoding import GrpcSpanExporter

    GrpcSpanExporter.export = lambda self, spans: SpanExportResult.SUCCESS  # type: ignore[method-assign]


def _without_send() -> None:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    OTLPSpanExporter.export = lambda self, spans: SpanExportResult.SUCCESS  # type: ignore[method-assign]


def _without_span_processor() -> None:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    BatchSpanProcessor.on_start = BatchSpanProcessor.on_end = _nothing  # type: ignore[method-assign]


def _without_measurements() -> None:
    from mlotel.fastpath import measurements

    # What the middleware and the recorder queue through (mlotel.request_path hands them these at set-up,
    # after this patch); MeasurementQueue.put alone is only the full queue's path.
    measurements.record = measurements.add = measurements.record_all = _nothing


def _without_sdk_record() -> None:
    from mlotel.fastpath import measurements

    measurements._record = _nothing


# Each part: what takes it away (a patch, or the environment), and what it is.
PARTS = {
    "spans": ({"OTEL_TRACES_SAMPLER": "always_off"}, "recording the two spans, queueing and exporting them"),
    "span-processor": (_without_span_processor, "the batch span processor: queueing, its thread, the export"),
    "export": (_without_export, "the export of a span batch: encoding and sending"),
    "send": (_without_send, "sending the encoded batch over gRPC (the SDK's exporter)"),
    "measurements": (_without_measurements, "the five measurements: queued, then recorded into the SDK"),
    "sdk-record": (_without_sdk_record, "the SDK's record()/add() of the queued measurements"),
}


def _child(requests: int, factory: str) -> None:
    part = os.environ.get(WITHOUT)
    if part:
        patch, _ = PARTS[part]
        if callable(patch):
            patch()
    asyncio.run(instructions._drive(requests, factory))
    # Threads in the order they were started: callgrind numbers them so (the main thread is 1).
    names = os.environ.get(THREAD_NAMES)
    if names:
        Path(names).write_text(" ".join(t.name for t in threading.enumerate()))


def _per_thread(requests: int, endpoint: str, workdir: Path, keep: Path | None) -> None:
    out = (keep or workdir) / "threads.out"
    total = instructions.count(
        "mlotel", requests, endpoint, workdir, child="benchmarks.instruction_breakdown",
        valgrind_options=("--separate-threads=yes", "--dump-instr=yes", f"--callgrind-out-file={out}"),
        extra_env={THREAD_NAMES: str(workdir / "threads.txt")},
    )
    print(f"Python threads, in the order started: {(workdir / 'threads.txt').read_text()}")
    print(f"\nby thread (mlotel, {total / requests / 1e6:.2f} M per request in all; files {out}-NN):")
    # A thread's count is in two dumps, the requests' (``<out>.1-NN``) and the metric export's (``<out>-NN``);
    # ``totals:``, as ``summary:`` can read a negative count wrapped around.
    by_thread: dict[str, int] = {}
    for path in out.parent.glob(f"{out.name}*-*"):
        found = re.search(r"^totals: (\d+)", path.read_text(), re.M)
        thread = path.name.rsplit("-", 1)[1]
        by_thread[thread] = by_thread.get(thread, 0) + (int(found.group(1)) if found else 0)
    for thread, counted in sorted(by_thread.items()):
        if counted:
            print(f"  thread {thread:>3} {counted / requests / 1e6:7.3f} M")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instruction_breakdown",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests counted per run")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"parts to take away, of {', '.join(PARTS)}")
    parser.add_argument("--threads", action=argparse.BooleanOptionalAction, default=True, help="the run by thread")
    parser.add_argument("--keep", type=Path, help="keep the per-thread callgrind files in this directory")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--app", default=instructions.SERVER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        _child(args.child, args.app)
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        receiver, ports = start_receiver(workdir)
        endpoint = f"http://127.0.0.1:{ports['grpc_port']}"
        try:
            def run(mode: str, part: str | None = None) -> float:
                patch = PARTS[part][0] if part else {}
                env = {WITHOUT: part or "", **(patch if isinstance(patch, dict) else {})}
                return instructions.count(mode, args.requests, endpoint, workdir,
                                          child="benchmarks.instruction_breakdown", extra_env=env) / args.requests

            parts = [part for part in args.parts.split(",") if part]
            if parts:
                full = run("mlotel")
                print(f"mlotel {full / 1e6:.3f} M per request (telemetry off: `make bench-instructions`)")
                print("\nby part (what taking it away saves, per request):")
            for part in parts:
                saved = full - run("mlotel", part)
                print(f"  {part:<15} {saved / 1e6:7.3f} M  {PARTS[part][1]}")
            if args.threads:
                _per_thread(args.requests, endpoint, workdir, args.keep)
        finally:
            stop(receiver)


if __name__ == "__main__":
    main()
