"""Per-feature input distributions against a reference from the training data:
bin counts leave the process, feature values never do.

Usage, next to the recorder::

    recorder = PredictionRecorder()
    recorder.track_features("iris", "3f2a9c1b", reference=X_train, names=feature_names)
    # or from a profile saved once with the training job (edges and shares, no rows):
    #     FeatureProfile.from_reference(X_train, feature_names).save("iris-features.json")
    #     recorder.track_features("iris", "3f2a9c1b", reference="iris-features.json")
    with recorder.predict("iris", "3f2a9c1b", batch_size=len(rows)) as prediction:
        prediction.observe_features(features)  # rows × features

The first ``MLOTEL_DRIFT_FEATURES`` (default 8) features that vary in the
reference are binned, each into at most ``MLOTEL_DRIFT_BINS`` (default 10)
bins cut at the reference's quantiles. An edge lies halfway between two
distinct reference values, so a value seen in training never sits on one and
jitter smaller than the data's resolution does not move it. Counts add up in
the process (Python's bisect for a few rows, numpy's for a batch, under a lock) and are reported at each
metric export: ``ml.feature.observations`` (a counter per model, version,
``ml.feature.name`` and ``ml.feature.bin``) and the reference's share of each
bin, ``ml.feature.reference`` (with ``ml.feature.bin.range``). The alert-rule
service compares the two (``mlotel_alerting.feature_drift``). A batch whose
rows are too short for the tracked columns is not counted, and counted as
dropped (``ml.feature.dropped``). Needs numpy: ``pip install mlotel[drift]``.
"""

from __future__ import annotations

import json
import threading
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

import mlotel_contract as contract
from mlotel.semconv import SCHEMA_URL, __version__

DEFAULT_FEATURES, DEFAULT_BINS = 8, 10
LARGE_BATCH = 8  # rows from which numpy's binary search per feature beats Python's per value


@dataclass(frozen=True)
class FeatureProfile:
    """Which columns are binned, their inner bin edges and the reference's share of each bin."""

    names: tuple[str, ...]
    columns: tuple[int, ...]
    edges: tuple[tuple[float, ...], ...]
    shares: tuple[tuple[float, ...], ...]

    @classmethod
    def from_reference(cls, reference: Any, names: Sequence[str] | None = None,
                       max_features: int = DEFAULT_FEATURES, bins: int = DEFAULT_BINS) -> FeatureProfile:
        data = np.asarray(reference, dtype=np.float64)
        if data.ndim != 2 or len(data) < bins:
            raise ValueError(f"a reference is a 2-D array with at least {bins} rows (one per instance)")
        names = list(names) if names is not None else [f"feature_{i}" for i in range(data.shape[1])]
        if len(names) != data.shape[1]:
            raise ValueError(f"{len(names)} names for {data.shape[1]} features")
        picked: list[tuple[int, tuple[float, ...], tuple[float, ...]]] = []
        for column in range(data.shape[1]):
            values = data[:, column][np.isfinite(data[:, column])]
            distinct = np.unique(values)
            if len(distinct) < 2:
                continue  # a constant feature has nothing to bin
            cuts = np.unique(np.quantile(values, np.arange(1, bins) / bins, method="inverted_cdf"))
            # Halfway to the next distinct value; the largest value has none and is no cut.
            cuts = cuts[cuts < distinct[-1]]
            upper = distinct[np.searchsorted(distinct, cuts, side="right")]
            edges = (cuts + upper) / 2
            counts = np.bincount(np.searchsorted(edges, values), minlength=len(edges) + 1)
            picked.append((column, tuple(edges.tolist()), tuple((counts / counts.sum()).tolist())))
            if len(picked) == max_features:
                break
        return cls(tuple(names[c] for c, _, _ in picked), tuple(c for c, _, _ in picked),
                   tuple(e for _, e, _ in picked), tuple(s for _, _, s in picked))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"names": self.names, "columns": self.columns,
                                          "edges": self.edges, "shares": self.shares}))

    @classmethod
    def load(cls, path: str | Path) -> FeatureProfile:
        document = json.loads(Path(path).read_text())
        return cls(tuple(document["names"]), tuple(document["columns"]),
                   tuple(map(tuple, document["edges"])), tuple(map(tuple, document["shares"])))

    def ranges(self, feature: int) -> list[str]:
        """Each bin of ``feature`` as text, e.g. ``(5.05, 5.45]``."""
        bounds = ["-inf", *(f"{edge:.4g}" for edge in self.edges[feature]), "inf"]
        return [f"({low}, {high}]" for low, high in zip(bounds, bounds[1:])]


class FeatureCounts:
    """One model version's bin counts; ``observe`` is the request path's part."""

    def __init__(self, profile: FeatureProfile) -> None:
        self.profile = profile
        sizes = [len(edges) + 1 for edges in profile.edges]
        offsets = [sum(sizes[:i]) for i in range(len(sizes))]
        # (column, its inner edges, where its bins start in ``counts``), as lists and as arrays.
        self._plan = [(column, list(edges), offset) for column, edges, offset in zip(profile.columns, profile.edges, offsets)]
        self._arrays = [(column, np.asarray(edges), offset) for column, edges, offset in self._plan]
        self._picked = [(i, edges, offset) for i, (_, edges, offset) in enumerate(self._plan)]
        self._columns = list(profile.columns)
        self._needed = max(profile.columns, default=-1) + 1
        self.counts = [0] * sum(sizes)
        self.dropped = 0
        self._lock = threading.Lock()

    def observe(self, rows: Any) -> None:
        values = np.asarray(rows, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] < self._needed:
            self.dropped += len(values) if values.ndim else 1
            return
        if len(values) < LARGE_BATCH:
            # bisect in Python: a numpy call costs more than the whole search for a few rows.
            picked, counts = self._picked, self.counts
            rows = values[:, self._columns].tolist()
            with self._lock:
                for row in rows:
                    for i, edges, offset in picked:
                        counts[offset + bisect_left(edges, row[i])] += 1
            return
        flat = np.concatenate([np.searchsorted(edges, values[:, column]) + offset for column, edges, offset in self._arrays])
        added = np.bincount(flat, minlength=len(self.counts)).tolist()
        with self._lock:
            self.counts[:] = [a + b for a, b in zip(self.counts, added)]

    def snapshot(self) -> list[list[int]]:
        """Counts per feature and bin."""
        with self._lock:
            counts = list(self.counts)
        return [counts[offset: offset + len(edges) + 1] for _, edges, offset in self._plan]


class FeatureDrift:
    """The tracked model versions of one recorder, and the instruments that report them."""

    def __init__(self) -> None:
        self.tracked: dict[tuple[str, str], FeatureCounts] = {}
        self._instruments_made = False

    def track(self, model: str, version: str, profile: FeatureProfile) -> FeatureCounts:
        if not self._instruments_made:
            self._instruments_made = True
            meter = metrics.get_meter("mlotel.features", __version__, schema_url=SCHEMA_URL)
            meter.create_observable_counter(contract.FEATURE_OBSERVATIONS, [self._observations], unit="{observation}",
                                            description="Instances per feature bin (bins cut at the reference's quantiles).")
            meter.create_observable_gauge(contract.FEATURE_REFERENCE, [self._reference], unit="1",
                                          description="The reference's share of each feature bin.")
            meter.create_observable_counter(contract.FEATURE_DROPPED, [self._dropped], unit="{instance}",
                                            description="Instances not binned: rows shorter than the tracked columns.")
        counts = self.tracked[(model, version)] = FeatureCounts(profile)
        return counts

    def _each(self) -> Iterable[tuple[dict[str, str], FeatureCounts]]:
        for (model, version), counts in list(self.tracked.items()):
            yield {contract.ATTR_MODEL_NAME: model, contract.ATTR_MODEL_VERSION: version}, counts

    def _observations(self, options: CallbackOptions) -> Iterable[Observation]:
        for base, counts in self._each():
            for name, per_bin in zip(counts.profile.names, counts.snapshot()):
                for index, count in enumerate(per_bin):
                    yield Observation(count, {**base, contract.ATTR_FEATURE: name, contract.ATTR_FEATURE_BIN: str(index)})

    def _reference(self, options: CallbackOptions) -> Iterable[Observation]:
        for base, counts in self._each():
            profile = counts.profile
            for feature, (name, shares) in enumerate(zip(profile.names, profile.shares)):
                for index, (share, text) in enumerate(zip(shares, profile.ranges(feature))):
                    yield Observation(share, {**base, contract.ATTR_FEATURE: name, contract.ATTR_FEATURE_BIN: str(index),
                                              contract.ATTR_FEATURE_BIN_RANGE: text})

    def _dropped(self, options: CallbackOptions) -> Iterable[Observation]:
        for base, counts in self._each():
            yield Observation(counts.dropped, base)
