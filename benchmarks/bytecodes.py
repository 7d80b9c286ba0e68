"""``python -m benchmarks.bytecodes``: the bytecodes and Python calls of one request path part, by function.

Where :mod:`benchmarks.request_path` says what a part costs in instructions,
this says where in mlotel's Python it goes: each function's bytecodes run
per call of the part (``sys.settrace`` with opcode events, after a warm-up),
and how often it was called. Python bytecode is where telemetry's time goes
(``docs/performance.md``, "Time per instruction"), so this is the map for
cutting it. It counts bytecodes, not their cost: a bytecode that calls into C
(a dict lookup, a ``time_ns()``) counts one, like a cheap one, so check a cut
with ``benchmarks.request_path`` (instructions), not with this alone. It runs
in a second, without valgrind.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
from types import FrameType
from typing import Any

from benchmarks.request_path import PARTS, RECORDED_EVERY

WARM_UP = 200


def _where(frame: FrameType) -> str:
    code = frame.f_code
    path = code.co_filename.split("site-packages/")[-1]
    for root in sys.path:  # the repository's own files, from their package root
        if root and path.startswith(root + os.sep):
            path = path[len(root) + 1:]
            break
    return f"{path}:{code.co_firstlineno} {code.co_name}"


def count(part: str, calls: int) -> tuple[collections.Counter[str], collections.Counter[str]]:
    """Bytecodes and calls by function over ``calls`` calls of ``part``, after a warm-up."""
    from benchmarks.request_path import _cases
    from mlotel.fastpath import measurements

    case = _cases()[part]
    for _ in range(WARM_UP):
        case()
    queue = measurements.installed()
    if queue is not None:
        queue._interval = 3600  # recorded below, as request_path records it
        queue.force_flush()
    bytecodes: collections.Counter[str] = collections.Counter()
    called: collections.Counter[str] = collections.Counter()

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "call":
            called[_where(frame)] += 1
            frame.f_trace_opcodes = True
        elif event == "opcode":
            bytecodes[_where(frame)] += 1
        return trace

    for index in range(1, calls + 1):
        sys.settrace(trace)
        case()
        sys.settrace(None)
        if queue is not None and index % RECORDED_EVERY == 0:
            queue.force_flush()  # untraced: the measurement thread's share, not the request's
    return bytecodes, called


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bytecodes", description=__doc__.split("\n\n")[0])
    parser.add_argument("part", nargs="?", default="request", choices=PARTS)
    parser.add_argument("--calls", type=int, default=RECORDED_EVERY, help="calls traced (per-call figures are their mean)")
    parser.add_argument("--top", type=int, default=30, help="functions listed")
    args = parser.parse_args()
    # As request_path sets them: every request traced, no stage spans, a fixed key.
    os.environ.setdefault("MLOTEL_STAGE_SPAN_THRESHOLD_MS", "3600000")
    os.environ.setdefault("OTEL_TRACES_SAMPLER", "always_on")
    os.environ.setdefault("MLOTEL_FEEDBACK_KEY", "bytecodes-benchmark")
    bytecodes, called = count(args.part, args.calls)
    per_call = args.calls
    print(f"{args.part}: {sum(bytecodes.values()) / per_call:,.0f} bytecodes and "
          f"{sum(called.values()) / per_call:,.0f} Python calls per call ({args.calls} calls traced)")
    print(f"{'bytecodes':>9} {'calls':>6}  function")
    for where, n in bytecodes.most_common(args.top):
        print(f"{n / per_call:9.0f} {called[where] / per_call:6.1f}  {where}")


if __name__ == "__main__":
    main()
