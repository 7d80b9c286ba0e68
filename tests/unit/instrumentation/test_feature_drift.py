"""Feature binning against a reference (mlotel.feature_drift): edges, counts, what is exported."""

import os
import select
import signal
import threading
from bisect import bisect_left

import numpy as np
import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from harness.processes import poll_until
from harness.telemetry_reading import Captured
from mlotel import PredictionRecorder, TelemetryConfig, setup_telemetry
from mlotel.feature_drift import (
    BIN_EVERY,
    MAX_HELD_ROWS,
    WHOLE_ROWS_UP_TO,
    FeatureCounts,
    FeatureDrift,
    FeatureProfile,
)

IRIS_NAMES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


@pytest.fixture
def captured():
    reader = InMemoryMetricReader()
    config = TelemetryConfig.from_env({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "system_metrics,logging"})
    telemetry = setup_telemetry(config, metric_readers=[reader])
    yield Captured(InMemorySpanExporter(), reader)
    telemetry.shutdown()


def test_edges_sit_halfway_between_distinct_reference_values():
    reference = np.array([[v] for v in [1, 1, 1, 2, 2, 3, 3, 3, 4, 5]], dtype=float)
    profile = FeatureProfile.from_reference(reference, ["x"], bins=2)
    # The median (inverted CDF) is 2: cut halfway to 3; shares are the reference's own.
    assert profile.edges == ((2.5,),)
    assert profile.shares == ((0.5, 0.5),)
    assert profile.ranges(0) == ["(-inf, 2.5]", "(2.5, inf]"]


def test_constant_features_are_skipped_and_only_the_first_k_varying_ones_kept():
    rng = np.random.default_rng(1)
    reference = np.column_stack([np.zeros(100), rng.normal(size=100), rng.normal(size=100), rng.normal(size=100)])
    profile = FeatureProfile.from_reference(reference, ["zero", "a", "b", "c"], max_features=2, bins=4)
    assert profile.names == ("a", "b") and profile.columns == (1, 2)
    assert all(len(edges) == 3 for edges in profile.edges)
    assert all(sum(shares) == pytest.approx(1) for shares in profile.shares)


def test_counts_match_numpy_digitize_per_feature():
    rng = np.random.default_rng(2)
    reference = rng.normal(size=(500, 5))
    profile = FeatureProfile.from_reference(reference, list("abcde"), max_features=3, bins=6)
    counts = FeatureCounts(profile)
    rows = rng.normal(0.3, 1.2, size=(1000, 5))
    counts.observe(rows[:1])
    counts.observe(rows[1:])
    for feature, column in enumerate(profile.columns):
        edges = np.asarray(profile.edges[feature])
        expected = np.bincount(np.digitize(rows[:, column], edges, right=True), minlength=len(edges) + 1)
        assert counts.snapshot()[feature] == expected.tolist()


def test_binning_held_rows_together_equals_binning_each_row_alone():
    # A constant column between varying ones: the tracked columns (0, 2, 3) are not adjacent.
    reference = np.random.default_rng(6).normal(size=(400, 4))
    reference[:, 1] = 7.0
    profile = FeatureProfile.from_reference(reference, list("abcd"), bins=5)
    assert profile.columns == (0, 2, 3)
    edges = profile.edges
    # Every edge itself (it belongs to the bin below: "(low, high]"), a hair either side, and the infinities.
    on_edges = [[e + d, 0, e + d, e + d] for e in edges[0] + edges[1] + edges[2] for d in (0.0, -1e-12, 1e-12)]
    rows = np.array(on_edges + [[np.inf, 0, -np.inf, np.inf], [-np.inf, 0, np.inf, -np.inf]], dtype=float)
    one_at_a_time, together = FeatureCounts(profile), FeatureCounts(profile)
    for row in rows:
        one_at_a_time.observe(row[None, :])
        one_at_a_time.bin_held()
    together.observe(rows[:5])
    for row in rows[5:]:
        together.observe([row.tolist()])  # lists too
    # By hand: Python's bisect_left per value, the binning before rows were held.
    expected = [[0] * (len(e) + 1) for e in edges]
    for row in rows:
        for feature, column in enumerate(profile.columns):
            expected[feature][bisect_left(edges[feature], row[column])] += 1
    assert one_at_a_time.snapshot() == together.snapshot() == expected
    assert expected[0][0] > 0 and expected[0][-1] > 0


def test_nan_falls_in_the_top_bin_whatever_the_batch():
    profile = FeatureProfile.from_reference(np.arange(20.0)[:, None], ["x"], bins=4)
    counts = FeatureCounts(profile)
    counts.observe(np.array([[np.nan]]))
    counts.observe(np.full((9, 1), np.nan))
    assert counts.snapshot() == [[0, 0, 0, 10]]


def test_held_rows_are_a_copy_the_caller_may_change():
    profile = FeatureProfile.from_reference(np.arange(20.0)[:, None], ["x"], bins=4)
    counts = FeatureCounts(profile)
    rows = np.zeros((2, 1))
    counts.observe(rows)
    rows[:] = 100.0
    assert counts.snapshot() == [[2, 0, 0, 0]]


@pytest.mark.parametrize("width", [3, WHOLE_ROWS_UP_TO, WHOLE_ROWS_UP_TO + 1])
def test_rows_held_whole_or_by_their_tracked_columns_are_copies(width):
    # Up to WHOLE_ROWS_UP_TO values a row is held whole (its bytes), wider rows by the tracked columns.
    reference = np.random.default_rng(8).normal(size=(300, 3))
    profile = FeatureProfile.from_reference(reference, list("abc"), bins=5)
    counts = FeatureCounts(profile)
    rows = np.random.default_rng(9).normal(size=(4, width))
    expected = rows[:, :3].copy()
    counts.observe(rows)
    rows[:] = 100.0  # the caller reuses its array before the rows are binned
    assert isinstance(counts._held[0], tuple) == (width <= WHOLE_ROWS_UP_TO)
    by_hand = [[0] * (len(e) + 1) for e in profile.edges]
    for row in expected:
        for feature, edges in enumerate(profile.edges):
            by_hand[feature][bisect_left(edges, row[feature])] += 1
    assert counts.snapshot() == by_hand


def test_rows_of_every_width_held_together_bin_as_each_alone_and_by_hand():
    # Rows held whole of two widths and rows held by their tracked columns (0, 2), in one binning.
    reference = np.random.default_rng(10).normal(size=(300, 3))
    reference[:, 1] = 1.0  # constant: not tracked
    profile = FeatureProfile.from_reference(reference, list("abc"), bins=4)
    assert profile.columns == (0, 2)
    rng = np.random.default_rng(11)
    batches = [rng.normal(size=(n, width)) for n, width in ((2, 3), (1, 70), (3, 5), (1, 3), (2, 70))]
    together, alone = FeatureCounts(profile), FeatureCounts(profile)
    for batch in batches:
        together.observe(batch)
        alone.observe(batch)
        alone.bin_held()
    assert {type(each) for each in together._held} == {tuple, np.ndarray}
    by_hand = [[0] * (len(e) + 1) for e in profile.edges]
    for row in np.concatenate([batch[:, [0, 2]] for batch in batches]):
        for feature, edges in enumerate(profile.edges):
            by_hand[feature][bisect_left(edges, row[feature])] += 1
    assert together.snapshot() == alone.snapshot() == by_hand


def test_rows_past_the_held_limit_are_dropped_and_counted():
    profile = FeatureProfile.from_reference(np.arange(20.0)[:, None], ["x"], bins=4)
    counts = FeatureCounts(profile)  # no binning thread: nothing bins until the snapshot
    below = BIN_EVERY - 1  # smaller batches are held; larger ones are binned at once
    for _ in range(MAX_HELD_ROWS // below):
        counts.observe(np.zeros((below, 1)))
    room = MAX_HELD_ROWS - MAX_HELD_ROWS // below * below
    counts.observe(np.zeros((room + 1, 1)))
    counts.observe(np.zeros((room, 1)))
    assert counts.dropped == room + 1
    assert counts.snapshot() == [[MAX_HELD_ROWS, 0, 0, 0]]


def test_empty_batches_are_not_held():
    profile = FeatureProfile.from_reference(np.arange(20.0)[:, None], ["x"], bins=4)
    counts = FeatureCounts(profile)
    for _ in range(1000):
        counts.observe(np.zeros((0, 1)))
    assert counts._held == [] and counts.dropped == 0


def test_rows_lost_to_a_failed_binning_are_counted(monkeypatch):
    profile = FeatureProfile.from_reference(np.arange(20.0)[:, None], ["x"], bins=4)
    counts = FeatureCounts(profile)
    counts.observe(np.zeros((3, 1)))
    counts.observe(np.zeros((2, 1)))

    def failing(block):
        raise MemoryError("no room to bin")

    monkeypatch.setattr(counts, "_bin", failing)
    with pytest.raises(MemoryError):
        counts.bin_held()
    assert counts.dropped == 5 and counts._held_rows == 0


def test_a_forked_child_holds_nothing_and_can_take_the_lock():
    profile = FeatureProfile.from_reference(np.arange(20.0)[:, None], ["x"], bins=4)
    counts = FeatureCounts(profile)
    counts.observe(np.zeros((3, 1)))
    read, write = os.pipe()
    with counts._lock:  # as if the binning thread were binning when the process forked
        pid = os.fork()
        if pid == 0:  # the child: it must neither wait for the lock nor bin the parent's rows
            held = counts.snapshot() == [[0, 0, 0, 0]]
            os.write(write, b"ok" if held else b"no")
            os._exit(0)
    os.close(write)
    answered, _, _ = select.select([read], [], [], 10)
    if not answered:  # the child is stuck on the lock: not left behind
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert answered and os.read(read, 2) == b"ok"
    assert counts.snapshot() == [[3, 0, 0, 0]]


def test_a_large_batch_is_binned_at_once_whatever_its_size():
    profile = FeatureProfile.from_reference(np.arange(20.0)[:, None], ["x"], bins=4)
    counts = FeatureCounts(profile)
    counts.observe(np.full((MAX_HELD_ROWS + 1, 1), 100.0))
    assert counts._held_rows == 0 and counts.dropped == 0
    assert counts.snapshot() == [[0, 0, 0, MAX_HELD_ROWS + 1]]


def test_the_binning_thread_bins_once_enough_rows_are_held():
    drift = FeatureDrift()
    counts = drift.track("iris", "v1", FeatureProfile.from_reference(np.arange(20.0)[:, None], ["x"], bins=4))
    for _ in range(BIN_EVERY - 1):
        counts.observe(np.zeros((1, 1)))
    assert counts._held_rows == BIN_EVERY - 1  # under the threshold, held
    counts.observe(np.zeros((1, 1)))
    poll_until(lambda: counts._held_rows == 0, timeout=5, interval=0.01)
    assert "MlotelFeatureBins" in {t.name for t in threading.enumerate()}
    assert counts.snapshot() == [[BIN_EVERY, 0, 0, 0]]


def test_rows_too_short_are_dropped_and_counted():
    profile = FeatureProfile.from_reference(np.arange(40.0).reshape(20, 2), ["a", "b"], bins=4)
    counts = FeatureCounts(profile)
    counts.observe(np.ones((3, 1)))
    assert counts.dropped == 3 and sum(map(sum, counts.snapshot())) == 0
    counts.observe(np.ones(5))  # one row, not as a table: one more, not five
    assert counts.dropped == 4


def test_a_saved_profile_loads_equal_and_holds_no_reference_rows(tmp_path):
    reference = np.random.default_rng(3).normal(size=(200, 4))
    profile = FeatureProfile.from_reference(reference, IRIS_NAMES)
    path = tmp_path / "iris-features.json"
    profile.save(path)
    assert FeatureProfile.load(path) == profile
    text = path.read_text()
    assert not any(f"{v}" in text for v in reference[:, 0])  # edges are midpoints, never a training value


def test_the_recorder_exports_bin_counts_and_reference_shares(captured):
    recorder = PredictionRecorder(TelemetryConfig.from_env({}))
    reference = np.random.default_rng(4).normal(size=(300, 4))
    profile = recorder.track_features("iris", "v1", reference, IRIS_NAMES)
    with recorder.predict("iris", "v1", batch_size=2) as prediction:
        prediction.observe_features(np.array([[-9.0, 0, 0, 0], [9.0, 0, 0, 0]]))
        prediction.set_results(["a", "b"], [0.9, 0.8])
    base = {"ml.model.name": "iris", "ml.model.version": "v1"}
    points = captured.points("ml.feature.observations", **{"ml.feature.name": "sepal length (cm)"})
    by_bin = {p.attributes["ml.feature.bin"]: p.value for p in points}
    assert by_bin == {"0": 1, **{str(b): 0 for b in range(1, 9)}, "9": 1}
    assert all({**base, "ml.feature.name": "sepal length (cm)"}.items() <= dict(p.attributes).items() for p in points)
    shares = captured.points("ml.feature.reference", **{"ml.feature.name": "petal width (cm)"})
    assert sorted(p.value for p in shares) == sorted(profile.shares[3])
    assert {p.attributes["ml.feature.bin.range"] for p in shares} == set(profile.ranges(3))
    # Only bin counts: no value sent appears in any attribute.
    for name in ("ml.feature.observations", "ml.feature.reference"):
        assert not any("9.0" in str(v) for p in captured.points(name) for v in p.attributes.values())


def test_no_drift_tracking_when_metrics_are_off_or_k_is_zero():
    reference = np.random.default_rng(5).normal(size=(50, 4))
    assert PredictionRecorder(TelemetryConfig.from_env({"MLOTEL_DRIFT_FEATURES": "0"})).track_features(
        "iris", "v1", reference) is None
    assert PredictionRecorder(TelemetryConfig.from_env({"OTEL_METRICS_EXPORTER": "none"})).track_features(
        "iris", "v1", reference) is None
