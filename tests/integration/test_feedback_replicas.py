"""Feedback is scored whichever worker or replica answered the prediction: the signed id
carries what scoring needs, so no store is shared (docs/model-correctness.md)."""

import os

import httpx
import pytest

from harness.model_server import running_api
from harness.otlp_receiver import OtlpReceiver
from harness.processes import free_port, poll_until

pytestmark = pytest.mark.integration
IRIS = [5.1, 3.5, 1.4, 0.2]


@pytest.fixture(autouse=True)
def _no_key_from_the_runner(monkeypatch):
    monkeypatch.delenv("MLOTEL_FEEDBACK_KEY", raising=False)


def trace_id(response: httpx.Response) -> str:
    return response.headers["traceresponse"].split("-")[1]


def test_feedback_answered_by_the_other_worker_is_scored(tmp_path):
    """No key set: the server makes one before starting its workers, and both use it."""
    with OtlpReceiver() as receiver:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint("grpc"), "OTEL_METRIC_EXPORT_INTERVAL": "500"}
        with running_api(free_port(), env, workers=2, log=tmp_path / "api.log") as base:
            pairs = []  # (trace of the prediction, trace of its feedback)
            for _ in range(30):
                # A fresh connection per request, so the kernel spreads them over both workers.
                predicted = httpx.post(f"{base}/predict", json={"instances": [IRIS]})
                (prediction,) = predicted.json()["predictions"]
                body = {"feedback": [{"prediction_id": prediction["prediction_id"], "label": "setosa"}]}
                scored = httpx.post(f"{base}/feedback", json=body)
                assert scored.status_code == 200 and scored.json() == {"scored": 1, "duplicates": 0}, scored.text
                pairs.append((trace_id(predicted), trace_id(scored)))

            def instance_of_trace() -> dict[str, str] | None:
                found = {format(int.from_bytes(span.trace_id, "big"), "032x"): resource["service.instance.id"]
                         for _, resource, span in receiver.spans()}
                return found if all(p in found and f in found for p, f in pairs) else None

            instance = poll_until(instance_of_trace, timeout=60, interval=0.5)
            crossed = [(p, f) for p, f in pairs if instance[p] != instance[f]]
            assert crossed, "no feedback landed on the other worker in 30 tries"

            def scored_per_worker() -> dict[str, int] | None:
                latest: dict[str, int] = {}
                for _, resource, metric in receiver.metrics("ml.feedback.outcomes"):
                    latest[resource["service.instance.id"]] = sum(int(p.as_int) for p in metric.sum.data_points)
                return latest if sum(latest.values()) == 30 else None

            per_worker = poll_until(scored_per_worker, timeout=60, interval=0.5)
            assert len(per_worker) == 2, per_worker
    assert "MLOTEL_FEEDBACK_KEY is unset: generated one" in (tmp_path / "api.log").read_text()


def test_two_server_processes_with_one_key_score_each_others_predictions_and_a_stranger_refuses(tmp_path):
    shared = {"MLOTEL_FEEDBACK_KEY": os.urandom(16).hex(), "OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "none",
              "OTEL_METRICS_EXPORTER": "none"}
    stranger = {**shared, "MLOTEL_FEEDBACK_KEY": "another deployment"}
    with (running_api(free_port(), shared, log=tmp_path / "a.log") as a,
          running_api(free_port(), shared, log=tmp_path / "b.log") as b,
          running_api(free_port(), stranger, log=tmp_path / "c.log") as c):
        predictions = httpx.post(f"{a}/predict", json={"instances": [IRIS, IRIS]}).json()["predictions"]
        body = {"feedback": [{"prediction_id": p["prediction_id"], "label": "setosa"} for p in predictions]}
        refused = httpx.post(f"{c}/feedback", json=body)
        assert (refused.status_code, refused.json()["error"]) == (422, "tampered_id")
        assert httpx.post(f"{b}/feedback", json=body).json() == {"scored": 2, "duplicates": 0}
        # Replicas remember separately: the same feedback at the other one counts again (documented).
        assert httpx.post(f"{a}/feedback", json=body).json() == {"scored": 2, "duplicates": 0}
        assert httpx.post(f"{a}/feedback", json=body).json() == {"scored": 0, "duplicates": 2}
