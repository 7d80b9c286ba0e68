"""MLServer from PyPI (both ends of the supported range) serving a scikit-learn model with its
model-settings.json, started with ``mlserver start`` under ``opentelemetry-instrument``, its
parallel worker on as by default: each request is a server span with one ``predict iris`` span
inside, the model's name and version from its settings, and the recorder's ML metrics over OTLP."""

import httpx
import pytest

from harness.model_servers import IRIS_ROWS
from harness.served import assert_ml_metrics, assert_prediction_span, predictions, served
from harness.throwaway_venvs import make_venv

pytestmark = pytest.mark.integrations
ENDS = {
    # uvloop < 0.22: MLServer's parallel worker calls asyncio.get_event_loop() before it sets a loop,
    # which uvloop 0.22 and later refuse (the worker dies and no model loads, with or without mlotel).
    "oldest": ("mlserver==1.6.1", "mlserver-sklearn==1.6.1", "uvloop<0.22"),
    "newest": ("mlserver==1.7.1", "mlserver-sklearn==1.7.1", "uvloop<0.22"),
}
REQUESTS = 3


@pytest.mark.parametrize("end", ENDS)
def test_mlserver_request_is_one_prediction_named_by_its_model_settings(end, venvs, tmp_path):
    with served("mlserver", make_venv(venvs, ENDS[end]), tmp_path) as (receiver, base, launch):
        for _ in range(REQUESTS):
            response = launch.predict(base, {})
            assert response.status_code == 200, response.text
        assert httpx.post(f"{base}/v2/models/absent/infer", json={"inputs": []}, timeout=30).status_code == 404
        received = predictions(receiver, "iris", REQUESTS)
        assert len(received) == REQUESTS
        for one in received:
            assert one.server.name == "POST /v2/models/{model_name}/infer"
            assert_prediction_span(one, "iris", "v1", len(IRIS_ROWS))
        assert_ml_metrics(receiver, "iris", "v1", REQUESTS, REQUESTS * len(IRIS_ROWS), labels={"0", "1", "2"})
        assert not [s for _, _, s in receiver.spans() if s.name == "predict absent"]
