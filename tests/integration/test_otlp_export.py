"""The API exporting over real OTLP, gRPC and HTTP, to a receiver decoding with opentelemetry-proto."""

import httpx
import pytest

from harness.model_server import running_api
from harness.otlp_receiver import OtlpReceiver, attributes
from harness.processes import free_port, poll_until
from mlotel_contract import CONFIDENCE_BUCKETS

pytestmark = pytest.mark.integration

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.3, 2.8, 4.9, 1.6]]


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_traces_and_metrics_arrive_over_otlp(protocol, tmp_path):
    with OtlpReceiver() as receiver:
        env = {
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint("grpc" if protocol == "grpc" else "http"),
            "OTEL_METRIC_EXPORT_INTERVAL": "500",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=integration",
            "MLOTEL_STAGE_SPAN_THRESHOLD_MS": "0",
        }
        wire = "grpc" if protocol == "grpc" else "http"
        with running_api(free_port(), env, log=tmp_path / "api.log") as base:
            response = httpx.post(f"{base}/predict", json={"model": "iris", "instances": ROWS})
            assert response.status_code == 200
            trace_id = bytes.fromhex(response.json()["trace_id"])

            spans = poll_until(
                lambda: {s.name: (p, r, s) for p, r, s in receiver.spans() if s.trace_id == trace_id}
                if len([s for _, _, s in receiver.spans() if s.trace_id == trace_id]) >= 5
                else None
            )
            assert set(spans) == {"POST /predict", "predict iris", "preprocess", "inference", "postprocess"}
            used_protocol, resource, predict_span = spans["predict iris"]
            assert used_protocol == wire
            assert resource["service.name"] == "ml-api"
            assert resource["deployment.environment.name"] == "integration"
            assert len(resource["service.instance.id"]) == 36
            assert resource["telemetry.sdk.language"] == "python"
            span_attributes = attributes(predict_span.attributes)
            assert span_attributes["ml.model.name"] == "iris"
            assert span_attributes["ml.batch.size"] == 2
            assert predict_span.parent_span_id == spans["POST /predict"][2].span_id

            def confidence_points():
                found = receiver.metrics("ml.prediction.confidence")
                return [p for _, _, m in found for p in m.histogram.data_points] if found else None

            points = poll_until(confidence_points)
            assert tuple(points[0].explicit_bounds) == CONFIDENCE_BUCKETS
            assert any(e.trace_id == trace_id for p in points for e in p.exemplars)
            (_, metric_resource, duration) = poll_until(lambda: receiver.metrics("http.server.request.duration"))[-1]
            assert duration.unit == "s"
            assert metric_resource["service.instance.id"] == resource["service.instance.id"]
