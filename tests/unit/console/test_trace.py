"""The trace page against a slow prediction's trace recorded from the live stack."""

import json

from harness.console.recording import RECORDED
from harness.console.seen import text

# The trace the recording holds (python -m tests.unit.console.recording records a kept slow prediction).
TRACE_ID = next(json.loads(key)[2].rsplit("/", 1)[1] for key in json.loads((RECORDED / "trace.json").read_text())
                if json.loads(key)[2].startswith("/api/traces/"))
UNKNOWN = "0123456789abcdef0123456789abcdef"


def test_a_slow_prediction_shows_every_span_with_its_duration_and_the_stages(open_page):
    app, replay = open_page("views/trace.py", "trace", {"trace_id": TRACE_ID})
    assert not app.exception and replay.misses == []
    table = app.dataframe[0].value
    assert {"POST /predict", "predict digits", "preprocess", "inference", "postprocess"} <= set(table["span"].str.strip())
    durations = dict(zip(table["span"].str.strip(), table["duration ms"]))
    assert durations["POST /predict"] >= durations["predict digits"] >= durations["inference"] > 0
    seen = text(app)
    for label in ("model digits", "batch size", "confidence mean", "preprocess ms", "inference ms", "postprocess ms"):
        assert label in seen
    assert app.get("plotly_chart"), "the waterfall"


def test_a_trace_jaeger_lacks_says_it_was_not_kept_or_is_not_there_yet(open_page):
    app, replay = open_page("views/trace.py", "trace-missing", {"trace_id": UNKNOWN})
    assert not app.exception and replay.misses == []
    message = app.warning[0].value
    assert UNKNOWN in message and "tail sampler did not keep it" in message and "try again" in message


def test_a_malformed_trace_id_is_refused_without_asking_jaeger_or_repeating_it(open_page):
    app, replay = open_page("views/trace.py", "trace", {"trace_id": "<b>not-a-trace</b>" * 300})
    assert not app.exception
    assert "is not a trace id" in app.error[0].value and "32 hexadecimal" in app.error[0].value
    assert "not-a-trace" not in app.error[0].value
    assert replay.misses == []


def test_without_a_trace_id_the_page_asks_for_one(open_page):
    app, _ = open_page("views/trace.py", "trace")
    assert not app.exception and app.text_input[0].label == "Trace ID"
    assert "Enter a trace id" in app.info[0].value


def test_jaeger_down_is_a_banner_naming_it(open_page):
    app, _ = open_page("views/trace.py", "trace", {"trace_id": TRACE_ID}, down={"jaeger"})
    assert not app.exception
    assert "Jaeger" in app.warning[0].value and "unreachable" in app.warning[0].value
