"""The metrics contract's buckets as SDK :class:`~opentelemetry.sdk.metrics.view.View` objects.

Bucket bounds are part of the contract with dashboards and alert rules (a
low-confidence ratio reads the 0.5 bucket); they are declared once, in
:mod:`mlotel_contract`.
"""

from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View

from mlotel_contract import (
    BATCH_SIZE,
    BATCH_SIZE_BUCKETS,
    CONFIDENCE,
    CONFIDENCE_BUCKETS,
    DURATION_BUCKETS,
    FEEDBACK_DELAY,
    FEEDBACK_DELAY_BUCKETS,
    HTTP_SERVER_DURATION,
    HTTP_SERVER_DURATION_BUCKETS,
    PREDICTION_DURATION,
)


def ml_views() -> list[View]:
    """Views that give each mlotel histogram its buckets."""
    return [
        View(instrument_name=CONFIDENCE, aggregation=ExplicitBucketHistogramAggregation(CONFIDENCE_BUCKETS)),
        View(instrument_name=PREDICTION_DURATION, aggregation=ExplicitBucketHistogramAggregation(DURATION_BUCKETS)),
        View(instrument_name=HTTP_SERVER_DURATION, aggregation=ExplicitBucketHistogramAggregation(HTTP_SERVER_DURATION_BUCKETS)),
        View(instrument_name=BATCH_SIZE, aggregation=ExplicitBucketHistogramAggregation(BATCH_SIZE_BUCKETS)),
        View(instrument_name=FEEDBACK_DELAY, aggregation=ExplicitBucketHistogramAggregation(FEEDBACK_DELAY_BUCKETS)),
    ]
