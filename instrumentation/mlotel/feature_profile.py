"""A model's features as its training data has them: which columns are binned
for drift, their bin edges and the reference's share of each bin
(``FeatureProfile``). Made from the training rows, or saved once with the
training job and loaded where the model is served (edges and shares, no
rows). How the bins are used: :mod:`mlotel.feature_drift`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_FEATURES, DEFAULT_BINS = 8, 10


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
