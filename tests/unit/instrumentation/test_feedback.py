"""Prediction ids and feedback scoring, against values worked out by hand."""

import base64
import tracemalloc

import pytest

import mlotel_contract as contract
from mlotel import FeedbackRefused, FeedbackScorer, PredictionIds, PredictionRecorder, TelemetryConfig

KEY, WINDOW, T0 = b"k" * 32, 3600.0, 1_800_000_000.0
CLASSES = {"pets": {"cat", "dog"}}


def scorer(now: float, ids: PredictionIds | None = None, **config) -> FeedbackScorer:
    return FeedbackScorer(ids or PredictionIds(KEY, WINDOW), CLASSES, TelemetryConfig.from_env({}, **config), clock=lambda: now)


def test_an_id_carries_its_prediction_and_opens_under_the_same_key_only():
    (issued,) = PredictionIds(KEY, WINDOW).issue("pets", "v1", ["cat"], [0.875], now=T0)
    opened = PredictionIds(KEY, WINDOW).open(issued, now=T0 + 10)  # another replica, same key
    assert (opened.model, opened.version, opened.label, opened.confidence, opened.made_at) == ("pets", "v1", "cat", 0.875, T0)
    with pytest.raises(FeedbackRefused) as other_key:
        PredictionIds(b"x" * 32, WINDOW).open(issued, now=T0)
    assert other_key.value.reason == "tampered_id"


def test_two_predictions_alike_get_different_ids():
    a, b = PredictionIds(KEY, WINDOW).issue("pets", "v1", ["cat", "cat"], [0.9, 0.9], now=T0)
    assert a != b


def _nonces(ids: list[str]) -> set[int]:
    return {PredictionIds(KEY, WINDOW).open(each, now=T0).nonce for each in ids}


def _forked_ids(ids: PredictionIds, fork) -> tuple[set[int], set[int]]:
    """The nonces of 20 ids issued in a child forked by ``fork`` and of 20 issued in the parent after it."""
    import os

    read, write = os.pipe()
    child = fork()
    if child == 0:  # the child sends its ids and leaves, whatever happens, without running pytest's teardown
        try:
            os.write(write, " ".join(ids.issue("pets", "v1", ["cat"] * 20, [0.9] * 20, now=T0)).encode())
        finally:
            os._exit(0)
    os.close(write)
    in_parent = _nonces(ids.issue("pets", "v1", ["cat"] * 20, [0.9] * 20, now=T0))
    with os.fdopen(read) as pipe:
        in_child = _nonces(pipe.read().split())
    os.waitpid(child, 0)
    return in_child, in_parent


def _signers() -> list:
    import importlib.util

    native = importlib.util.find_spec("mlotel_native") is not None
    return [False, pytest.param(True, marks=pytest.mark.skipif(not native, reason="mlotel_native not installed"))]


@pytest.mark.parametrize("native", _signers())
def test_nonces_do_not_repeat_where_the_user_seeds_random_nor_in_a_forked_worker(native):
    """ML code seeds the random module (random.seed(42)) and servers fork workers, through Python's os.fork or
    past its fork hooks (uWSGI calls fork() itself): none may repeat an id's nonce, or the scorer takes a
    second prediction's feedback for a replay of the first."""
    import ctypes
    import os
    import random

    ids = PredictionIds(KEY, WINDOW, native=native)
    random.seed(42)
    first = _nonces(ids.issue("pets", "v1", ["cat"] * 50, [0.9] * 50, now=T0))
    random.seed(42)
    second = _nonces(ids.issue("pets", "v1", ["cat"] * 50, [0.9] * 50, now=T0))
    assert len(first) == len(second) == 50 and not first & second

    for fork in (os.fork, ctypes.CDLL(None).fork):
        in_child, in_parent = _forked_ids(ids, fork)
        assert len(in_child) == 20 and not in_child & in_parent


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda i: i[:-2] + ("A" if i[-2] != "A" else "B") + i[-1], "tampered_id"),
        (lambda i: "not an id!", "unknown_id"),
        (lambda i: "AAAA", "unknown_id"),
        (lambda i: "A" * 5000, "unknown_id"),
    ],
)
def test_an_altered_or_foreign_id_is_refused_by_reason(mangle, reason):
    (issued,) = PredictionIds(KEY, WINDOW).issue("pets", "v1", ["cat"], [0.9], now=T0)
    with pytest.raises(FeedbackRefused) as refused:
        PredictionIds(KEY, WINDOW).open(mangle(issued), now=T0)
    assert refused.value.reason == reason


def test_a_changed_label_inside_a_valid_looking_id_fails_the_signature():
    (issued,) = PredictionIds(KEY, WINDOW).issue("pets", "v1", ["cat"], [0.9], now=T0)
    raw = bytearray(base64.urlsafe_b64decode(issued + "=" * (-len(issued) % 4)))
    at = raw.index(b"cat")
    raw[at : at + 3] = b"dog"
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(FeedbackRefused) as refused:
        PredictionIds(KEY, WINDOW).open(forged, now=T0)
    assert refused.value.reason == "tampered_id"


def test_scoring_records_outcomes_confidence_by_bin_and_delay_as_worked_out_by_hand(captured):
    ids = PredictionIds(KEY, WINDOW)
    # Predicted (label, confidence) and the actual label:
    #   cat 0.95 -> cat (right, bin 0.95)   cat 0.92 -> dog (wrong, bin 0.9)
    #   dog 0.55 -> dog (right, bin 0.5)    dog 0.97 -> dog (right, bin 0.95)
    made = ids.issue("pets", "v1", ["cat", "cat", "dog", "dog"], [0.95, 0.92, 0.55, 0.97], now=T0)
    result = scorer(T0 + 30, ids).score(list(zip(made, ["cat", "dog", "dog", "dog"])))
    assert (result.scored, result.duplicates) == (4, 0)

    outcomes = {(p.attributes[contract.ATTR_CORRECT], p.attributes[contract.ATTR_CONFIDENCE_BIN]): p.value
                for p in captured.points(contract.FEEDBACK_OUTCOMES)}
    assert outcomes == {(True, "0.95"): 2, (False, "0.9"): 1, (True, "0.5"): 1}
    sums = {p.attributes[contract.ATTR_CONFIDENCE_BIN]: p.value for p in captured.points(contract.FEEDBACK_CONFIDENCE)}
    assert sums == pytest.approx({"0.95": 1.92, "0.9": 0.92, "0.5": 0.55}, abs=1e-9)
    # Accuracy 3/4; ECE = (|2 - 1.92| + |0 - 0.92| + |1 - 0.55|) / 4 = 1.45 / 4.
    correct = sum(v for (ok, _), v in outcomes.items() if ok)
    ece = sum(abs(sum(v for (ok, b), v in outcomes.items() if ok and b == bin_) - s) for bin_, s in sums.items()) / 4
    assert correct / 4 == 0.75 and ece == pytest.approx(0.3625, abs=1e-6)
    (delay,) = captured.points(contract.FEEDBACK_DELAY)
    assert delay.count == 4 and delay.sum == pytest.approx(120.0, abs=0.01)
    assert dict(delay.attributes) == {"ml.model.name": "pets", "ml.model.version": "v1"}


def test_the_same_feedback_twice_counts_once(captured):
    ids = PredictionIds(KEY, WINDOW)
    (one,) = ids.issue("pets", "v1", ["cat"], [0.8], now=T0)
    scoring = scorer(T0 + 1, ids)
    assert scoring.score([(one, "cat"), (one, "cat")]).duplicates == 1
    assert scoring.score([(one, "dog")]).scored == 0  # a changed mind is still the same prediction
    assert sum(p.value for p in captured.points(contract.FEEDBACK_OUTCOMES)) == 1
    (duplicates,) = captured.points(contract.FEEDBACK_DUPLICATES)
    assert duplicates.value == 2


@pytest.mark.parametrize(
    ("item", "reason", "status"),
    [
        (lambda good: (good, "hamster"), "unknown_label", 422),
        (lambda good: ("forged", "cat"), "unknown_id", 422),
        (lambda good: (PredictionIds(KEY, WINDOW).issue("fish", "v1", ["cod"], [0.9], now=T0)[0], "cod"), "unknown_model", 422),
    ],
)
def test_a_bad_item_refuses_the_whole_batch_names_its_position_and_records_nothing_but_the_refusal(captured, item, reason, status):
    ids = PredictionIds(KEY, WINDOW)
    good = ids.issue("pets", "v1", ["cat", "dog"], [0.9, 0.8], now=T0)
    with pytest.raises(FeedbackRefused) as refused:
        scorer(T0, ids).score([(good[0], "cat"), item(good[1])])
    assert (refused.value.reason, refused.value.status) == (reason, status)
    assert refused.value.message.startswith("item 1: ") and "hamster" not in refused.value.message
    assert captured.points(contract.FEEDBACK_OUTCOMES) == []
    (count,) = captured.points(contract.FEEDBACK_REFUSED)
    assert count.value == 1 and dict(count.attributes) == {"error.type": reason}


def test_expired_ids_and_oversized_batches_are_refused(captured):
    ids = PredictionIds(KEY, WINDOW)
    (old,) = ids.issue("pets", "v1", ["cat"], [0.9], now=T0)
    with pytest.raises(FeedbackRefused) as expired:
        scorer(T0 + WINDOW + 1, ids).score([(old, "cat")])
    assert expired.value.reason == "expired_id"
    many = ids.issue("pets", "v1", ["cat"] * 3, [0.9] * 3, now=T0)
    with pytest.raises(FeedbackRefused) as large:
        scorer(T0, ids, feedback_max_batch=2).score([(i, "cat") for i in many])
    assert (large.value.reason, large.value.status) == ("batch_too_large", 413)
    assert {p.attributes["error.type"]: p.value for p in captured.points(contract.FEEDBACK_REFUSED)} == {
        "expired_id": 1, "batch_too_large": 1}


def test_dedupe_memory_is_bounded_and_what_falls_out_early_is_counted(captured):
    ids = PredictionIds(KEY, WINDOW)
    made = ids.issue("pets", "v1", ["cat"] * 5, [0.9] * 5, now=T0)
    scoring = scorer(T0 + 1, ids, feedback_dedupe_max=3)
    scoring.score([(i, "cat") for i in made])
    assert scoring.held == 3
    (evicted,) = captured.points(contract.FEEDBACK_DEDUPE_EVICTED)
    assert evicted.value == 2
    assert scoring.score([(made[0], "cat")]).scored == 1  # forgotten: scored again, as the count warns


def test_bytes_held_per_scored_prediction_stay_near_what_the_docs_say():
    """docs/model-correctness.md quotes this figure (~115 bytes at 100,000); the test keeps it honest."""
    ids = PredictionIds(KEY, WINDOW)
    made = [(i, "cat") for i in ids.issue("pets", "v1", ["cat"] * 20_000, [0.9] * 20_000, now=T0)]
    scoring = scorer(T0, ids, ml_metrics=False, feedback_max_batch=len(made))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    scoring.score(made)
    per_entry = (tracemalloc.get_traced_memory()[0] - before) / len(made)
    tracemalloc.stop()
    assert 80 < per_entry < 160, per_entry


def test_the_recorder_issues_one_id_per_prediction_that_its_scorer_opens(captured):
    recorder = PredictionRecorder(TelemetryConfig.from_env({"MLOTEL_FEEDBACK_KEY": "shared"}))
    with recorder.predict("pets", "v1", batch_size=2) as prediction:
        prediction.set_results(["cat", "dog"], [0.6, 0.7])
    made = prediction.prediction_ids()
    assert len(made) == 2
    result = FeedbackScorer(recorder.prediction_ids, CLASSES, recorder.config).score(list(zip(made, ["cat", "cat"])))
    assert result.scored == 2
    assert {p.attributes[contract.ATTR_CORRECT]: p.value for p in captured.points(contract.FEEDBACK_OUTCOMES)} == {
        True: 1, False: 1}


def test_a_switched_off_recorder_issues_no_ids():
    recorder = PredictionRecorder(TelemetryConfig.from_env({"OTEL_SDK_DISABLED": "true"}))
    with recorder.predict("pets", "v1", batch_size=1) as prediction:
        prediction.set_results(["cat"], [0.6])
    assert prediction.prediction_ids() == []


def test_an_id_of_the_first_format_still_opens_and_a_forged_one_does_not():
    """Version 1 ids (HMAC-SHA256), issued before version 2 (keyed BLAKE2s), score within the join window."""
    import hashlib
    import hmac
    import struct

    payload = struct.pack("<BqdQ", 1, int(T0 * 1000), 0.9, 7) + b"pets\0v1\0cat"
    old = payload + hmac.new(KEY, payload, hashlib.sha256).digest()[:16]
    opened = PredictionIds(KEY, WINDOW).open(base64.urlsafe_b64encode(old).rstrip(b"=").decode(), now=T0)
    assert (opened.model, opened.label, opened.confidence, opened.nonce) == ("pets", "cat", 0.9, 7)
    forged = payload + hmac.new(b"another key", payload, hashlib.sha256).digest()[:16]
    with pytest.raises(FeedbackRefused) as refused:
        PredictionIds(KEY, WINDOW).open(base64.urlsafe_b64encode(forged).rstrip(b"=").decode(), now=T0)
    assert refused.value.reason == "tampered_id"
    unknown = b"\x03" + old[1:]
    with pytest.raises(FeedbackRefused) as refused:
        PredictionIds(KEY, WINDOW).open(base64.urlsafe_b64encode(unknown).rstrip(b"=").decode(), now=T0)
    assert refused.value.reason == "unknown_id"
