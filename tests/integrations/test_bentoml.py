"""BentoML from PyPI (both ends of the supported range): a service around a scikit-learn model
from BentoML's model store, started with ``bentoml serve`` under ``opentelemetry-instrument``:
each API request is a server span with one ``predict iris`` span inside, the model's name and
version from the store, and the recorder's ML metrics over OTLP."""

import pytest

from harness.model_servers import IRIS_ROWS
from harness.served import assert_ml_metrics, assert_prediction_span, predictions, served
from harness.throwaway_venvs import make_venv

pytestmark = pytest.mark.integrations
ENDS = {
    # setuptools < 81: bentoml 1.4.0's model store imports pkg_resources, which later setuptools no longer ship.
    "oldest": ("bentoml==1.4.0", "scikit-learn", "setuptools<81"),
    "newest": ("bentoml==1.4.40", "scikit-learn"),
}
REQUESTS = 3


@pytest.mark.parametrize("end", ENDS)
def test_bentoml_api_request_is_one_prediction_named_by_the_model_store(end, venvs, tmp_path):
    with served("bentoml", make_venv(venvs, ENDS[end]), tmp_path) as (receiver, base, launch):
        assert launch.model == "iris" and launch.version  # the tag the store gave at saving
        for _ in range(REQUESTS):
            response = launch.predict(base, {})
            assert response.status_code == 200, response.text
        received = predictions(receiver, "iris", REQUESTS)
        assert len(received) == REQUESTS
        for one in received:
            assert one.server.name == "POST /classify"
            assert_prediction_span(one, "iris", launch.version, len(IRIS_ROWS))
        assert_ml_metrics(receiver, "iris", launch.version, REQUESTS, REQUESTS * len(IRIS_ROWS), labels={"0", "1", "2"})
