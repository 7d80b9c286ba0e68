"""How outputs become labels and confidences, and the identity fallbacks, on plain values."""

import pickle
import threading

import numpy as np
import pytest

from mlotel import TelemetryConfig
from mlotel.instrumentors import results
from mlotel.instrumentors.identity import Identities, class_name


class Classifier:
    classes_ = np.array(["cat", "dog", "eel"])


class Regressor:
    pass


def test_probabilities_give_the_top_class_and_its_probability():
    labels, confidences = results.probabilities(Classifier(), np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]]))
    assert labels == ["dog", "cat"] and confidences == pytest.approx([0.7, 0.5])


def test_a_binary_boosters_single_column_is_the_positive_class():
    labels, confidences = results.probabilities(Regressor(), np.array([0.9, 0.2]))
    assert labels == [1, 0] and confidences == pytest.approx([0.9, 0.8])


def test_values_without_classes_are_no_labels():
    assert results.labels(Regressor(), np.array([1.5, 2.5])) is None
    assert results.scores(Regressor(), np.array([0.3])) is None
    assert results.none(Classifier(), np.array([1])) is None


def test_decision_scores_give_classes_without_confidence():
    class Binary:
        classes_ = np.array([0.0, 1.0])  # whole-number floats, as some estimators keep them

    assert results.scores(Binary(), np.array([-2.0, 3.0])) == ([0, 1], ())
    assert results.scores(Classifier(), np.array([[0.0, 1.0, 5.0]])) == (["eel"], ())


def test_an_unpicklable_model_is_version_unknown_and_an_unreferenceable_one_is_never_fingerprinted():
    identities = Identities(TelemetryConfig.from_env({}), class_name, pickle.dumps)

    class Locked:
        def __init__(self):
            self.lock = threading.Lock()

    assert identities.of(Locked()) == ("Locked", "unknown")
    assert identities.of(("a", "tuple")) == ("tuple", "unknown")  # no weak reference to a tuple


@pytest.mark.parametrize(
    "classes",
    [None, np.array(["cat", "dog", "eel", "fox"]), np.arange(4.0), np.arange(4.0) + 0.5, np.arange(4), np.array([0.0, 1.0, 2.5, 3.0])],
)
def test_a_small_output_read_in_python_gives_what_numpy_gives(monkeypatch, classes):
    """Small outputs skip argmax and fancy indexing (they let the GIL go); ties, NaN, inf and float32 come out the same."""
    nan, inf = float("nan"), float("inf")
    outputs = [
        np.array([[0.1, 0.7, 0.2, 0.0], [0.5, 0.5, 0.0, 0.0], [0.2, nan, 0.9, nan], [nan, 0.1, 0.2, 0.3]]),
        np.array([[-inf, -inf, 0.0, inf], [0.25, 0.25, 0.25, 0.25]], dtype=np.float32),
        np.array([[0.0, 1.0, 2.5, 3.0]]),
    ]
    model = type("Model", (), {} if classes is None else {"classes_": classes})()
    for output in outputs:
        in_python = results.probabilities(model, output), results.scores(model, output)
        monkeypatch.setattr(results, "SMALL", -1)  # every output through numpy
        with_numpy = results.probabilities(model, output), results.scores(model, output)
        monkeypatch.undo()
        assert repr(in_python) == repr(with_numpy)  # repr: NaN equal to NaN, and 1 tells from 1.0
