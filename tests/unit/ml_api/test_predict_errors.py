"""Bad input gets a 4xx JSON error that says what is wrong; nothing a client sends gives a 5xx."""

import json

import pytest
from fastapi.testclient import TestClient

from mlotel_model_server.main import create_app
from mlotel_model_server.models import ServedModel
from mlotel_model_server.schemas import MAX_FEATURE_MAGNITUDE
from mlotel_model_server.settings import Settings


@pytest.fixture(scope="module")
def client():
    settings = Settings(max_batch_size=8, max_body_bytes=2048)
    # Telemetry is beside the point here (test_api_telemetry counts these errors).
    with TestClient(create_app(settings, instrument=False), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize(
    ("body", "status", "error", "says"),
    [
        ('{"instances": [[1,2,3,4]', 400, "malformed_json", "not valid JSON"),
        ("", 422, "invalid_request", ""),
        ('{"model": "nope", "instances": [[1,2,3,4]]}', 404, "unknown_model", "served: iris, digits"),
        ('{"instances": [[1,2,3]]}', 422, "wrong_feature_count", "takes 4 features"),
        ('{"instances": [[1,2,3,4],[1,2]]}', 422, "wrong_feature_count", "instance 1 has 2"),
        ('{"instances": [["a",2,3,4]]}', 422, "invalid_request", "instances.0.0"),
        ('{"instances": [["1.5",2,3,4]]}', 422, "invalid_request", "valid number"),
        ('{"instances": [[true,2,3,4]]}', 422, "invalid_request", "valid number"),
        ('{"instances": [[NaN,2,3,4]]}', 422, "invalid_request", "finite number"),
        ('{"instances": [[Infinity,2,3,4]]}', 422, "invalid_request", "finite number"),
        ('{"instances": [[-Infinity,2,3,4]]}', 422, "invalid_request", "finite number"),
        ('{"instances": [[1e999,2,3,4]]}', 422, "invalid_request", "finite number"),
        ('{"instances": []}', 422, "invalid_request", "at least 1"),
        ('{"instances": [[]]}', 422, "wrong_feature_count", "has 0"),
        ('{"instances": 5}', 422, "invalid_request", "valid array"),
        ('{"instances": [[1,2,3,4]], "extra": 1}', 422, "invalid_request", "extra"),
        ('{"instances": [[1,2,3,4]], "a": 1, "b": 2}', 422, "invalid_request", "2 extra field(s)"),
        ('{"instances": [[1,2,3,1e308]]}', 422, "invalid_request", "less than or equal to 1000000000000000000000000000000"),
        ('{"instances": [[1,2,3,-3.5e38]]}', 422, "invalid_request", "greater than or equal to -1000000000000000000000000000000"),
        ('{"instances": [[1,2,3,' + "9" * 400 + "]]}", 422, "invalid_request", "finite number"),
        ('{"model": "' + "m" * 65 + '", "instances": [[1,2,3,4]]}', 422, "invalid_request", "at most 64 characters"),
        ('{"instances": [[1,2,3,4]], "x": ' + '{"a":' * 300 + "}" * 301, 400, "json_too_deep", "limit of 200 levels"),
        ('{"instances": ' + "[" * 300 + "]" * 300 + "}", 413, "batch_too_large", "limit of 8"),
        ('{"instances": [[' + "0," * 600 + "0]]}", 413, "batch_too_large", "over 512 values"),
        ('{"model": 3, "instances": [[1,2,3,4]]}', 422, "invalid_request", "model"),
        ("[1, 2]", 422, "invalid_request", "object"),
        ("null", 422, "invalid_request", ""),
        (json.dumps({"instances": [[1, 2, 3, 4]] * 9}), 413, "batch_too_large", "limit of 8"),
        (json.dumps({"instances": [[1.123456789] * 200]}), 413, "body_too_large", "limit of 2048 bytes"),
    ],
)
def test_bad_input_is_a_4xx_that_says_what_is_wrong(client, body, status, error, says):
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["error"] == error
    assert says in payload["message"]


def test_errors_never_echo_the_input(client):
    response = client.post("/predict", content='{"instances": [["secret-value",2,3,4]]}')
    assert response.status_code == 422
    assert "secret-value" not in response.text


def test_many_bad_elements_make_one_error(client):
    body = '{"instances": [[' + "{}," * 500 + '{}]], "a": 1, "b": 2}'
    response = client.post("/predict", content=body)
    assert response.status_code == 422
    assert len(response.json()["details"]) == 1


def test_an_unknown_model_is_not_echoed(client):
    response = client.post("/predict", json={"model": "<script>x</script>", "instances": [[1, 2, 3, 4]]})
    assert response.status_code == 404
    assert "script" not in response.text


def test_wrong_method_and_path_are_4xx_json(client):
    response = client.get("/predict")
    assert response.json()["error"] == "method_not_allowed"
    assert response.headers["allow"] == "POST"
    assert client.get("/nowhere").status_code == 404


def test_junk_bodies_never_give_5xx(client):
    junk = [b"\xff\xfe\x00", b"{" * 1000, b'{"instances": [[' + b"1," * 3 + b"]]}", b'{"instances": [[{}]]}', b"0" * 100]
    for body in junk:
        assert client.post("/predict", content=body).status_code < 500


def test_contract_of_a_good_request(client):
    response = client.post("/predict", json={"instances": [[5.1, 3.5, 1.4, 0.2]]})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"model", "version", "predictions", "trace_id"}
    assert body["model"] == "iris"
    (prediction,) = body["predictions"]
    assert prediction["label"] == "setosa" and 0.5 < prediction["confidence"] <= 1.0
    models = client.get("/models").json()
    assert {m["name"] for m in models} == {"iris", "digits"}
    assert {"name", "version", "n_features", "classes"} == set(models[0])
    health = client.get("/health").json()
    assert (health["status"], health["ready"], health["models"]) == ("ok", True, ["digits", "iris"])


def test_every_served_model_scores_the_extremes_of_the_feature_domain(client):
    bound = MAX_FEATURE_MAGNITUDE
    for model in client.get("/models").json():
        n = model["n_features"]
        rows = [[bound] * n, [-bound] * n, [bound if i % 2 else -bound for i in range(n)], [5e-324] * n]
        response = client.post("/predict", json={"model": model["name"], "instances": rows})
        assert response.status_code == 200, (model["name"], response.text)


@pytest.mark.parametrize(
    ("failure", "error", "message"),
    [
        (ValueError("Input X contains infinity"), "prediction_failed", "model 'iris' could not score these instances"),
        (KeyError("bug"), "internal_error", "the server failed to handle this request"),
    ],
)
def test_a_failure_inside_the_model_is_a_json_500(client, monkeypatch, failure, error, message):
    def broken(self, features):
        raise failure

    monkeypatch.setattr(ServedModel, "predict", broken)
    response = client.post("/predict", json={"instances": [[1, 2, 3, 4]]})
    assert response.status_code == 500
    assert response.json() == {"error": error, "message": message, "details": []}


def test_chunked_body_over_the_limit_is_a_json_413(client):
    def chunks():
        yield b'{"instances": [['
        for _ in range(300):
            yield b"1.123456789,"
        yield b"1]]}"

    response = client.post("/predict", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {
        "error": "body_too_large",
        "message": "request body is over the limit of 2048 bytes",
        "details": [],
    }
