"""The prediction recorder on its own, as any model server would use it."""

import pytest
from opentelemetry.sdk.metrics import Histogram as SdkHistogram
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from mlotel import PredictionRecorder, TelemetryConfig, setup_telemetry
from mlotel.fastpath.lean_spans import LeanTracer
from mlotel.fastpath.measurements import DROPPED_METRIC


def test_a_failed_prediction_is_an_error_span_with_stages_and_is_counted(captured):
    recorder = PredictionRecorder(TelemetryConfig.from_env({}))
    with pytest.raises(ValueError):
        with recorder.predict("fraud", "v7", batch_size=2) as prediction:
            with prediction.stage("preprocess"):
                pass
            with prediction.stage("inference"):
                raise ValueError("model exploded")
    (span,) = captured.spans("predict fraud")
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "ValueError"
    assert [e.name for e in span.events] == ["exception"]
    assert sorted(s.name for s in captured.spans() if s.parent) == ["inference", "preprocess"]
    (error,) = captured.points("ml.prediction.errors")
    assert error.value == 1 and dict(error.attributes) == {
        "ml.model.name": "fraud",
        "ml.model.version": "v7",
        "error.type": "ValueError",
    }
    assert captured.points("ml.predictions") == []


@pytest.mark.fastpath
def test_recorder_switched_off_records_nothing(captured):
    recorder = PredictionRecorder(TelemetryConfig.from_env({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "mlotel"}))
    with recorder.predict("fraud", "v7", batch_size=1) as prediction:
        with prediction.stage("inference"):
            pass
        prediction.set_results(["yes"], [0.9])
    recorder.record_rejected("fraud", "v7", "bad_input")
    assert captured.spans() == []
    assert set(captured.metrics()) == {DROPPED_METRIC}  # the queue's own count, nothing from the recorder


@pytest.mark.fastpath
def test_a_recorder_built_before_set_up_records_through_the_sdk_not_proxies():
    recorder = PredictionRecorder(TelemetryConfig.from_env({}))  # as create_app does, before the lifespan
    spans = InMemorySpanExporter()
    config = TelemetryConfig.from_env({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "system_metrics,logging"})
    telemetry = setup_telemetry(config, span_processors=[SimpleSpanProcessor(spans)], metric_readers=[InMemoryMetricReader()])
    try:
        with recorder.predict("iris", "v1", batch_size=1) as prediction:
            prediction.set_results(["setosa"], [0.9])
        assert isinstance(recorder.tracer, LeanTracer)
        assert isinstance(recorder._instruments.confidence, SdkHistogram)
        assert [s.name for s in spans.get_finished_spans()] == ["predict iris"]
    finally:
        telemetry.shutdown()


def test_each_prediction_span_carries_its_own_batch_size_whatever_its_type(captured):
    import numpy as np

    recorder = PredictionRecorder(TelemetryConfig.from_env({}))
    sizes = [np.int64(2), 2, 3, 3.0, np.array(4)]  # the last one no dict can hold as a key
    for size in sizes:
        with recorder.predict("iris", "v1", batch_size=size) as prediction:
            prediction.set_results(["setosa"], [0.9])
    # (The array's own attribute is whatever the SDK release makes of it, kept or dropped.)
    given = [span.attributes.get("ml.batch.size") for span in captured.spans("predict iris")]
    # As each span's own attribute would be: an int stays an int, whatever came before it of an equal value.
    assert [(type(value), value) for value in given[1:4]] == [(int, 2), (int, 3), (float, 3.0)]
    assert len(given) == len(sizes)


def test_a_label_that_cannot_be_an_attribute_fails_the_prediction_and_keeps_what_came_before(captured):
    recorder = PredictionRecorder(TelemetryConfig.from_env({}))
    with pytest.raises(TypeError):
        with recorder.predict("iris", "v1", batch_size=2) as prediction:
            with prediction.stage("inference"):
                pass
            prediction.set_results(["setosa", ["not", "hashable"]], [0.9, 0.8])
    (span,) = captured.spans("predict iris")
    assert span.end_time is not None and "ml.prediction.confidence.min" in span.attributes
    assert [point.count for point in captured.points("ml.prediction.duration")] == [1]
    assert [point.value for point in captured.points("ml.predictions")] == [1]  # setosa's, before the bad label


def test_the_confidence_summary_is_on_the_span_as_the_sdk_keeps_it_whatever_type_the_confidences_are(captured):
    from decimal import Decimal

    import numpy as np
    from opentelemetry.attributes import BoundedAttributes

    import mlotel_contract as contract

    recorder = PredictionRecorder(TelemetryConfig.from_env({}))
    # Python's floats (checked once by the recorder, stored as they are), numpy's (a float subclass: the span
    # checks them) and Decimals (no attribute type: the SDK cleans them, and so must the summary).
    given = {"float": [0.3, 0.9], "numpy": list(np.array([0.3, 0.9])), "decimal": [Decimal("0.3"), Decimal("0.9")]}
    for kind, confidences in given.items():
        with recorder.predict(kind, "v1", batch_size=2) as prediction:
            with prediction.stage("inference"):
                pass
            prediction.set_results(["a", "b"], confidences)
    parts = (contract.ATTR_CONFIDENCE_MIN, contract.ATTR_CONFIDENCE_MAX, contract.ATTR_CONFIDENCE_MEAN)
    for kind, confidences in given.items():
        (span,) = captured.spans(f"predict {kind}")
        summary = {key: (type(value), value) for key, value in span.attributes.items()}
        assert summary[contract.ATTR_LOW_CONFIDENCE_COUNT] == (int, 1)
        assert summary[contract.stage_duration_attribute("inference")][0] is float
        # What this SDK release's attribute cleaning makes of each value (kept, made a str or dropped).
        values = (min(confidences), max(confidences), sum(confidences) / len(confidences))
        expected = dict(BoundedAttributes(None, dict(zip(parts, values))))
        assert {part: summary.get(part) for part in parts} == {
            part: (type(expected[part]), expected[part]) if part in expected else None for part in parts}
    (floats,) = captured.spans("predict float")
    assert [floats.attributes[part] for part in parts] == [0.3, 0.9, (0.3 + 0.9) / 2]
