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

The ``predict <model>`` span carries ``ml.model.name``, ``ml.model.version``,
``ml.batch.size`` and the confidence summary; the stages are child spans (or
timed events, ``MLOTEL_STAGE_SPANS=false``). Metrics are recorded while the
span is current, so their exemplars point at this trace. An exception inside
the block is recorded on the span and counted in ``ml.prediction.errors``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context, metrics, trace
from opentelemetry.trace import Span, Status, StatusCode

from instrumentation import views
from instrumentation.config import TelemetryConfig

_SCOPE = "mlotel.prediction"
# Bounds the attribute when request capture is switched on.
MAX_CAPTURED_FEATURES = 64


class _Instruments:
    def __init__(self) -> None:
        meter = metrics.get_meter(_SCOPE)
        self.confidence = meter.create_histogram(
            views.CONFIDENCE, unit="1", description="Confidence of each prediction (top-class probability)."
        )
        self.duration = meter.create_histogram(
            views.PREDICTION_DURATION, unit="s", description="Duration of a prediction call, all stages."
        )
        self.predictions = meter.create_counter(
            views.PREDICTIONS, unit="{prediction}", description="Predictions made, by label."
        )
        self.errors = meter.create_counter(
            views.PREDICTION_ERRORS, unit="{request}", description="Prediction requests that failed or were rejected."
        )
        self.batch_size = meter.create_histogram(
            views.BATCH_SIZE, unit="{instance}", description="Instances per prediction request."
        )


class Prediction:
    """The prediction under way: stages and results go onto its span."""

    def __init__(self, recorder: PredictionRecorder, span: Span, base: dict[str, Any]) -> None:
        self._recorder = recorder
        self.span = span
        self._base = base
        self.labels: Sequence[Any] = ()
        self.confidences: Sequence[float] = ()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if not self.span.is_recording():
            yield
            return
        if self._recorder.config.stage_spans:
            with self._recorder.tracer.start_as_current_span(name, attributes={"ml.stage": name}):
                yield
            return
        start = time.perf_counter()
        yield
        self.span.add_event(name, {"ml.stage": name, "ml.stage.duration_ms": (time.perf_counter() - start) * 1e3})

    def set_results(self, labels: Sequence[Any], confidences: Sequence[float]) -> None:
        self.labels, self.confidences = labels, confidences

    def capture_features(self, instance: Sequence[float]) -> None:
        """Put one instance's feature values on the span, only if capture is switched on."""
        if self._recorder.config.capture_request_content and self.span.is_recording():
            self.span.set_attribute("ml.request.features", json.dumps(list(instance[:MAX_CAPTURED_FEATURES])))


class PredictionRecorder:
    """Creates prediction spans and records ML metrics; cheap when switched off."""

    def __init__(self, config: TelemetryConfig | None = None) -> None:
        self.config = config or TelemetryConfig.from_env()
        self.enabled = self.config.enabled("mlotel")
        self.metrics_on = self.enabled and self.config.ml_metrics and self.config.metrics_on
        self.tracer = trace.get_tracer(_SCOPE)
        self._instruments = _Instruments() if self.metrics_on else None

    @contextmanager
    def predict(self, model: str, version: str, batch_size: int) -> Iterator[Prediction]:
        base = {"ml.model.name": model, "ml.model.version": version}
        if not self.enabled:
            yield Prediction(self, trace.INVALID_SPAN, base)
            return
        span = self.tracer.start_span(f"predict {model}", attributes={**base, "ml.batch.size": batch_size})
        token = context.attach(trace.set_span_in_context(span))
        start = time.perf_counter()
        prediction = Prediction(self, span, base)
        try:
            yield prediction
        except BaseException as exc:
            self._record_failure(span, base, type(exc).__qualname__, exc)
            raise
        else:
            self._record_success(prediction, base, batch_size, time.perf_counter() - start)
        finally:
            span.end()
            context.detach(token)

    def record_rejected(self, model: str, version: str, error_type: str) -> None:
        """Count a request refused before prediction (bad input, unknown model)."""
        if self._instruments is not None:
            self._instruments.errors.add(
                1, {"ml.model.name": model, "ml.model.version": version, "error.type": error_type}
            )

    def _record_failure(self, span: Span, base: dict[str, Any], error_type: str, exc: BaseException) -> None:
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, error_type))
        span.set_attribute("error.type", error_type)
        if self._instruments is not None:
            self._instruments.errors.add(1, {**base, "error.type": error_type})

    def _record_success(self, prediction: Prediction, base: dict[str, Any], batch_size: int, seconds: float) -> None:
        confidences = prediction.confidences
        threshold = self.config.low_confidence_threshold
        low = sum(1 for c in confidences if c < threshold)
        span = prediction.span
        if confidences and span.is_recording():
            span.set_attributes(
                {
                    "ml.prediction.confidence.min": min(confidences),
                    "ml.prediction.confidence.max": max(confidences),
                    "ml.prediction.confidence.mean": sum(confidences) / len(confidences),
                    "ml.prediction.low_confidence_count": low,
                }
            )
            if low:
                span.add_event("low_confidence", {"ml.prediction.low_confidence_count": low, "threshold": threshold})
        instruments = self._instruments
        if instruments is None:
            return
        instruments.duration.record(seconds, base)
        instruments.batch_size.record(batch_size, base)
        for label, confidence in zip(prediction.labels, confidences):
            attributes = {**base, "ml.prediction.label": str(label)}
            instruments.confidence.record(confidence, attributes)
            # The flag makes the low-confidence ratio exact for any threshold, not only a bucket bound.
            instruments.predictions.add(1, {**attributes, "ml.prediction.low_confidence": confidence < threshold})
