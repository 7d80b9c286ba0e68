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
jitter smaller than the data's resolution does not move it.

The request only sets its rows aside (a copy: the caller may reuse its
array; rows of up to ``WHOLE_ROWS_UP_TO`` (16) values whole, as their bytes,
wider ones their tracked columns); they are binned later, many requests at once, with one
binary search per feature (numpy's): by a thread of their own once
``BIN_EVERY`` (1,024) rows are held, and before each metric export. A batch
of ``BIN_EVERY`` rows or more is binned where it is observed: numpy's cost
per call is spread over its own rows. A value on an edge falls in the bin
below it, NaN in the top bin. Counts add up in the process and are reported
at each metric export: ``ml.feature.observations`` (a counter per model, version,
``ml.feature.name`` and ``ml.feature.bin``) and the reference's share of each
bin, ``ml.feature.reference`` (with ``ml.feature.bin.range``). The alert-rule
service compares the two (``mlotel_alerting.feature_drift``). A batch whose
rows are too short for the tracked columns is not binned, and counted as
dropped (``ml.feature.dropped``), as are rows past ``MAX_HELD_ROWS`` held
(binning could not keep up). Needs numpy: ``pip install mlotel[drift]``.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

import mlotel_contract as contract
from mlotel.feature_profile import FeatureProfile
from mlotel.semconv import SCHEMA_URL, __version__

_logger = logging.getLogger(__name__)

# Rows held before the binning thread is woken: a numpy call costs microseconds whatever its
# size, so binning pays off only across many requests. Past MAX_HELD_ROWS (binning has fallen
# behind), rows are turned away and counted as dropped.
BIN_EVERY, MAX_HELD_ROWS = 1024, 16_384
# Rows this wide or narrower are held whole, as their bytes: one numpy call a request (``tobytes``,
# which copies them) where picking the tracked columns and copying them were two, and in the server
# each numpy call a request costs several µs of cold code (docs/performance.md, "Parts in place").
# Wider rows have their tracked columns picked first: copying whole rows of many untracked values
# would cost more than the call saved, and hold more. Held, a row of 16 values is ~225 bytes with
# its bytes object and tuple: ~3.7 MB at MAX_HELD_ROWS, against ~3.3 MB for 8 picked columns.
WHOLE_ROWS_UP_TO = 16


class FeatureCounts:
    """One model version's bin counts. ``observe`` is the request path's part: it only holds
    the rows (whole up to ``WHOLE_ROWS_UP_TO`` values, else their tracked columns); ``bin_held``
    bins what is held, many requests at once."""

    def __init__(self, profile: FeatureProfile, wake: Callable[[], None] = lambda: None) -> None:
        self.profile = profile
        sizes = [len(edges) + 1 for edges in profile.edges]
        offsets = [sum(sizes[:i]) for i in range(len(sizes))]
        # Per tracked feature: its inner edges and where its bins start in ``counts``.
        self._plan = [(np.asarray(edges), offset) for edges, offset in zip(profile.edges, offsets)]
        first = profile.columns[0] if profile.columns else 0
        contiguous = list(profile.columns) == list(range(first, first + len(profile.columns)))
        # Adjacent columns are taken as a slice, a view of the caller's rows (copied in observe:
        # the caller may change them before they are binned); a list of columns copies them already.
        self._select: slice | list[int] = slice(first, first + len(profile.columns)) if contiguous else list(profile.columns)
        self._copy = contiguous
        self._needed = max(profile.columns, default=-1) + 1
        self._counts = np.zeros(sum(sizes), dtype=np.int64)
        self.dropped = 0
        # The tracked columns of rows (an array), or whole rows as bytes with their width, in the order observed.
        self._held: list[np.ndarray | tuple[bytes, int]] = []
        self._held_rows = 0
        self._wake = wake  # asks for ``bin_held`` off the request path
        self._lock = threading.Lock()
        # A child forked while the binning thread held the lock would wait on it for ever, and would bin
        # the rows the parent holds a second time: it starts with a lock of its own and nothing held.
        forget = weakref.WeakMethod(self._after_fork_in_child)
        os.register_at_fork(after_in_child=lambda: (method := forget()) is not None and method())

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self._held, self._held_rows = [], 0

    def observe(self, rows: Any) -> None:
        values = np.asarray(rows, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] < self._needed:
            with self._lock:
                self.dropped += len(values) if values.ndim == 2 else 1  # a 1-D array is one row
            return
        if not len(values):  # nothing to count; held, it would escape MAX_HELD_ROWS
            return
        if len(values) >= BIN_EVERY:  # a batch this large spreads numpy's cost over its own rows
            self._bin(values[:, self._select])
            return
        count, width = values.shape
        picked: np.ndarray | tuple[bytes, int]
        if width <= WHOLE_ROWS_UP_TO:
            picked = (values.tobytes(), width)
        else:
            picked = values[:, self._select]
            if self._copy:
                picked = picked.copy()
        with self._lock:
            if self._held_rows + count > MAX_HELD_ROWS:  # binning has fallen behind
                self.dropped += count
                return
            self._held.append(picked)
            self._held_rows += count
            full = self._held_rows >= BIN_EVERY
        if full:
            self._wake()

    def bin_held(self) -> None:
        """Bin the rows held so far: one binary search per feature for all of them."""
        with self._lock:
            held, rows, self._held, self._held_rows = self._held, self._held_rows, [], 0
        if not held:
            return
        try:
            self._bin(self._tracked_columns(held))
        except Exception:
            with self._lock:  # taken off the held list: lost, so counted
                self.dropped += rows
            raise

    def _tracked_columns(self, held: list[np.ndarray | tuple[bytes, int]]) -> np.ndarray:
        """The tracked columns of every held row, one array: whole rows joined by width, then picked."""
        arrays = [each for each in held if isinstance(each, np.ndarray)]
        by_width: dict[int, list[bytes]] = {}
        for each in held:
            if not isinstance(each, np.ndarray):
                by_width.setdefault(each[1], []).append(each[0])
        for width, chunks in by_width.items():
            arrays.append(np.frombuffer(b"".join(chunks), dtype=np.float64).reshape(-1, width)[:, self._select])
        return np.concatenate(arrays) if len(arrays) > 1 else arrays[0]

    def _bin(self, block: np.ndarray) -> None:
        """Count ``block`` (rows × tracked features) into the bins."""
        if not self._plan:
            return
        # Side "left": a value on an edge falls in the bin below, as ranges() writes it: (low, high].
        # NaN sorts above +inf, into the top bin.
        flat = np.concatenate([np.searchsorted(edges, block[:, i]) + offset for i, (edges, offset) in enumerate(self._plan)])
        added = np.bincount(flat, minlength=len(self._counts))
        with self._lock:
            self._counts += added

    def snapshot(self) -> list[list[int]]:
        """Counts per feature and bin, the rows held so far binned first."""
        self.bin_held()
        with self._lock:
            counts = self._counts.tolist()
        return [counts[offset: offset + len(edges) + 1] for edges, offset in self._plan]


class FeatureDrift:
    """The tracked model versions of one recorder, and the instruments that report them."""

    def __init__(self) -> None:
        self.tracked: dict[tuple[str, str], FeatureCounts] = {}
        self._made: dict[tuple[str, str], _Series] = {}
        self._instruments_made = False
        self._wanted = threading.Event()
        self._thread_pid = 0  # the process whose binning thread runs: a forked child starts its own
        self._start_lock = threading.Lock()

    def track(self, model: str, version: str, profile: FeatureProfile) -> FeatureCounts:
        if not self._instruments_made:
            self._instruments_made = True
            meter = metrics.get_meter("mlotel.features", __version__, schema_url=SCHEMA_URL)
            meter.create_observable_counter(contract.FEATURE_OBSERVATIONS, [self._observations], unit="{observation}",
                                            description="Instances per feature bin (bins cut at the reference's quantiles).")
            meter.create_observable_gauge(contract.FEATURE_REFERENCE, [self._reference], unit="1",
                                          description="The reference's share of each feature bin.")
            meter.create_observable_counter(contract.FEATURE_DROPPED, [self._dropped], unit="{instance}",
                                            description="Instances not binned: rows shorter than the tracked "
                                                        "columns, or more held than binning kept up with.")
        self._made[(model, version)] = self._series(model, version, profile)
        counts = self.tracked[(model, version)] = FeatureCounts(profile, self._wake)
        return counts

    def _wake(self) -> None:
        """Ask the binning thread to bin what is held (started here, the first time it is needed)."""
        if self._thread_pid != os.getpid():
            with self._start_lock:
                if self._thread_pid != os.getpid():
                    threading.Thread(target=self._bin_when_wanted, name="MlotelFeatureBins", daemon=True).start()
                    self._thread_pid = os.getpid()
        self._wanted.set()

    def _bin_when_wanted(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            for counts in list(self.tracked.values()):
                try:
                    counts.bin_held()
                except Exception:  # the thread must outlive one bad batch; the batch is lost
                    _logger.exception("Binning features for drift failed")

    def _series(self, model: str, version: str, profile: FeatureProfile) -> _Series:
        base = {contract.ATTR_MODEL_NAME: model, contract.ATTR_MODEL_VERSION: version}
        per_bin = [[{**base, contract.ATTR_FEATURE: name, contract.ATTR_FEATURE_BIN: str(index)} for index in range(len(shares))]
                   for name, shares in zip(profile.names, profile.shares)]
        reference = [Observation(share, {**attributes, contract.ATTR_FEATURE_BIN_RANGE: text})
                     for feature, bins in enumerate(per_bin)
                     for attributes, share, text in zip(bins, profile.shares[feature], profile.ranges(feature))]
        return _Series(base, per_bin, reference)

    def _observations(self, options: CallbackOptions) -> Iterable[Observation]:
        for key, counts in list(self.tracked.items()):
            for attributes, per_bin in zip(self._made[key].per_bin, counts.snapshot()):
                yield from map(Observation, per_bin, attributes)

    def _reference(self, options: CallbackOptions) -> Iterable[Observation]:
        for key in list(self.tracked):
            yield from self._made[key].reference

    def _dropped(self, options: CallbackOptions) -> Iterable[Observation]:
        for key, counts in list(self.tracked.items()):
            yield Observation(counts.dropped, self._made[key].base)


@dataclass(frozen=True)
class _Series:
    """One model version's attribute sets, made once: the SDK reads them at every export and changes none."""

    base: dict[str, str]
    per_bin: list[list[dict[str, str]]]
    reference: list[Observation]  # the shares never change
