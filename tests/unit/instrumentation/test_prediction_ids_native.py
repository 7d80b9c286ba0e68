"""The native prediction-id signer against the Python one, its reference: the same ids for the same input and nonce.

Skipped where ``mlotel_native`` is not installed (an SDK-range end without
it, a machine with no Rust compiler); ``make test`` installs it.
"""

import numpy as np
import pytest

from mlotel import PredictionIds, PredictionRecorder, TelemetryConfig
from mlotel import prediction_ids as module

pytest.importorskip("mlotel_native")

KEY, WINDOW, T0 = b"any string a user sets", 3600.0, 1_800_000_000.0


class Label:
    def __str__(self) -> str:
        return "a label from __str__"


@pytest.mark.parametrize(
    ("labels", "confidences"),
    [
        (["cat"], [0.875]),
        ([], []),
        ([0, 1, 2, 1], [0.5, 0.25, 1.0, 0.0]),
        (np.array([3, 1]), np.array([0.6, 0.9], dtype=np.float32)),  # numpy scalars, as a model returns them
        (["chat noir", "猫", "🐈"], [0.1, 0.2, 0.3]),  # UTF-8 of more than one byte
        ([Label(), None, 2.5, True], [1, 0.5, float("inf"), -0.0]),
        (["nan"], [float("nan")]),
        (["longer", "than", "its", "confidences"], [0.9, 0.8]),  # as zip: as far as the shorter goes
    ],
)
@pytest.mark.parametrize("first_nonce", [0, 7, 2**64 - 2])  # the last: the batch's nonces wrap past 2**64 - 1
def test_native_ids_are_the_python_ids(monkeypatch, labels, confidences, first_nonce):
    """The same nonce to both (the native signer draws its own unless given one, as the Python one does)."""
    monkeypatch.setattr(module, "_first_nonce", lambda: first_nonce)
    python = PredictionIds(KEY, WINDOW, native=False)
    expected = python.issue("iris", "v1", labels, confidences, now=T0)
    native = PredictionIds(KEY, WINDOW, native=True)._native
    assert native is not None
    assert native.issue(int(T0 * 1000), b"iris\0v1\0", labels, confidences, first_nonce) == expected
    assert len(expected) == min(len(labels), len(confidences))
    opened = [python.open(each, now=T0 + 1) for each in expected]
    assert [each.nonce for each in opened] == [(first_nonce + i) % 2**64 for i in range(len(expected))]
    assert [each.label for each in opened] == [str(label) for label in labels][: len(expected)]


def test_the_native_signer_draws_a_nonce_per_batch_and_the_python_opener_opens_its_ids():
    native = PredictionIds(KEY, WINDOW, native=True)
    batches = [native.issue("iris", "v1", ["setosa", "virginica"], [0.9, 0.6], now=T0) for _ in range(3)]
    opened = [[native.open(each, now=T0) for each in batch] for batch in batches]
    assert [[(each.label, each.confidence, each.made_at) for each in batch] for batch in opened] == [
        [("setosa", 0.9, T0), ("virginica", 0.6, T0)]
    ] * 3
    firsts = {batch[0].nonce for batch in opened}
    assert len(firsts) == 3 and all(batch[1].nonce == (batch[0].nonce + 1) % 2**64 for batch in opened)


def test_an_mlotel_native_without_the_signer_falls_back_to_python(monkeypatch):
    """An mlotel-native from before 0.2 (installed by pip from an older tree) has the encoder only."""
    import sys
    import types

    monkeypatch.setitem(sys.modules, "mlotel_native", types.ModuleType("mlotel_native"))
    ids = PredictionIds(KEY, WINDOW, native=True)
    assert ids._native is None
    (issued,) = ids.issue("iris", "1", ["setosa"], [0.9], now=T0)
    assert ids.open(issued, now=T0).label == "setosa"


def test_the_recorder_signs_natively_unless_mlotel_native_is_false():
    on = PredictionRecorder(TelemetryConfig.from_env({"MLOTEL_FEEDBACK_KEY": "k"}))
    off = PredictionRecorder(TelemetryConfig.from_env({"MLOTEL_FEEDBACK_KEY": "k", "MLOTEL_NATIVE": "false"}))
    assert on.prediction_ids._native is not None and off.prediction_ids._native is None
    (issued,) = on.prediction_ids.issue("iris", "1", ["setosa"], [0.9])
    assert off.prediction_ids.open(issued).label == "setosa"


def test_a_label_that_cannot_be_encoded_fails_as_in_python():
    with pytest.raises(UnicodeEncodeError):
        PredictionIds(KEY, WINDOW, native=False).issue("iris", "1", ["\udcff"], [0.9])
    with pytest.raises(UnicodeEncodeError):
        PredictionIds(KEY, WINDOW, native=True).issue("iris", "1", ["\udcff"], [0.9])
