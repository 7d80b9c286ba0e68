"""The model server's side of feedback: ids in /predict, POST /feedback, its refusals and its token."""

import pytest
from fastapi.testclient import TestClient

import mlotel_contract as contract
from mlotel_model_server.main import create_app
from mlotel_model_server.settings import Settings

IRIS_SETOSA = [5.1, 3.5, 1.4, 0.2]


def predict(client, rows, model="iris"):
    response = client.post("/predict", json={"model": model, "instances": rows})
    assert response.status_code == 200
    return response.json()["predictions"]


def test_every_prediction_has_an_id_that_scores_once(make_harness):
    harness = make_harness(MLOTEL_FEEDBACK_KEY="test-key")
    predictions = predict(harness.client, [IRIS_SETOSA, [6.7, 3.0, 5.2, 2.3]])
    assert len({p["prediction_id"] for p in predictions}) == 2
    first, second = predictions
    body = {"feedback": [{"prediction_id": first["prediction_id"], "label": first["label"]},
                         {"prediction_id": second["prediction_id"], "label": "setosa"}]}
    assert harness.client.post("/feedback", json=body).json() == {"scored": 2, "duplicates": 0}
    assert harness.client.post("/feedback", json=body).json() == {"scored": 0, "duplicates": 2}
    outcomes = {p.attributes[contract.ATTR_CORRECT]: p.value for p in harness.captured.points(contract.FEEDBACK_OUTCOMES)}
    assert outcomes == {True: 1, False: 1}
    (duplicates,) = harness.captured.points(contract.FEEDBACK_DUPLICATES)
    assert duplicates.value == 2


@pytest.mark.parametrize(
    ("item", "status", "error"),
    [
        (lambda good: {"prediction_id": good, "label": "<script>tulip</script>"}, 422, "unknown_label"),
        (lambda good: {"prediction_id": good[:-3] + ("xyz" if not good.endswith("xyz") else "abc"), "label": "setosa"},
         422, "tampered_id"),
        (lambda good: {"prediction_id": "<script>forged</script>", "label": "setosa"}, 422, "unknown_id"),
        (lambda good: {"prediction_id": good, "label": "setosa", "extra": "<script>"}, 422, "invalid_request"),
        (lambda good: {"prediction_id": "x" * 5000, "label": "setosa"}, 422, "invalid_request"),
    ],
)
def test_bad_feedback_is_a_json_4xx_naming_the_problem_echoing_nothing_recording_nothing(make_harness, item, status, error):
    harness = make_harness(MLOTEL_FEEDBACK_KEY="test-key")
    good = predict(harness.client, [IRIS_SETOSA, IRIS_SETOSA])
    body = {"feedback": [{"prediction_id": good[0]["prediction_id"], "label": "setosa"}, item(good[1]["prediction_id"])]}
    response = harness.client.post("/feedback", json=body)
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert "<script>" not in response.text and "xxxxx" not in response.text
    assert harness.captured.points(contract.FEEDBACK_OUTCOMES) == []
    refused = {p.attributes["error.type"]: p.value for p in harness.captured.points(contract.FEEDBACK_REFUSED)}
    assert refused == {error if error != "invalid_request" else "invalid_body": 1}


def test_an_oversized_batch_is_refused_before_it_is_parsed(make_harness):
    harness = make_harness(MLOTEL_FEEDBACK_KEY="test-key", MLOTEL_FEEDBACK_MAX_BATCH="3")
    body = {"feedback": [{"prediction_id": "a", "label": "setosa"}] * 4}
    response = harness.client.post("/feedback", json=body)
    assert (response.status_code, response.json()["error"]) == (413, "batch_too_large")


def test_with_a_token_set_feedback_needs_it(make_harness, monkeypatch):
    monkeypatch.setenv("ML_API_FEEDBACK_TOKEN", "s3cret")
    harness = make_harness(MLOTEL_FEEDBACK_KEY="test-key")
    with TestClient(create_app(Settings())) as client:
        (prediction,) = predict(client, [IRIS_SETOSA])
        body = {"feedback": [{"prediction_id": prediction["prediction_id"], "label": "setosa"}]}
        assert client.post("/feedback", json=body).status_code == 401
        wrong = client.post("/feedback", json=body, headers={"Authorization": "Bearer nope"})
        assert (wrong.status_code, wrong.json()["error"]) == (403, "forbidden")
        assert harness.captured.points(contract.FEEDBACK_OUTCOMES) == []
        right = client.post("/feedback", json=body, headers={"Authorization": "Bearer s3cret"})
        assert right.json() == {"scored": 1, "duplicates": 0}
    refused = {p.attributes["error.type"]: p.value for p in harness.captured.points(contract.FEEDBACK_REFUSED)}
    assert refused == {"unauthorized": 1, "forbidden": 1}
