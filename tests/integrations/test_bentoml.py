"""BentoML from PyPI (both ends of the supported range): a service around a scikit-learn model
from BentoML's model store, started with ``bentoml serve`` under ``opentelemetry-instrument``:
each API request is a server span with one ``predict iris`` span inside, the model's name and
version from the store, and the recorder's ML metrics over OTLP."""

import os
import subprocess

import httpx
import pytest

from harness.processes import free_port
from harness.throwaway_venvs import installed_version, make_venv
from tests.integrations.served import APPS, IRIS_ROWS, assert_ml_metrics, assert_prediction_span, predictions, served

pytestmark = pytest.mark.integrations
ENDS = {
    # setuptools < 81: bentoml 1.4.0's model store imports pkg_resources, which later setuptools no longer ship.
    "oldest": ("bentoml==1.4.0", "scikit-learn", "setuptools<81"),
    "newest": ("bentoml==1.4.40", "scikit-learn"),
}
REQUESTS = 3


@pytest.mark.parametrize("end", ENDS)
def test_bentoml_api_request_is_one_prediction_named_by_the_model_store(end, venvs, tmp_path):
    venv = make_venv(venvs, ENDS[end])
    print(f"bentoml {installed_version(venv, 'bentoml')}")
    env = {"BENTOML_HOME": str(tmp_path / "bentoml"), "BENTOML_DO_NOT_TRACK": "true"}
    saved = subprocess.run([venv / "bin" / "python", APPS / "bentoml_save.py"], cwd=APPS, env={**os.environ, **env},
                           check=True, capture_output=True, text=True)
    name, version = saved.stdout.strip().split(":")
    port = free_port()
    args = ["bentoml", "serve", "bentoml_service:IrisClassifier", "--working-dir", str(APPS), "--host", "127.0.0.1", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with served(venv, args, f"{base}/readyz", tmp_path, tmp_path / "server.log", env) as receiver:
        for _ in range(REQUESTS):
            response = httpx.post(f"{base}/classify", json={"instances": IRIS_ROWS}, timeout=30)
            assert response.status_code == 200, response.text
        received = predictions(receiver, name, REQUESTS)
        assert len(received) == REQUESTS
        for one in received:
            assert one.server.name == "POST /classify"
            assert_prediction_span(one, name, version, len(IRIS_ROWS))
        assert_ml_metrics(receiver, name, version, REQUESTS, REQUESTS * len(IRIS_ROWS), labels={"0", "1", "2"})
    assert "Traceback" not in (tmp_path / "server.log").read_text()
