"""``python -m benchmarks.drift_binning``: what binning a batch's features for drift costs.

``FeatureCounts.observe`` (``mlotel.feature_drift``) on the demo models'
profiles (the first 8 varying features, 10 bins, edges from the training
data) for a batch of 1 and of 1,000 rows resampled from the training data:
the median of ``--repeats`` timings of ``--number`` calls each, in
microseconds per batch, and as a share of the model's own prediction of the
same batch (measured alike, in the same run). The target is a 1,000-row batch
under 1 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import timeit
from functools import partial

import numpy as np

from mlotel.feature_drift import FeatureCounts, FeatureProfile
from mlotel_model_server.models import load_models
from mlotel_model_server.settings import Settings


def per_call(function, number: int, repeats: int) -> float:
    """Median seconds per call over ``repeats`` timings of ``number`` calls."""
    return statistics.median(t / number for t in timeit.repeat(function, number=number, repeat=repeats))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.drift_binning", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--number", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    for model in load_models(Settings().model_dir).values():
        counts = FeatureCounts(FeatureProfile.from_reference(model.reference, model.feature_names))
        for rows in (1, 1000):
            batch = model.reference[rng.integers(0, len(model.reference), rows)]
            binning = per_call(partial(counts.observe, batch), args.number, args.repeats)
            predicting = per_call(partial(model.predict, batch), max(1, args.number // 10), args.repeats)
            print(f"{model.name:<7} {len(counts.profile.names)} features, batch {rows:>5}: binning {binning * 1e6:8.1f} µs "
                  f"({binning / predicting:6.2%} of the prediction's {predicting * 1e3:8.2f} ms)")


if __name__ == "__main__":
    main()
