"""``python -m benchmarks.drift_binning``: what binning features for drift costs.

``mlotel.feature_drift`` on the demo models' profiles (the first 8 varying
features, 10 bins, edges from the training data), rows resampled from the
training data; medians of ``--repeats`` timings, in microseconds:

- the request's part, ``FeatureCounts.observe``: setting a batch's rows
  aside (whole, or their tracked columns), for a batch of 1 and of 1,000 rows;
- binning 1,000 held rows (``bin_held``, off the request path), set aside by
  one 1,000-row batch, and by 1,000 one-row requests;
- a 1,000-row batch in all (set aside, then binned), as a share of the
  model's own prediction of the same batch, measured alike in the same run;
- the memory held per one-row request until it is binned (tracemalloc, with
  ``MAX_HELD_ROWS`` held: the most there can be).

``--instructions`` counts instead, with valgrind's callgrind, the
instructions per one-row request of the request's part (1,000 requests'
``observe``) and of binning their rows (one ``bin_held``), each in its own
run, warmed up first: the request path's share of drift's cost in
``benchmarks/instructions.py``, whose figure also holds a metric export.

The target is a 1,000-row batch under 1 ms.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import timeit
import tracemalloc
from collections.abc import Callable

import numpy as np

from benchmarks.instructions import _callgrind_instrumentation
from mlotel.feature_drift import MAX_HELD_ROWS, FeatureCounts, FeatureProfile
from mlotel_model_server.models import ServedModel, load_models
from mlotel_model_server.settings import Settings


def per_call(function: Callable[[], object], number: int, repeats: int,
             setup: Callable[[], object] = lambda: None) -> float:
    """Median seconds per call over ``repeats`` timings of ``number`` calls (``setup`` before each timing)."""
    return statistics.median(t / number for t in timeit.repeat(function, setup, number=number, repeat=repeats))


def held_bytes(counts: FeatureCounts, row: np.ndarray) -> float:
    """Bytes held per one-row request, with as many held as there may be."""
    counts.bin_held()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(MAX_HELD_ROWS):
        counts.observe(row)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    counts.bin_held()
    return held / MAX_HELD_ROWS


def measure(model: ServedModel, batch: np.ndarray, number: int, repeats: int) -> str:
    """One model's figures, as a line."""
    counts = FeatureCounts(FeatureProfile.from_reference(model.reference, model.feature_names))
    one_row = batch[:1]

    def whole_batch() -> None:
        counts.observe(batch)
        counts.bin_held()

    # Each timing of the request's part starts with nothing held (bin_held empties it), and holds at most
    # MAX_HELD_ROWS, so none is turned away (a dropped batch would time as cheaper than a held one).
    observe_one = per_call(lambda: counts.observe(one_row), min(number, MAX_HELD_ROWS), repeats, counts.bin_held)
    observe_batch = per_call(lambda: counts.observe(batch), max(1, min(number, MAX_HELD_ROWS // len(batch))), repeats, counts.bin_held)
    from_batch = per_call(counts.bin_held, 1, repeats, lambda: counts.observe(batch))
    from_requests = per_call(counts.bin_held, 1, repeats, lambda: [counts.observe(batch[i: i + 1]) for i in range(len(batch))])
    in_all = per_call(whole_batch, number, repeats)
    predicting = per_call(lambda: model.predict(batch), max(1, number // 5), repeats)
    held = held_bytes(counts, one_row)
    return (f"{model.name:<7} {len(counts.profile.names)} features: request's part {observe_one * 1e6:5.2f} µs (1 row), "
            f"{observe_batch * 1e6:6.1f} µs (1,000 rows); binning 1,000 held rows {from_batch * 1e6:6.1f} µs "
            f"(one batch), {from_requests * 1e6:6.1f} µs (1,000 requests); a 1,000-row batch in all "
            f"{in_all * 1e6:6.1f} µs ({in_all / predicting:6.2%} of its prediction's {predicting * 1e3:.2f} ms); "
            f"held until binned {held:.0f} bytes per one-row request, {held * MAX_HELD_ROWS / 1e6:.1f} MB at most")


def _count_child(model_name: str, part: str) -> None:
    """Under valgrind: 1,000 one-row requests' part, or the binning of their rows, counted."""
    model = load_models(Settings().model_dir)[model_name]
    counts = FeatureCounts(FeatureProfile.from_reference(model.reference, model.feature_names))
    rows = [row[None, :] for row in model.reference[np.random.default_rng(0).integers(0, len(model.reference), 1000)]]
    for row in rows:  # warm-up
        counts.observe(row)
    counts.bin_held()
    if part == "bin":
        for row in rows:
            counts.observe(row)
    _callgrind_instrumentation("on")  # what switching on and off costs is counted alone (part "none") and taken away
    if part == "observe":
        for row in rows:
            counts.observe(row)
    elif part == "bin":
        counts.bin_held()
    _callgrind_instrumentation("off")


def count_instructions(model_name: str, part: str) -> float:
    """Instructions counted for ``part`` (observe, bin, or none: the switching alone)."""
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null",
         sys.executable, "-m", "benchmarks.drift_binning", "--count-child", f"{model_name}:{part}"],
        capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or found is None:
        raise RuntimeError(f"counting {model_name} {part} failed:\n{result.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.drift_binning", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--number", type=int, default=10)
    parser.add_argument("--instructions", action="store_true", help="count instructions with valgrind instead of timing")
    parser.add_argument("--count-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count_child:
        _count_child(*args.count_child.split(":"))
        return
    if args.instructions:
        for name in load_models(Settings().model_dir):
            switching = count_instructions(name, "none")
            observe, binning = ((count_instructions(name, part) - switching) / 1000 for part in ("observe", "bin"))
            print(f"{name:<7} per one-row request: request's part {observe / 1e3:.2f} K instructions, "
                  f"binning its row with 999 others {binning / 1e3:.2f} K (callgrind)")
        return
    rng = np.random.default_rng(0)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    for model in load_models(Settings().model_dir).values():
        batch = model.reference[rng.integers(0, len(model.reference), 1000)]
        print(measure(model, batch, args.number, args.repeats))


if __name__ == "__main__":
    main()
