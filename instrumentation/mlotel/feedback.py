"""Scores actual outcomes against the predictions they belong to.

Usage, in a model server or a job that joins labels itself (a nightly job
reading them from a warehouse)::

    scorer = FeedbackScorer(recorder.prediction_ids, classes={"iris": {"setosa", "versicolor", "virginica"}})
    result = scorer.score([(prediction_id, "setosa"), ...])   # FeedbackRefused if any is bad
    result.scored, result.duplicates

Prediction ids come from :meth:`mlotel.recorder.Prediction.prediction_ids`
(see :mod:`mlotel.prediction_ids`): each carries its model, version, label,
confidence and time, signed, so any replica sharing ``MLOTEL_FEEDBACK_KEY``
scores it without a shared store.

A batch is scored whole or not at all: the first bad item (an id that is not
ours, altered, or older than the join window; a label the model does not have;
more than ``MLOTEL_FEEDBACK_MAX_BATCH`` items) refuses the call with
:class:`FeedbackRefused`, which names the item's position and never echoes it;
the refusal is counted in ``ml.feedback.refused`` by reason, nothing else is
recorded. For each scored prediction: ``ml.feedback.outcomes`` (correct or
not, by confidence bin), ``ml.feedback.confidence`` (its confidence, summed),
``ml.feedback.delay`` (seconds since the prediction). The contract
(:mod:`mlotel_contract`) turns them into realized accuracy and calibration.

Feedback for a prediction already scored by this process within the join
window counts once (``ml.feedback.duplicates``). The process remembers at most
``MLOTEL_FEEDBACK_DEDUPE_MAX`` scored predictions; the oldest falls out when
full, counted in ``ml.feedback.dedupe.evicted``. Replicas remember separately:
the same feedback sent to two replicas counts twice, so a client that retries
should retry against the same replica (or route feedback by id).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from opentelemetry import metrics

import mlotel_contract as contract
from mlotel.config import TelemetryConfig
from mlotel.prediction_ids import FeedbackRefused, IssuedPrediction, PredictionIds
from mlotel.semconv import SCHEMA_URL, __version__

_SCOPE = "mlotel.feedback"


@dataclass(frozen=True)
class FeedbackResult:
    scored: int
    duplicates: int


class _Instruments:
    def __init__(self) -> None:
        meter = metrics.get_meter(_SCOPE, __version__, schema_url=SCHEMA_URL)
        self.outcomes = meter.create_counter(
            contract.FEEDBACK_OUTCOMES, unit="{prediction}", description="Predictions scored against their actual outcome."
        )
        self.confidence = meter.create_counter(
            contract.FEEDBACK_CONFIDENCE, unit="1", description="Top-class confidence of scored predictions, summed."
        )
        self.delay = meter.create_histogram(
            contract.FEEDBACK_DELAY,
            unit="s",
            description="Time from a prediction to its feedback.",
            explicit_bucket_boundaries_advisory=contract.FEEDBACK_DELAY_BUCKETS,
        )
        self.refused = meter.create_counter(
            contract.FEEDBACK_REFUSED, unit="{request}", description="Feedback calls refused, by reason."
        )
        self.duplicates = meter.create_counter(
            contract.FEEDBACK_DUPLICATES, unit="{prediction}", description="Feedback for predictions already scored."
        )
        self.evicted = meter.create_counter(
            contract.FEEDBACK_DEDUPE_EVICTED,
            unit="{prediction}",
            description="Scored predictions forgotten before their join window ended (dedupe memory full).",
        )


class FeedbackScorer:
    """Scores feedback batches and records the outcome metrics; ``classes`` maps each model to its labels."""

    def __init__(
        self,
        ids: PredictionIds,
        classes: Mapping[str, Iterable[str]],
        config: TelemetryConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config or TelemetryConfig.from_env()
        self._ids, self._clock = ids, clock
        self._classes = {model: frozenset(labels) for model, labels in classes.items()}
        # Nonce of each scored prediction -> when its id expires; a dict keeps insertion order, so
        # the first key is the oldest. Why not a library: a bounded, ordered set is these few lines.
        self._seen: dict[int, float] = {}
        self._seen_lock = threading.Lock()  # a server scores batches on several threads at once
        self.max_held = self.config.feedback_dedupe_max

    @cached_property
    def _instruments(self) -> _Instruments | None:
        on = self.config.enabled("mlotel") and self.config.ml_metrics and self.config.metrics_on
        return _Instruments() if on else None

    def score(self, items: Sequence[tuple[str, str]]) -> FeedbackResult:
        """Score ``(prediction id, actual label)`` pairs, all or none; :class:`FeedbackRefused` names the first bad one."""
        now = self._clock()
        try:
            opened = self._check(items, now)
        except FeedbackRefused as refused:
            self.count_refused(refused.reason)
            raise
        fresh = []
        with self._seen_lock:
            for issued, actual in opened:
                # Also catches the same prediction twice in one batch: each is remembered as it is scored.
                if issued.nonce not in self._seen:
                    self._remember(issued.nonce, issued.made_at + self._ids.window_seconds, now)
                    fresh.append((issued, actual))
        for issued, actual in fresh:
            self._record(issued, actual, now)
        scored, duplicates = len(fresh), len(opened) - len(fresh)
        if duplicates and self._instruments is not None:
            self._instruments.duplicates.add(duplicates)
        return FeedbackResult(scored, duplicates)

    def count_refused(self, reason: str) -> None:
        """Count a refusal found before scoring (a server's own checks: a body that fails its schema, a wrong token)."""
        if self._instruments is not None:
            self._instruments.refused.add(1, {"error.type": reason})

    def _check(self, items: Sequence[tuple[str, str]], now: float) -> list[tuple[IssuedPrediction, str]]:
        if len(items) > self.config.feedback_max_batch:
            raise FeedbackRefused(
                "batch_too_large", f"{len(items)} outcomes is over the limit of {self.config.feedback_max_batch}", 413
            )
        opened = []
        for index, (prediction_id, actual) in enumerate(items):
            try:
                issued = self._ids.open(prediction_id, now)
                labels = self._classes.get(issued.model)
                if labels is None:
                    raise FeedbackRefused("unknown_model", "the prediction's model is not served here")
                if actual not in labels:
                    raise FeedbackRefused("unknown_label", f"model {issued.model!r} has no such label")
            except FeedbackRefused as refused:
                raise FeedbackRefused(refused.reason, f"item {index}: {refused.message}", refused.status) from None
            opened.append((issued, actual))
        return opened

    def _remember(self, nonce: int, expires: float, now: float) -> None:
        seen = self._seen
        seen[nonce] = expires
        while len(seen) > self.max_held:
            oldest = next(iter(seen))
            if seen.pop(oldest) > now and self._instruments is not None:
                self._instruments.evicted.add(1)

    def _record(self, issued: IssuedPrediction, actual: str, now: float) -> None:
        instruments = self._instruments
        if instruments is None:
            return
        base = {contract.ATTR_MODEL_NAME: issued.model, contract.ATTR_MODEL_VERSION: issued.version}
        attributes: dict[str, str | bool] = {
            **base,
            contract.ATTR_CORRECT: issued.label == actual,
            contract.ATTR_CONFIDENCE_BIN: contract.confidence_bin(issued.confidence),
        }
        instruments.outcomes.add(1, attributes)
        instruments.confidence.add(issued.confidence, attributes)
        instruments.delay.record(max(now - issued.made_at, 0.0), base)

    @property
    def held(self) -> int:
        """Scored predictions remembered for the dedupe, now."""
        return len(self._seen)
