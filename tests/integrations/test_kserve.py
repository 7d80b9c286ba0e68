"""KServe from PyPI (both ends of the supported range), a scikit-learn model, started as its users
start it, under ``opentelemetry-instrument``: each request is a server span with one ``predict
iris`` span inside, the lifecycle's hooks as stages, and the recorder's ML metrics over OTLP."""

import pytest

from harness.model_servers import IRIS_ROWS
from harness.served import assert_ml_metrics, assert_prediction_span, predictions, served
from harness.throwaway_venvs import make_venv

pytestmark = pytest.mark.integrations
ENDS = {
    # The oldest that resolves next to mlotel's OpenTelemetry pins (0.16 and older want protobuf < 5).
    "oldest": ("kserve==0.17.0", "scikit-learn"),
    "newest": ("kserve==0.21.0", "scikit-learn"),
}
REQUESTS = 3
STAGES = ["preprocess", "inference", "postprocess"]


@pytest.mark.parametrize("end", ENDS)
def test_kserve_request_is_one_prediction_with_its_lifecycle_as_stages(end, venvs, tmp_path):
    # Stages as child spans for every prediction, not only slow ones, so that their nesting is seen.
    with served("kserve", make_venv(venvs, ENDS[end]), tmp_path, {"MLOTEL_STAGE_SPAN_THRESHOLD_MS": "0"}) as (receiver, base, launch):
        for _ in range(REQUESTS):
            response = launch.predict(base, {})
            assert response.status_code == 200, response.text
        received = predictions(receiver, "iris", REQUESTS)
        assert len(received) == REQUESTS
        stage_spans = [s for _, _, s in receiver.spans() if s.name in STAGES]
        for one in received:
            assert one.server.name == "POST /v1/models/{model_name}:predict"
            found = assert_prediction_span(one, "iris", launch.version, len(IRIS_ROWS))
            assert all(found[f"ml.stage.{stage}.duration_ms"] >= 0 for stage in STAGES)
            mine = sorted((s for s in stage_spans if s.parent_span_id == one.predict.span_id), key=lambda s: s.start_time_unix_nano)
            assert [s.name for s in mine] == STAGES  # in lifecycle order, each within the prediction
            assert all(one.predict.start_time_unix_nano <= s.start_time_unix_nano <= s.end_time_unix_nano
                       <= one.predict.end_time_unix_nano for s in mine)
        assert_ml_metrics(receiver, "iris", launch.version, REQUESTS, REQUESTS * len(IRIS_ROWS), labels={"0", "1", "2"})
