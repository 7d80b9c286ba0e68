"""Records one prediction call as a span and as ML metrics.

Usage, in any model server::

    recorder = PredictionRecorder()
    with recorder.predict("iris", "3f2a9c1b", batch_size=len(rows)) as prediction:
        with prediction.stage("preprocess"):
            features = prepare(rows)
        with prediction.stage("inference"):
            probabilities = model.predict_proba(features)
        with prediction.stage("postprocess"):
            labels, confidences = decode(probabilities)
        prediction.set_results(labels, confidences)
        ids = prediction.prediction_ids()   # one per instance, for the client to send back with the outcome

The ``predict <model>`` span carries ``ml.model.name``, ``ml.model.version``,
``ml.batch.size``, the confidence summary and each stage's duration. A slow
(``MLOTEL_STAGE_SPAN_THRESHOLD_MS``) or failed prediction also gets its stages
as child spans, created after the fact with their measured start and end
times: the detail is there where someone will look, and fast predictions
do not pay for three more spans. Metrics are taken while the span is
current, so their exemplars point at this trace, and with ``MLOTEL_FASTPATH``
recorded off the request path (:mod:`mlotel.request_path`). An exception inside the
block is recorded on the span and counted in ``ml.prediction.errors``.

Inside the block, :func:`current_prediction` returns the prediction under way:
the model-library instrumentors (:mod:`mlotel.instrumentors`) find it there
and add their results to it instead of recording a second prediction.
Results with labels and no confidences (a ``predict`` that gives classes
only) count in ``ml.predictions`` by label, without the low-confidence flag.

More calls:

- ``prediction.capture_features(instance)`` puts one instance's feature
  values (at most 64) on the span as ``ml.request.features``, and only with
  ``MLOTEL_CAPTURE_REQUEST_CONTENT=true``: the variable alone captures
  nothing, since only the code knows which values are the features.
- ``recorder.record_rejected(model, version, error_type)`` counts a request
  refused before any prediction (bad input, unknown model) in
  ``ml.prediction.errors`` with that ``error.type``; no span.
- ``prediction.prediction_ids()`` signs one id per prediction (:mod:`mlotel.prediction_ids`)
  for a server that answers in its own format to hand back; the client returns
  it with the actual outcome and :class:`mlotel.feedback.FeedbackScorer`, built
  on ``recorder.prediction_ids``, scores it. Switched off, the recorder gives
  no ids (an empty list).

For input drift, ``recorder.track_features(model, version, reference=...)``
once and ``prediction.observe_features(rows)`` in the block bin the inputs
against the training data (:mod:`mlotel.feature_drift`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opentelemetry import metrics, trace
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.trace import Span, Status, StatusCode

import mlotel_contract as contract
from mlotel import request_path
from mlotel.config import TelemetryConfig
from mlotel.plain_attributes import PLAIN_TYPES, PlainAttributes, plain
from mlotel.prediction import _DISABLED, MAX_CAPTURED_FEATURES, Prediction, _Disabled, current_prediction
from mlotel.prediction_ids import PredictionIds, signing_key
from mlotel.semconv import SCHEMA_URL, __version__

if TYPE_CHECKING:  # numpy is optional: mlotel.feature_drift is imported only when features are tracked
    from mlotel.feature_drift import FeatureDrift, FeatureProfile

_SCOPE = "mlotel.prediction"
# Imported from mlotel.prediction, where they live, and named here, where users and instrumentors look for them.
__all__ = ["MAX_CAPTURED_FEATURES", "Prediction", "PredictionRecorder", "current_prediction"]
_MAX_CACHED_MODELS = 256
_MAX_CACHED_STARTS = 4096
# A confidence summary's values that a span stores as they are: the plain types but str, whose length it would check.
_PLAIN_NUMBERS = PLAIN_TYPES - {str}


class _Instruments:
    def __init__(self) -> None:
        meter = metrics.get_meter(_SCOPE, __version__, schema_url=SCHEMA_URL)
        # The buckets are advice to whichever provider records them; mlotel's Views only repeat them.
        self.confidence = meter.create_histogram(
            contract.CONFIDENCE,
            unit="1",
            description="Confidence of each prediction (top-class probability).",
            explicit_bucket_boundaries_advisory=contract.CONFIDENCE_BUCKETS,
        )
        self.duration = meter.create_histogram(
            contract.PREDICTION_DURATION,
            unit="s",
            description="Duration of a prediction call, all stages.",
            explicit_bucket_boundaries_advisory=contract.DURATION_BUCKETS,
        )
        self.predictions = meter.create_counter(
            contract.PREDICTIONS, unit="{prediction}", description="Predictions made, by label."
        )
        self.errors = meter.create_counter(
            contract.PREDICTION_ERRORS, unit="{request}", description="Prediction requests that failed or were rejected."
        )
        self.batch_size = meter.create_histogram(
            contract.BATCH_SIZE,
            unit="{instance}",
            description="Instances per prediction request.",
            explicit_bucket_boundaries_advisory=contract.BATCH_SIZE_BUCKETS,
        )
        # Bound once: one object each, where a lookup per use makes a new one (and the queue's grouping compares them).
        self.record_confidence, self.record_duration = self.confidence.record, self.duration.record
        self.record_batch_size, self.add_prediction = self.batch_size.record, self.predictions.add

class PredictionRecorder:
    """Creates prediction spans and records ML metrics; cheap when switched off."""

    def __init__(self, config: TelemetryConfig | None = None) -> None:
        self.config = config or TelemetryConfig.from_env()
        self._record, self._add = request_path.recorders(self.config)
        self._record_all = request_path.all_recorder(self.config)
        self._attach, self._detach = request_path.context_setters(self.config)
        _, self._finish = request_path.span_ends_for(self.config)
        self.enabled = self.config.enabled("mlotel")
        self.metrics_on = self.enabled and self.config.ml_metrics and self.config.metrics_on
        self._attribute_cache: dict[tuple, tuple[dict, dict]] = {}
        self._model_cache: dict[tuple[str, str], dict[str, Any]] = {}
        self._start_cache: dict[tuple[str, str, int], tuple[dict[str, Any], str, dict[str, Any]]] = {}
        self._feature_drift: FeatureDrift | None = None

    # Looked up at the first prediction: a recorder is usually built before the providers
    # are installed, and a tracer or instrument taken then is a proxy, one more call each time.
    @cached_property
    def tracer(self) -> trace.Tracer:
        return request_path.get_tracer(_SCOPE, self.config)

    @cached_property
    def _instruments(self) -> _Instruments | None:
        return _Instruments() if self.metrics_on else None

    def track_features(self, model: str, version: str, reference: Any,
                       names: Sequence[str] | None = None) -> FeatureProfile | None:
        """Bin ``model``/``version``'s inputs against ``reference`` (the training rows, a saved
        :class:`~mlotel.feature_drift.FeatureProfile` or its path); None when metrics are off."""
        if not self.metrics_on or self.config.drift_features == 0:
            return None
        from mlotel.feature_drift import FeatureDrift, FeatureProfile

        if isinstance(reference, (str, Path)):
            reference = FeatureProfile.load(reference)
        elif not isinstance(reference, FeatureProfile):
            reference = FeatureProfile.from_reference(reference, names, self.config.drift_features, self.config.drift_bins)
        if self._feature_drift is None:
            self._feature_drift = FeatureDrift()
        return self._feature_drift.track(model, version, reference).profile

    @cached_property
    def prediction_ids(self) -> PredictionIds:
        """Signs this recorder's prediction ids; hand it to a :class:`mlotel.feedback.FeedbackScorer`."""
        return PredictionIds(signing_key(self.config.feedback_key), self.config.feedback_window_seconds, self.config.native)

    def predict(self, model: str, version: str, batch_size: int) -> contextlib.AbstractContextManager[Prediction | _Disabled]:
        """Context manager around one prediction call; yields a :class:`Prediction`."""
        if not self.enabled:
            return _DISABLED
        tracked = self._feature_drift.tracked.get((model, version)) if self._feature_drift is not None else None
        return Prediction(self, model, version, batch_size, tracked)

    def record_rejected(self, model: str, version: str, error_type: str) -> None:
        """Count a request refused before prediction (bad input, unknown model)."""
        if self._instruments is not None:
            self._record(
                self._instruments.errors.add,
                1,
                {contract.ATTR_MODEL_NAME: model, contract.ATTR_MODEL_VERSION: version, ERROR_TYPE: error_type},
            )

    def _record_failure(self, span: Span, base: dict[str, Any], error_type: str, exc: BaseException) -> None:
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, error_type))
        span.set_attribute(ERROR_TYPE, error_type)
        if self._instruments is not None:
            self._record(self._instruments.errors.add, 1, {**base, ERROR_TYPE: error_type})

    def _summary(self, prediction: Prediction) -> dict[str, Any]:
        """The span's summary attributes, set as it ends (empty for a span not recording); the low-confidence event."""
        span = prediction.span
        if not span.is_recording():
            return {}
        confidences = prediction.confidences
        threshold = self.config.low_confidence_threshold
        # Checked here rather than by the span, attribute by attribute (mlotel.plain_attributes): the durations
        # are floats under "ml.stage.<name>.duration_ms" keys, the low count an int; the confidences are the
        # caller's, plain unless they are numpy's (or another float subclass's), when the span checks them.
        summary = PlainAttributes(prediction.stage_durations())
        summary.longest = 0  # no str value
        if confidences:
            low = 0
            for confidence in confidences:  # a loop, not sum() over a generator: a request has one or a few
                if confidence < threshold:
                    low += 1
            lowest, highest, mean = min(confidences), max(confidences), sum(confidences) / len(confidences)
            summary[contract.ATTR_CONFIDENCE_MIN] = lowest
            summary[contract.ATTR_CONFIDENCE_MAX] = highest
            summary[contract.ATTR_CONFIDENCE_MEAN] = mean
            summary[contract.ATTR_LOW_CONFIDENCE_COUNT] = low
            if low:
                span.add_event("low_confidence", {contract.ATTR_LOW_CONFIDENCE_COUNT: low, "threshold": threshold})
            if not (type(lowest) in _PLAIN_NUMBERS and type(highest) in _PLAIN_NUMBERS and type(mean) in _PLAIN_NUMBERS):
                return dict(summary)
        return summary

    def _record_success(self, prediction: Prediction, base: dict[str, Any], seconds: float) -> None:
        instruments = self._instruments
        if instruments is None:
            return
        # With MLOTEL_FASTPATH queued as one entry, recorded off the request path, still linked to this span
        # (mlotel.request_path); flat, four items a measurement, then the span: one object, however many instances. The
        # counts: True, summed per label before they reach the SDK, the cached dict making the sum.
        measured = [instruments.record_duration, seconds, base, False,
                    instruments.record_batch_size, prediction.batch_size, base, False]
        add = measured.extend
        threshold, confidences = self.config.low_confidence_threshold, prediction.confidences
        try:  # a label that cannot be an attribute (unhashable) fails the prediction; what came before is kept
            for label, confidence in zip(prediction.labels, confidences):
                by_label, by_label_and_flag = self._label_attributes(base, label, confidence < threshold)
                add((instruments.record_confidence, confidence, by_label, False,
                     instruments.add_prediction, 1, by_label_and_flag, True))
            if not confidences:
                # Labels alone (a classifier's predict): counted, with no confidence to flag.
                for label in prediction.labels:
                    add((instruments.add_prediction, 1, self._label_attributes(base, label, False)[0], True))
        finally:
            measured.append(prediction.span)  # what they were taken in, last
            self._record_all(measured)

    def _prediction_start(self, model: str, version: str, batch_size: int) -> tuple[dict[str, Any], str, dict[str, Any]]:
        """The model's attributes, and the ``predict`` span's name and first attributes, made once per batch size."""
        key = (model, version, batch_size)
        start = self._start_cache.get(key) if type(batch_size) is int else None
        if start is None:
            base = self._model_attributes(model, version)
            start = (base, f"predict {model}", plain({**base, contract.ATTR_BATCH_SIZE: batch_size}))
            # Only an int's: equal sizes of other types (numpy's, a float) are other attribute values,
            # and a size that is no int may not even hash. Models times sizes: bounded all the same.
            if type(batch_size) is int and len(self._start_cache) < _MAX_CACHED_STARTS:
                self._start_cache[key] = start
        return start

    def _model_attributes(self, model: str, version: str) -> dict[str, Any]:
        """One dict per model version: the measurement queue records the measurements of one dict at once."""
        key = (model, version)
        base = self._model_cache.get(key)
        if base is None:
            base = {contract.ATTR_MODEL_NAME: model, contract.ATTR_MODEL_VERSION: version}
            if len(self._model_cache) < _MAX_CACHED_MODELS:  # a model server serves a few; bounded all the same
                self._model_cache[key] = base
        return base

    def _label_attributes(self, base: dict[str, Any], label: Any, is_low: bool) -> tuple[dict, dict]:
        """Attribute sets per label, built once: labels are a small bounded set per model."""
        key = (base[contract.ATTR_MODEL_NAME], base[contract.ATTR_MODEL_VERSION], label, is_low)
        cached = self._attribute_cache.get(key)
        if cached is None:
            by_label = {**base, contract.ATTR_PREDICTION_LABEL: str(label)}
            # The flag makes the low-confidence ratio exact for any threshold, not only a bucket bound.
            cached = (by_label, {**by_label, contract.ATTR_LOW_CONFIDENCE: is_low})
            self._attribute_cache[key] = cached
        return cached
