"""KServe from PyPI (both ends of the supported range), a scikit-learn model, started as its users
start it, under ``opentelemetry-instrument``: each request is a server span with one ``predict
iris`` span inside, the lifecycle's hooks as stages, and the recorder's ML metrics over OTLP."""

import httpx
import pytest

from harness.processes import free_port
from harness.throwaway_venvs import installed_version, make_venv
from tests.integrations.served import APPS, IRIS_ROWS, assert_ml_metrics, assert_prediction_span, predictions, served

pytestmark = pytest.mark.integrations
ENDS = {
    # The oldest that resolves next to mlotel's OpenTelemetry pins (0.16 and older want protobuf < 5).
    "oldest": ("kserve==0.17.0", "scikit-learn"),
    "newest": ("kserve==0.21.0", "scikit-learn"),
}
REQUESTS = 3


@pytest.mark.parametrize("end", ENDS)
def test_kserve_request_is_one_prediction_with_its_lifecycle_as_stages(end, venvs, tmp_path):
    port = free_port()
    args = ["python", str(APPS / "kserve_iris.py"), "--http_port", str(port), "--grpc_port", str(free_port())]
    # Stages as child spans for every prediction, not only slow ones, so that their nesting is seen;
    # the version as a KServe user gives it (KServe has no model versions).
    env = {"MLOTEL_STAGE_SPAN_THRESHOLD_MS": "0", "MLOTEL_MODEL_VERSION": "2026-12"}
    base = f"http://127.0.0.1:{port}"
    venv = make_venv(venvs, ENDS[end])
    print(f"kserve {installed_version(venv, 'kserve')}")
    with served(venv, args, f"{base}/v1/models/iris", tmp_path, tmp_path / "server.log", env) as receiver:
        for _ in range(REQUESTS):
            response = httpx.post(f"{base}/v1/models/iris:predict", json={"instances": IRIS_ROWS}, timeout=30)
            assert response.status_code == 200, response.text
        received = predictions(receiver, "iris", REQUESTS)
        assert len(received) == REQUESTS
        stage_spans = [s for _, _, s in receiver.spans() if s.name in ("preprocess", "inference", "postprocess")]
        for one in received:
            assert one.server.name == "POST /v1/models/{model_name}:predict"
            found = assert_prediction_span(one, "iris", "2026-12", len(IRIS_ROWS))
            for stage in ("preprocess", "inference", "postprocess"):
                assert found[f"ml.stage.{stage}.duration_ms"] >= 0
            mine = [s for s in stage_spans if s.parent_span_id == one.predict.span_id]
            assert sorted(s.name for s in mine) == ["inference", "postprocess", "preprocess"]
            # In lifecycle order, each within the prediction.
            ordered = sorted(mine, key=lambda s: s.start_time_unix_nano)
            assert [s.name for s in ordered] == ["preprocess", "inference", "postprocess"]
            assert all(one.predict.start_time_unix_nano <= s.start_time_unix_nano <= s.end_time_unix_nano
                       <= one.predict.end_time_unix_nano for s in mine)
        assert_ml_metrics(receiver, "iris", "2026-12", REQUESTS, REQUESTS * len(IRIS_ROWS), labels={"0", "1", "2"})
    assert "Traceback" not in (tmp_path / "server.log").read_text()
