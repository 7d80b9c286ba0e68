"""The prediction under way: what ``with recorder.predict(...)`` hands out (:mod:`mlotel.recorder` is the manual).

:class:`Prediction` times the stages and holds the results until the block
ends, when its recorder (:class:`mlotel.recorder.PredictionRecorder`) puts
them on the span and into the metrics. :func:`current_prediction` finds it
from inside the block, as the model-library instrumentors do; a switched-off
recorder hands out :data:`_DISABLED`, which does nothing.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import context, trace
from opentelemetry.trace import Span

import mlotel_contract as contract
from mlotel.semconv import error_type

if TYPE_CHECKING:
    from mlotel.feature_drift import FeatureCounts
    from mlotel.recorder import PredictionRecorder

# Set by the outermost prediction, read by the library calls inside it (one prediction per call a user makes).
_PREDICTION_KEY = context.create_key("mlotel-prediction")
# Bounds the attribute when request capture is switched on.
MAX_CAPTURED_FEATURES = 64
_MAX_CACHED_STAGE_NAMES = 256


_time_ns = time.time_ns  # one lookup less for each of a stage's two clock reads


class _Stage:
    """Times one stage. A class rather than a generator: it runs three times per request.

    Made by :meth:`Prediction.stage` with ``object.__new__`` and its slots set there:
    an ``__init__`` is one more Python frame per stage. ``__exit__`` names its three
    arguments: ``*exc_info`` packs a tuple each time.
    """

    __slots__ = ("_stages", "_name", "_start")
    _stages: list[tuple[str, int, int]]
    _name: str
    _start: int

    def __enter__(self) -> None:
        self._start = _time_ns()

    def __exit__(self, kind: object, exc: object, traceback: object) -> None:
        self._stages.append((self._name, self._start, _time_ns()))


_new_stage = functools.partial(object.__new__, _Stage)


class Prediction:
    """The prediction under way: stages and results go onto its span.

    Also the context manager that :meth:`PredictionRecorder.predict` returns,
    a class rather than a ``@contextmanager`` generator: one object per
    prediction instead of three, and no generator to resume twice.
    """

    span: Span

    def __init__(self, recorder: PredictionRecorder, model: str, version: str, batch_size: int,
                 features: FeatureCounts | None = None) -> None:
        self._recorder, self._model, self._version = recorder, model, version
        self._features = features
        self.batch_size = batch_size
        self.stages: list[tuple[str, int, int]] = []
        self.labels: Sequence[Any] = ()
        self.confidences: Sequence[float] = ()

    def __enter__(self) -> Prediction:
        recorder = self._recorder
        self._base, name, attributes = recorder._prediction_start(self._model, self._version, self.batch_size)
        self.span = span = recorder.tracer.start_span(name, attributes=attributes)
        self._token = recorder._attach(span, _PREDICTION_KEY, self)
        self._start = time.perf_counter()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, traceback: object) -> None:
        summary: dict[str, Any] = {}
        try:
            if exc is not None:
                self._emit_stage_spans()
                self.span.set_attributes(self.stage_durations())
                self._recorder._record_failure(self.span, self._base, error_type(exc), exc)
            else:
                seconds = time.perf_counter() - self._start
                if seconds * 1e3 >= self._recorder.config.stage_span_threshold_ms:
                    self._emit_stage_spans()
                summary = self._recorder._summary(self)
                self._recorder._record_success(self, self._base, seconds)
        finally:
            # The summary set and the span ended in one call (one lock) where the span is lean.
            self._recorder._finish(self.span, None, summary, False)
            self._recorder._detach(self._token)

    def stage(self, name: str) -> _Stage:
        """Time one stage (``with prediction.stage("inference"):``); see the module docstring."""
        stage = _new_stage()
        stage._stages, stage._name = self.stages, name
        return stage

    def stage_durations(self) -> dict[str, float]:
        durations = {}
        for name, start, end in self.stages:  # not a comprehension: in Python 3.11 that is one more function call
            durations[_stage_attribute(name)] = (end - start) / 1e6
        return durations

    def _emit_stage_spans(self) -> None:
        parent = trace.set_span_in_context(self.span)
        for name, start, end in self.stages:
            stage_span = self._recorder.tracer.start_span(
                name, context=parent, start_time=start, attributes={contract.ATTR_STAGE: name}
            )
            stage_span.end(end_time=end)

    def set_results(self, labels: Sequence[Any], confidences: Sequence[float]) -> None:
        self.labels, self.confidences = labels, confidences

    def prediction_ids(self) -> list[str]:
        """One signed id per result (call after :meth:`set_results`)."""
        return self._recorder.prediction_ids.issue(self._model, self._version, self.labels, self.confidences)

    def set_batch_size(self, batch_size: int) -> None:
        """The instances, when they are known only after the prediction began (a server parses its request inside)."""
        self.batch_size = batch_size
        self.span.set_attribute(contract.ATTR_BATCH_SIZE, batch_size)

    def capture_features(self, instance: Sequence[float]) -> None:
        """Put one instance's feature values on the span, only if capture is switched on."""
        if self._recorder.config.capture_request_content and self.span.is_recording():
            self.span.set_attribute(contract.ATTR_REQUEST_FEATURES, json.dumps(list(instance[:MAX_CAPTURED_FEATURES])))

    def observe_features(self, rows: Any) -> None:
        """Count the rows (instances × features) into the model's feature bins, if it is tracked."""
        if self._features is not None:
            self._features.observe(rows)


@functools.lru_cache(maxsize=_MAX_CACHED_STAGE_NAMES)
def _stage_attribute(stage: str) -> str:
    """The stage's duration attribute, formatted once per stage name: three per prediction."""
    return contract.stage_duration_attribute(stage)


def current_prediction() -> Prediction | None:
    """The prediction under way in this context, opened by a recorder, or None."""
    return context.get_value(_PREDICTION_KEY)  # type: ignore[return-value]  # only ever a Prediction


class _Disabled:
    """What a switched-off recorder hands out: one shared object, no clock reads."""

    span = trace.INVALID_SPAN

    def __enter__(self) -> _Disabled:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def stage(self, name: str) -> _Disabled:
        return self

    def set_results(self, labels: Sequence[Any], confidences: Sequence[float]) -> None:
        pass

    def prediction_ids(self) -> list[str]:
        return []

    def set_batch_size(self, batch_size: int) -> None:
        pass

    def capture_features(self, instance: Sequence[float]) -> None:
        pass

    def observe_features(self, rows: Any) -> None:
        pass


_DISABLED = _Disabled()
