"""A plain FastAPI app that uses mlotel's PredictionRecorder, run under ``opentelemetry-instrument``,
exporting OTLP to a real receiver: one server span per request, the predict span its child, ML
histograms with their buckets, semantic-convention attributes, and nothing failing in the background."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from opentelemetry.semconv.attributes.http_attributes import HTTP_REQUEST_METHOD, HTTP_RESPONSE_STATUS_CODE, HTTP_ROUTE
from opentelemetry.semconv.attributes.network_attributes import NETWORK_PROTOCOL_VERSION
from opentelemetry.semconv.attributes.server_attributes import SERVER_ADDRESS
from opentelemetry.semconv.attributes.url_attributes import URL_PATH, URL_SCHEME

from harness.otlp_receiver import OtlpReceiver, attributes
from harness.processes import ROOT, free_port, poll_until, wait_healthy
from mlotel_contract import CONFIDENCE_BUCKETS, HTTP_SERVER_DURATION_BUCKETS

pytestmark = pytest.mark.integration

SERVER_KIND = 2  # OTLP's SPAN_KIND_SERVER
REQUESTS = 3

APP = '''
from contextlib import asynccontextmanager
from fastapi import FastAPI
from mlotel import PredictionRecorder, instrument_app, setup_telemetry

IN_CODE = {in_code}


@asynccontextmanager
async def lifespan(app):
    telemetry = setup_telemetry(service_name="zero-code-app") if IN_CODE else None
    yield
    if telemetry is not None:
        telemetry.shutdown()


app = FastAPI(lifespan=lifespan)
recorder = PredictionRecorder()


@app.get("/health")
def health():
    return {{"status": "ok"}}


@app.post("/predict")
def predict(rows: list[list[float]]):
    with recorder.predict("toy", "1", batch_size=len(rows)) as prediction:
        with prediction.stage("inference"):
            confidences = [min(1.0, sum(row) / 10) for row in rows]
        prediction.set_results(["yes" if c >= 0.5 else "no" for c in confidences], confidences)
    return {{"confidences": confidences}}


if IN_CODE:
    instrument_app(app)
'''

VARIANTS = {
    # Nothing in the app's code but the recorder: mlotel's distro, configurator and instrumentor.
    "launcher only": (False, {}),
    # The in-code API as well, under another distro: contrib's FastAPI and system-metrics
    # instrumentors run too, and mlotel's middleware and set-up must fit in with them.
    "in code, another distro": (True, {"OTEL_PYTHON_DISTRO": "another", "OTEL_SEMCONV_STABILITY_OPT_IN": "http"}),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_one_server_span_per_request_under_opentelemetry_instrument(variant, tmp_path):
    in_code, extra_env = VARIANTS[variant]
    (tmp_path / "toy_app.py").write_text(textwrap.dedent(APP.format(in_code=in_code)))
    port = free_port()
    launcher = Path(sys.executable).with_name("opentelemetry-instrument")
    command = [str(launcher), sys.executable, "-m", "uvicorn", "toy_app:app", "--host", "127.0.0.1", "--port", str(port)]
    with OtlpReceiver() as receiver:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
            "OTEL_SERVICE_NAME": "zero-code-app",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint("grpc"),
            "OTEL_METRIC_EXPORT_INTERVAL": "300",
            **extra_env,
        }
        stderr = tmp_path / "stderr.log"
        with open(stderr, "w") as err:
            process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=err, stderr=subprocess.STDOUT)
            try:
                base = f"http://127.0.0.1:{port}"
                wait_healthy(f"{base}/health", process=process)
                for _ in range(REQUESTS):
                    assert httpx.post(f"{base}/predict", json=[[1, 2, 3], [0.1, 0.2, 0.3]]).status_code == 200

                def traces():
                    by_trace: dict[bytes, list] = {}
                    for _, _, span in receiver.spans():
                        by_trace.setdefault(span.trace_id, []).append(span)
                    done = [spans for spans in by_trace.values() if any(s.name == "predict toy" for s in spans)]
                    server = [s for spans in done for s in spans if s.kind == SERVER_KIND]
                    return done if len(done) == REQUESTS and len(server) >= REQUESTS else None

                for spans in poll_until(traces):
                    (server,) = [s for s in spans if s.kind == SERVER_KIND]
                    (predict,) = [s for s in spans if s.name == "predict toy"]
                    assert predict.parent_span_id == server.span_id
                    assert server.name == "POST /predict"
                    server_attributes = attributes(server.attributes)
                    assert server_attributes[HTTP_REQUEST_METHOD] == "POST"
                    assert server_attributes[HTTP_ROUTE] == "/predict"
                    assert server_attributes[HTTP_RESPONSE_STATUS_CODE] == 200
                    assert server_attributes[URL_PATH] == "/predict"
                    assert server_attributes[URL_SCHEME] == "http"
                    assert server_attributes[NETWORK_PROTOCOL_VERSION] == "1.1"
                    assert server_attributes[SERVER_ADDRESS] == "127.0.0.1"

                def points(name):
                    found = receiver.metrics(name)
                    return [p for _, _, m in found[-1:] for p in m.histogram.data_points] if found else None

                (confidence,) = {tuple(p.explicit_bounds) for p in poll_until(lambda: points("ml.prediction.confidence"))}
                assert confidence == CONFIDENCE_BUCKETS

                def all_predictions_measured():
                    # /predict's points only: the readiness probe's /health is measured too, and counting
                    # it let the poll end one export before the last prediction was in (CI saw 2 of 3).
                    found = [p for p in points("http.server.request.duration") or []
                             if dict(attributes(p.attributes)).get(HTTP_ROUTE) == "/predict"]
                    return found if sum(p.count for p in found) >= REQUESTS else None

                durations = poll_until(all_predictions_measured)
                assert sum(p.count for p in durations) == REQUESTS  # measured once, not twice
                assert {tuple(p.explicit_bounds) for p in durations} == {HTTP_SERVER_DURATION_BUCKETS}
                assert poll_until(lambda: receiver.metrics("process.cpu.utilization"))
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
    log = stderr.read_text()
    assert "KeyError" not in log and "Traceback" not in log, log
