"""ONNX Runtime's sessions, predictions traced with no code (entry point ``mlotel_onnxruntime``).

Wrapped, when ``onnxruntime`` is imported: ``InferenceSession.run`` of a
session whose outputs include class probabilities, as a converted classifier
has them (skl2onnx, onnxmltools): an output that is a sequence of maps
(``ZipMap``, class to probability) or a float tensor whose name says
``prob``. Labels are the map's keys, or the session's label output, or class
indices; confidence is the top probability. Any other session (an
embedding, a regressor, an image model) is left alone, decided once per
session from its output metadata; a call asking for only some outputs gives
the span, duration and batch size. Default name: the graph's name, else the
model file's stem, else ``InferenceSession``; version: a fingerprint of the
model's bytes (:mod:`mlotel.instrumentors.identity`).
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import numpy as np

from mlotel.instrumentors.results import Results, probabilities
from mlotel.instrumentors.wrapper import ModelLibraryInstrumentor, Wrapped

_instruments = ("onnxruntime >= 1.16, < 2",)

# Per session: (index of the probability output, index of the label output or None), or None: no probabilities.
_layouts: weakref.WeakKeyDictionary[Any, tuple[int, int | None] | None] = weakref.WeakKeyDictionary()


def _layout(session: Any) -> tuple[int, int | None] | None:
    if session in _layouts:
        return _layouts[session]
    outputs = session.get_outputs()
    probability = next(
        (i for i, o in enumerate(outputs) if o.type.startswith("seq(map(") or ("prob" in o.name.lower() and o.type == "tensor(float)")),
        None,
    )
    label = next((i for i, o in enumerate(outputs) if "label" in o.name.lower() and len(o.shape or ()) == 1), None)
    found = None if probability is None else (probability, label)
    _layouts[session] = found
    return found


def session_results(session: Any, outputs: Any) -> Results | None:
    layout = _layout(session)
    if layout is None or len(outputs) != len(session.get_outputs()):
        return None  # some outputs only: which is which is not known here
    probability, label = outputs[layout[0]], layout[1]
    if isinstance(probability, list) and probability and isinstance(probability[0], dict):  # ZipMap: class -> probability
        best = [max(row.items(), key=lambda item: item[1]) for row in probability]
        return [key for key, _ in best], [float(value) for _, value in best]
    found = probabilities(session, probability)
    if found is not None and label is not None:
        return np.asarray(outputs[label]).tolist(), found[1]
    return found


def _has_probabilities(session: Any, kwargs: dict) -> bool:
    return _layout(session) is not None


def _rows(args: tuple, kwargs: dict) -> int:
    feed = args[1] if len(args) > 1 else kwargs.get("input_feed", {})
    first = next(iter(feed.values()), ())
    shape = getattr(first, "shape", None)
    return int(shape[0]) if shape else len(first)


class OnnxRuntimeInstrumentor(ModelLibraryInstrumentor):
    """One prediction per ``run`` of a session that gives class probabilities."""

    _instruments = _instruments
    table = (
        Wrapped("onnxruntime.capi.onnxruntime_inference_collection", "Session.run", session_results, _rows, _has_probabilities),
    )

    def default_name(self, model: Any) -> str:
        graph = model.get_modelmeta().graph_name
        path = getattr(model, "_model_path", None)
        return graph or (Path(path).stem if path else type(model).__name__)

    def fingerprint(self, model: Any) -> bytes:
        path = getattr(model, "_model_path", None)
        return Path(path).read_bytes() if path else bytes(model._model_bytes)
