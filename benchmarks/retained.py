"""``python -m benchmarks.retained``: the objects a request leaves alive for telemetry's threads, which the collector counts.

CPython collects its youngest generation each time 700 more container
objects (``gc.get_threshold()[0]``) have been made than freed. An object a
request leaves for a background thread (a span waiting for its export, a
measurement waiting for the queue's drain) counts until it is freed, and by
then a collection has run: a request that leaves N of them brings a
collection every 700 / N requests, and each walks every young object, the
requests under way included (about 150 µs in the model server under
``make bench``'s load). These collections are time the instruction counts
spread over whichever part allocates when they fall due, and no one part's
figure shows them.

Counted here: ``benchmarks.request_path``'s ``request`` part (the
middleware and a prediction), run ``--calls`` times after a warm-up with the
span batch exported and the measurements recorded first, and the collector
switched off: the container objects still alive afterwards, per call, and
their types. It does not move between runs, and takes a second. A child
process per mode (``mlotel``: the fast path; ``mlotel-public``: public SDK
APIs only).

A lower bound for a real server: one instance, no drift bins, no thread
hop, no background thread running. In the model server under load the
collections come about as often as ~40 objects a request would bring
(``docs/performance.md``): objects of the requests under way that outlive
a collection count too, and collections that come oftener catch more of
them.
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import os
import subprocess
import sys

from harness.processes import ROOT

MODES = {"mlotel": {"MLOTEL_FASTPATH": "true"}, "mlotel-public": {"MLOTEL_FASTPATH": "false"}}
WARM_UP = 200


def left_alive(calls: int) -> tuple[float, collections.Counter[str]]:
    """Container objects made and not freed per call of the ``request`` part, and how many of each type in all."""
    from opentelemetry import trace

    from benchmarks.request_path import _cases
    from mlotel.fastpath import measurements

    case = _cases()["request"]
    for _ in range(WARM_UP):
        case()
    queue = measurements.installed()  # None on the public path: measurements are recorded in place
    if queue is not None:
        # Its thread stopped, the queue left installed: a drain while counting would free what is counted.
        queue._stopped.set()
        queue._thread.join()
        queue.force_flush()
    trace.get_tracer_provider().force_flush()  # type: ignore[attr-defined]  # the SDK's provider
    gc.collect()
    gc.freeze()  # what exists now is not counted below
    gc.disable()
    before = gc.get_count()[0]
    for _ in range(calls):
        case()
    made = gc.get_count()[0] - before
    types = collections.Counter(type(each).__qualname__ for each in gc.get_objects(generation=0))
    gc.enable()
    return made / calls, types


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.retained", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100, help="requests counted (fewer than a span batch: 256)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated, of " + ", ".join(MODES))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        per_call, types = left_alive(args.calls)
        print(json.dumps({"per_call": per_call, "types": {name: n / args.calls for name, n in types.most_common(8)}}))
        return
    env = {"PYTHONHASHSEED": "0", **os.environ, "MLOTEL_STAGE_SPAN_THRESHOLD_MS": "3600000",
           "OTEL_TRACES_SAMPLER": "always_on",
           "MLOTEL_FEEDBACK_KEY": os.environ.get("MLOTEL_FEEDBACK_KEY", "retained-benchmark")}
    print(f"container objects a request leaves alive ({args.calls} requests, request_path's `request`):")
    for mode in args.modes.split(","):
        result = subprocess.run(
            [sys.executable, "-m", "benchmarks.retained", "--child", "--calls", str(args.calls)],
            cwd=ROOT, env={**env, **MODES[mode]}, capture_output=True, text=True,
        )
        if result.returncode != 0:
            sys.exit(f"{mode} failed:\n{result.stderr[-3000:]}")
        found = json.loads(result.stdout.strip().splitlines()[-1])
        kinds = ", ".join(f"{name} {n:.1f}" for name, n in found["types"].items())
        print(f"  {mode:<14} {found['per_call']:5.1f}   ({kinds})")


if __name__ == "__main__":
    main()
