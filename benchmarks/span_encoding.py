"""``python -m benchmarks.span_encoding``: what encoding a span costs, Python encoder against native, in instructions.

The spans are those of real requests: ``benchmarks/request_path.py``'s
``request`` case (the middleware around a recorded prediction, the fast
path's spans), caught by an in-memory exporter. Under callgrind, one batch
of them is encoded by each encoder in turn, Python, native, native, Python
(ABBA), each ``--encodes`` times; the figure per span is the median of an
encoder's two counts, and the ratio is native's over Python's. Both encoders
give the same bytes (checked here too). Needs ``mlotel_native`` (``make install``).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from statistics import median

from benchmarks.request_path import dumps_counted

ORDER = ("python", "native", "native", "python")  # ABBA


def _child(requests: int, encodes: int) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from benchmarks.instructions import _callgrind_instrumentation
    from benchmarks.request_path import _cases
    from mlotel.fastpath.span_request import span_request_encoder

    request = _cases()["request"]
    caught = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(caught))  # type: ignore[attr-defined]  # the SDK's
    for _ in range(requests):
        request()
    spans = caught.get_finished_spans()
    encoders = {"python": span_request_encoder(native=False), "native": span_request_encoder(native=True)}
    if type(encoders["native"]).__module__ != "mlotel_native" or encoders["native"].encode(spans) != encoders["python"].encode(spans):
        sys.exit("mlotel_native is not installed, or gives other bytes than the Python encoder")
    print(f"spans {len(spans)}", flush=True)
    for index, name in enumerate(ORDER):
        encode = encoders[name].encode
        _callgrind_instrumentation("on")
        for _ in range(encodes):
            encode(spans)
        _callgrind_instrumentation("off")
        subprocess.run(["callgrind_control", "-d", f"{name}-{index}", str(os.getpid())], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.span_encoding", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100, help="requests whose spans make the batch")
    parser.add_argument("--encodes", type=int, default=20, help="times the batch is encoded per count")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.requests, args.encodes)
        return
    dumps, printed = dumps_counted(
        "benchmarks.span_encoding", ["--child", "--requests", str(args.requests), "--encodes", str(args.encodes)])
    spans = int(re.search(r"^spans (\d+)", printed, re.M).group(1))  # type: ignore[union-attr]  # the child prints it
    counts: dict[str, list[float]] = {"python": [], "native": []}
    for name, total in dumps.items():  # python-0, native-1, ...
        counts[name.split("-")[0]].append(total / args.encodes / spans)
    python, native = median(counts["python"]), median(counts["native"])
    print(f"instructions per span ({spans} spans of {args.requests} requests, encoded {args.encodes} times per count, "
          f"{' '.join(ORDER)}):")
    print(f"  python {python / 1e3:6.1f} k  ({', '.join(f'{c / 1e3:.1f}' for c in counts['python'])})")
    print(f"  native {native / 1e3:6.1f} k  ({', '.join(f'{c / 1e3:.1f}' for c in counts['native'])})")
    print(f"  native/python {native / python:.2f}")


if __name__ == "__main__":
    main()
