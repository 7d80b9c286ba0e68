"""What the instrumented ML API really emits, read from the SDK's in-memory exporter and reader."""

import bisect

from opentelemetry.trace import SpanKind, StatusCode

from mlotel_contract import CONFIDENCE_BUCKETS
from mlotel_model_server.models import ServedModel

IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.3, 2.8, 4.9, 1.6], [6.9, 3.1, 5.4, 2.1]]
PARENT_TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT = f"00-{PARENT_TRACE}-b7ad6b7169203331-01"


def predict(harness, body, **headers):
    return harness.client.post("/predict", json=body, headers=headers)


def test_predict_has_server_span_and_predict_span_with_model_attributes(make_harness):
    harness = make_harness(MLOTEL_STAGE_SPAN_THRESHOLD_MS="0")
    response = predict(harness, {"model": "iris", "instances": IRIS_ROWS})
    assert response.status_code == 200
    body = response.json()

    (server,) = harness.captured.spans("POST /predict")
    (predict_span,) = harness.captured.spans("predict iris")
    assert server.kind == SpanKind.SERVER
    assert server.attributes["http.request.method"] == "POST"
    assert server.attributes["http.route"] == "/predict"
    assert server.attributes["http.response.status_code"] == 200
    assert server.attributes["url.path"] == "/predict"
    assert predict_span.parent.span_id == server.context.span_id
    assert predict_span.attributes["ml.model.name"] == "iris"
    assert predict_span.attributes["ml.model.version"] == body["version"]
    assert predict_span.attributes["ml.batch.size"] == 3
    confidences = [p["confidence"] for p in body["predictions"]]
    assert predict_span.attributes["ml.prediction.confidence.min"] == min(confidences)
    assert predict_span.attributes["ml.prediction.confidence.max"] == max(confidences)
    stages = {s.name: s for s in harness.captured.spans() if s.parent and s.parent.span_id == predict_span.context.span_id}
    assert set(stages) == {"preprocess", "inference", "postprocess"}
    # Created after the fact, but with the times they really ran, in order, inside the predict span.
    assert predict_span.start_time <= stages["preprocess"].start_time <= stages["preprocess"].end_time
    assert stages["preprocess"].end_time <= stages["inference"].start_time <= stages["inference"].end_time
    assert stages["inference"].end_time <= stages["postprocess"].start_time <= stages["postprocess"].end_time
    assert stages["postprocess"].end_time <= predict_span.end_time
    inference_ms = (stages["inference"].end_time - stages["inference"].start_time) / 1e6
    assert predict_span.attributes["ml.stage.inference.duration_ms"] == inference_ms
    assert body["trace_id"] == f"{server.context.trace_id:032x}"


def test_fast_predictions_carry_stage_durations_without_stage_spans(make_harness):
    harness = make_harness(MLOTEL_STAGE_SPAN_THRESHOLD_MS="60000")
    predict(harness, {"instances": IRIS_ROWS[:1]})
    assert sorted(s.name for s in harness.captured.spans()) == ["POST /predict", "predict iris"]
    (span,) = harness.captured.spans("predict iris")
    assert {k for k in span.attributes if k.startswith("ml.stage.")} == {
        "ml.stage.preprocess.duration_ms",
        "ml.stage.inference.duration_ms",
        "ml.stage.postprocess.duration_ms",
    }


def test_incoming_traceparent_is_continued_and_traceresponse_returned(make_harness):
    harness = make_harness()
    response = predict(harness, {"instances": IRIS_ROWS[:1]}, traceparent=PARENT)
    (server,) = harness.captured.spans("POST /predict")
    assert f"{server.context.trace_id:032x}" == PARENT_TRACE
    assert server.parent.span_id == 0xB7AD6B7169203331
    assert response.json()["trace_id"] == PARENT_TRACE
    assert response.headers["traceresponse"] == f"00-{PARENT_TRACE}-{server.context.span_id:016x}-01"


def test_confidence_histogram_has_contract_buckets_and_counts(make_harness):
    harness = make_harness()
    body = predict(harness, {"model": "iris", "instances": IRIS_ROWS}).json()
    points = harness.captured.points("ml.prediction.confidence", ml__model__name="iris")
    assert tuple(points[0].explicit_bounds) == CONFIDENCE_BUCKETS
    assert sum(p.count for p in points) == 3
    by_label = {p.attributes["ml.prediction.label"]: p for p in points}
    for prediction in body["predictions"]:
        point = by_label[prediction["label"]]
        bucket = bisect.bisect_left(CONFIDENCE_BUCKETS, prediction["confidence"])  # buckets are (lower, upper]
        assert point.bucket_counts[bucket] >= 1
    assert set(points[0].attributes) == {"ml.model.name", "ml.model.version", "ml.prediction.label"}


def test_exemplars_carry_the_trace_id_of_their_span(make_harness):
    harness = make_harness()
    body = predict(harness, {"model": "iris", "instances": IRIS_ROWS[:1]}).json()
    (predict_span,) = harness.captured.spans("predict iris")
    # One collection: the SDK hands each exemplar out once, then resets its reservoir.
    collected = harness.captured.metrics()
    for name in ("ml.prediction.confidence", "ml.prediction.duration", "http.server.request.duration"):
        exemplars = [e for p in collected[name] for e in p.exemplars]
        assert exemplars, name
        assert {f"{e.trace_id:032x}" for e in exemplars} == {body["trace_id"]}, name
    (duration_exemplar,) = collected["ml.prediction.duration"][0].exemplars
    assert duration_exemplar.span_id == predict_span.context.span_id
    # Counters too, with the fast path as without it (it sums increments, and keeps the last one's trace).
    exemplars = [e for p in collected["ml.predictions"] for e in p.exemplars]
    assert exemplars and {f"{e.trace_id:032x}" for e in exemplars} == {body["trace_id"]}


def test_prediction_counter_duration_and_batch_size(make_harness):
    harness = make_harness()
    predict(harness, {"model": "iris", "instances": IRIS_ROWS})
    predict(harness, {"model": "iris", "instances": IRIS_ROWS[:1]})
    assert sum(p.value for p in harness.captured.points("ml.predictions", ml__model__name="iris")) == 4
    (duration,) = harness.captured.points("ml.prediction.duration", ml__model__name="iris")
    assert duration.count == 2 and duration.explicit_bounds[0] < 0.001
    (batch,) = harness.captured.points("ml.batch.size")
    assert batch.count == 2 and batch.sum == 4


def test_http_duration_metric_uses_stable_semconv(make_harness):
    harness = make_harness()
    predict(harness, {"instances": IRIS_ROWS[:1]})
    (point,) = harness.captured.points("http.server.request.duration", http__route="/predict")
    assert point.attributes["http.request.method"] == "POST"
    assert point.attributes["http.response.status_code"] == 200
    assert point.count == 1


def test_low_confidence_is_marked_on_the_span_and_counted(make_harness):
    harness = make_harness(MLOTEL_LOW_CONFIDENCE_THRESHOLD="0.99")
    body = predict(harness, {"model": "iris", "instances": IRIS_ROWS}).json()
    low = sum(1 for p in body["predictions"] if p["confidence"] < 0.99)
    assert low >= 1
    (span,) = harness.captured.spans("predict iris")
    assert span.attributes["ml.prediction.low_confidence_count"] == low
    assert [e.name for e in span.events] == ["low_confidence"]
    flagged = harness.captured.points("ml.predictions", ml__prediction__low_confidence=True)
    assert sum(p.value for p in flagged) == low


def test_excluded_urls_are_not_traced_or_measured(make_harness):
    harness = make_harness()
    for path in ("/health", "/health/live", "/health/ready", "/openapi.json"):
        assert harness.client.get(path).status_code == 200
    assert harness.captured.spans() == []
    assert harness.captured.points("http.server.request.duration") == []
    assert harness.client.get("/models").status_code == 200
    assert [s.name for s in harness.captured.spans()] == ["GET /models"]


def test_excluded_urls_match_the_whole_path(make_harness):
    harness = make_harness(OTEL_PYTHON_FASTAPI_EXCLUDED_URLS="/mod")
    harness.client.get("/models")
    assert [s.name for s in harness.captured.spans()] == ["GET /models"]


def test_bad_input_is_4xx_and_counted(make_harness):
    harness = make_harness()
    assert predict(harness, {"model": "nope", "instances": IRIS_ROWS}).status_code == 404
    assert predict(harness, {"model": "iris", "instances": [[1, 2]]}).status_code == 422
    (unknown,) = harness.captured.points("ml.prediction.errors", error__type="unknown_model")
    assert unknown.value == 1 and unknown.attributes["ml.model.name"] == "unknown"
    (wrong,) = harness.captured.points("ml.prediction.errors", error__type="wrong_feature_count")
    assert wrong.attributes["ml.model.name"] == "iris"
    statuses = sorted(p.attributes["http.response.status_code"] for p in harness.captured.points("http.server.request.duration"))
    assert statuses == [404, 422]
    assert all(s.status.status_code != StatusCode.ERROR for s in harness.captured.spans())


def test_a_failure_inside_the_model_is_counted_by_type(make_harness, monkeypatch):
    def broken(self, features):
        raise FloatingPointError("iris gave non-finite probabilities")

    monkeypatch.setattr(ServedModel, "predict", broken)
    harness = make_harness()
    response = predict(harness, {"model": "iris", "instances": IRIS_ROWS})
    assert response.status_code == 500 and response.json()["error"] == "prediction_failed"
    (failed,) = harness.captured.points("ml.prediction.errors", error__type="FloatingPointError")
    assert failed.attributes["ml.model.name"] == "iris"


def test_no_feature_values_in_telemetry_unless_switched_on(make_harness):
    sentinel = 4.123456789
    harness = make_harness()
    predict(harness, {"model": "iris", "instances": [[sentinel, 3.5, 1.4, 0.2]]})
    assert sentinel not in _all_attribute_values(harness)
    assert "4.123456789" not in repr(_all_attribute_values(harness))


def test_request_content_capture_is_opt_in(make_harness):
    harness = make_harness(MLOTEL_CAPTURE_REQUEST_CONTENT="true")
    predict(harness, {"model": "iris", "instances": [[4.123456789, 3.5, 1.4, 0.2]]})
    (span,) = harness.captured.spans("predict iris")
    assert span.attributes["ml.request.features"] == "[4.123456789, 3.5, 1.4, 0.2]"


def _all_attribute_values(harness) -> list:
    values = []
    for span in harness.captured.spans():
        values += list(span.attributes.values())
        values += [v for event in span.events for v in event.attributes.values()]
    for points in harness.captured.metrics().values():
        values += [v for p in points for v in p.attributes.values()]
    return values
