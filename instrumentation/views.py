"""Histogram buckets and instrument names: the metrics contract of mlotel.

Bucket bounds are part of the contract with dashboards and alert rules
(a low-confidence ratio reads the 0.5 bucket), so they are declared once here
and handed to the SDK as :class:`~opentelemetry.sdk.metrics.view.View` objects.
"""

from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View

CONFIDENCE = "ml.prediction.confidence"
PREDICTION_DURATION = "ml.prediction.duration"
PREDICTIONS = "ml.predictions"
PREDICTION_ERRORS = "ml.prediction.errors"
BATCH_SIZE = "ml.batch.size"
HTTP_SERVER_DURATION = "http.server.request.duration"

CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
# Sub-millisecond to seconds: a one-row logistic regression takes ~0.2 ms,
# a thousand-row forest several hundred.
DURATION_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


def ml_views() -> list[View]:
    """Views that give each mlotel histogram its buckets."""
    return [
        View(instrument_name=CONFIDENCE, aggregation=ExplicitBucketHistogramAggregation(CONFIDENCE_BUCKETS)),
        View(instrument_name=PREDICTION_DURATION, aggregation=ExplicitBucketHistogramAggregation(DURATION_BUCKETS)),
        View(instrument_name=HTTP_SERVER_DURATION, aggregation=ExplicitBucketHistogramAggregation(DURATION_BUCKETS)),
        View(instrument_name=BATCH_SIZE, aggregation=ExplicitBucketHistogramAggregation(BATCH_SIZE_BUCKETS)),
    ]
