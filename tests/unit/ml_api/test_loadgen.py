"""The load generator's traffic is what it claims: in-distribution rows are confident, OOD rows are not."""

import asyncio
import json
import random

import httpx
import numpy as np
import pytest

import mlotel_contract as contract
from mlotel_backends.trace_links import TraceLinks
from mlotel_model_server.loadgen import (
    ERROR_KINDS,
    Drift,
    InstanceSource,
    Result,
    Summary,
    check_loopback,
    error_kind,
    main,
    print_summary,
    transport_error_kind,
)
from mlotel_model_server.loadgen_feedback import FeedbackSender
from mlotel_model_server.models import load_models


@pytest.fixture(scope="module")
def served(settings):
    return load_models(settings.model_dir)


@pytest.mark.parametrize("model", ["iris", "digits"])
def test_out_of_distribution_rows_lower_the_confidence(served, model):
    described = {name: m.describe() for name, m in served.items()}
    source = InstanceSource(described, np.random.default_rng(1))
    _, normal = served[model].predict(np.asarray(source.normal(model, 200)))
    _, ood = served[model].predict(np.asarray(source.out_of_distribution(model, 200)))
    assert np.median(ood) < 0.7 < np.median(normal)


def test_a_drift_shifts_its_feature_only_and_only_from_its_time(served):
    described = {name: m.describe() for name, m in served.items()}
    drifts = [Drift.parse("iris:sepal width (cm)=0.5@0"), Drift.parse("iris:2=-1@3600")]
    shifted = np.asarray(InstanceSource(described, np.random.default_rng(1), drifts).normal("iris", 2000))
    steady = np.asarray(InstanceSource(described, np.random.default_rng(1)).normal("iris", 2000))
    sd = served["iris"].reference[:, 1].std()
    assert (shifted - steady)[:, 1] == pytest.approx(np.full(2000, 0.5 * sd), abs=1e-3)
    assert np.array_equal(shifted[:, [0, 2, 3]], steady[:, [0, 2, 3]])  # column 2's drift starts in an hour


def test_a_drift_naming_what_is_not_there_is_refused(served):
    described = {name: m.describe() for name, m in served.items()}
    with pytest.raises(ValueError, match="no feature"):
        InstanceSource(described, np.random.default_rng(1), [Drift.parse("iris:colour=1@0")])
    with pytest.raises(SystemExit):
        main(["--drift", "iris-sepal"])


def test_load_goes_to_loopback_only_unless_allowed():
    check_loopback("http://127.0.0.1:8000")
    check_loopback("http://localhost:8000")
    with pytest.raises(SystemExit, match="not a loopback address"):
        check_loopback("http://10.1.2.3:8000")


def test_bad_arguments_are_refused():
    with pytest.raises(SystemExit):
        main(["--rate", "0"])


def result(error=None, seconds=0.01, status=200, low=0, batch=1, model="iris"):
    return Result(model, batch, "normal", 0.0, seconds, status, error, None if error else "ab" * 16, low)


def test_failures_are_counted_by_kind_and_left_out_of_latency_and_slowest():
    summary = Summary([result(seconds=0.02), result(seconds=0.05),
                       result("refused", 0.001, 0), result("timeout", 30.0, 0), result("disconnected", 2.0, 0),
                       result("4xx", 0.003, 422), result("5xx", 9.0, 503), result("5xx", 0.5, 500)], elapsed=1.0)
    out = summary.as_dict()
    assert out["requests"] == 8 and out["failed"] == 6
    assert out["errors"] == {"refused": 1, "timeout": 1, "disconnected": 1, "4xx": 1, "5xx": 2}
    assert out["errors_by_status"] == {"422": 1, "500": 1, "503": 1}
    assert [r["ms"] for r in out["slowest"]] == [50.0, 20.0]
    assert out["latency_ms"]["max"] == 50.0 and out["max_failed_ms"] == 30000.0


def test_the_slowest_are_printed_as_links_to_their_traces(capsys):
    summary = Summary([result(seconds=0.05), result("5xx", 9.0, 503)], elapsed=1.0).as_dict()
    print_summary(summary, TraceLinks("http://127.0.0.1:8501"))
    assert f"http://127.0.0.1:8501/trace?trace_id={'ab' * 16}" in capsys.readouterr().out
    print_summary(summary, TraceLinks("http://127.0.0.1:8501", trace_ui_url="http://jaeger:16686"))
    assert f"http://jaeger:16686/trace/{'ab' * 16}" in capsys.readouterr().out


def test_no_failure_is_zero_of_every_kind():
    assert Summary([result()], elapsed=1.0).as_dict()["errors"] == dict.fromkeys(ERROR_KINDS, 0)


@pytest.mark.parametrize(("exc", "kind"), [
    (httpx.ConnectError("refused"), "refused"),
    (httpx.ConnectTimeout("slow to connect"), "timeout"),
    (httpx.ReadTimeout("slow to answer"), "timeout"),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."), "disconnected"),
    (httpx.ReadError("connection reset"), "disconnected"),
])
def test_transport_failures_have_their_kind(exc, kind):
    assert transport_error_kind(exc) == kind


def test_status_codes_have_their_kind():
    assert [error_kind(s) for s in (200, 204, 404, 422, 500, 503)] == [None, None, "4xx", "4xx", "5xx", "5xx"]


def test_low_confidence_share_per_request_and_per_row():
    # Three one-row answers, one low; a 1,000-row batch with 10 low rows; a failure that does not count.
    summary = Summary([result(low=1), result(), result(), result(low=10, batch=1000), result("5xx", status=500)], elapsed=1.0)
    assert summary.as_dict()["low_confidence"] == {"iris": {"requests": 0.5, "rows": round(11 / 1003, 4)}}


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for default in ("http://127.0.0.1:8000", "20.0", "30.0", "0", "iris=0.7,digits=0.3", "1,1,1,4,16", "0.02", "0.1", "16", "0.5"):
        assert f"(default: {default})" in text, default


def test_an_unreachable_api_is_a_clear_exit_not_a_traceback():
    with pytest.raises(SystemExit, match="cannot list the models at http://127.0.0.1:1/models"):
        main(["--url", "http://127.0.0.1:1", "--requests", "1", "--quiet"])


def test_feedback_noise_makes_the_accuracy_the_server_scores_known_in_advance(make_harness):
    """Every answered prediction's label goes back, 30% of them changed: 70% of what is scored is right."""
    harness = make_harness(MLOTEL_FEEDBACK_KEY="test-key")
    rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]] * 100
    predictions = harness.client.post("/predict", json={"model": "iris", "instances": rows}).json()["predictions"]

    async def send() -> FeedbackSender:
        transport = httpx.ASGITransport(harness.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            classes = {"iris": ["setosa", "versicolor", "virginica"]}
            sender = FeedbackSender(client, classes, share=1.0, delay=0.0, noise=0.3, pick=random.Random(3))
            sender.after("iris", predictions)
            await sender.drain()
            return sender

    sender = asyncio.run(send())
    summary = sender.as_dict()
    assert summary["sent"] == summary["scored"] == 300 and summary["refused"] == {}
    right = sum(p.value for p in harness.captured.points(contract.FEEDBACK_OUTCOMES, ml__feedback__correct=True))
    assert round(right / 300, 4) == summary["sent_accuracy"]
    assert abs(summary["sent_accuracy"] - summary["expected_accuracy"]) < 0.08  # 300 draws at p = 0.3


def labels_sent_back(predictions: list[dict], classes: list[str], noise: float, seed: int) -> tuple[dict, list[dict]]:
    """The sender's summary and the feedback items it posted, every prediction of model ``m`` answered at once."""
    sent: list[dict] = []

    def answer(request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)["feedback"]
        sent.extend(items)
        return httpx.Response(200, json={"scored": len(items), "duplicates": 0})

    async def send() -> FeedbackSender:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://api") as client:
            sender = FeedbackSender(client, {"m": classes}, share=1.0, delay=0.0, noise=noise, pick=random.Random(seed))
            sender.after("m", predictions)
            await sender.drain()
            return sender

    return asyncio.run(send()).as_dict(), sent


def test_wrong_labels_fall_on_unsure_predictions_so_calibration_error_is_the_least_the_accuracy_allows():
    """Half the predictions 99% confident, half 50%: 15% of labels wrong on average, nearly all of them on
    the unsure half. Contradicting both halves alike (the old way) read as a calibration error of 0.245;
    the least any labels 85% right allow is |mean(1 - c) - noise| = |0.255 - 0.15| = 0.105."""
    predictions = [{"prediction_id": str(i), "label": "a", "confidence": 0.99 if i % 2 else 0.5} for i in range(20_000)]
    summary, sent = labels_sent_back(predictions, ["a", "b", "c"], noise=0.15, seed=5)
    confidence = {p["prediction_id"]: p["confidence"] for p in predictions}
    by_confidence = {c: [item["label"] == "a" for item in sent if confidence[item["prediction_id"]] == c] for c in (0.5, 0.99)}
    accuracy = {c: sum(right) / len(right) for c, right in by_confidence.items()}
    calibration_error = sum(abs(accuracy[c] - c) * len(by_confidence[c]) for c in accuracy) / len(sent)
    assert summary["sent"] == 20_000 and abs(summary["sent_accuracy"] - 0.85) < 0.01
    assert accuracy[0.99] > 0.99 and abs(accuracy[0.5] - 0.706) < 0.02
    assert abs(calibration_error - 0.105) < 0.01


def test_at_high_noise_the_cap_on_unsure_predictions_is_made_up_so_accuracy_is_still_one_minus_noise():
    """Noise 0.5 with a quarter of the predictions 40% confident: 0.5·0.6/mean(1 − c) exceeds 1 for them, and
    capping it alone left 45% wrong; what the cap leaves out is owed to the next predictions."""
    predictions = [{"prediction_id": str(i), "label": "a", "confidence": 0.4 if i % 4 == 0 else 0.95}
                   for i in range(20_000)]
    summary, _ = labels_sent_back(predictions, ["a", "b"], noise=0.5, seed=3)
    assert summary["sent"] == 20_000 and abs(summary["sent_accuracy"] - 0.5) < 0.01
