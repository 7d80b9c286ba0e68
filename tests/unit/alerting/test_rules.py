"""Loading rule files: errors that name file, rule and field; unique names; the defaults."""

from pathlib import Path

import pytest

from mlotel_alerting.alertmanager import trace_search_url
from mlotel_alerting.durations import format_duration, parse_duration
from mlotel_alerting.rules import RuleError, load_directory, parse_rule
from mlotel_alerting.settings import DEFAULT_RULES
from mlotel_alerting.templating import render
from mlotel_backends.trace_links import TraceLinks


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    write(tmp_path, "rules.yml", text)
    with pytest.raises(RuleError) as caught:
        load_directory(tmp_path)
    return str(caught.value)


def test_a_rule_file_loads_with_durations_in_seconds(tmp_path):
    write(tmp_path, "a.yml", "rules:\n  - {name: A, expr: 'x > 1', for: 1m30s, keep_firing_for: 2m}\n")
    (rule, path), = load_directory(tmp_path).values()
    assert (rule.name, rule.for_, rule.keep_firing_for, path.name) == ("A", 90.0, 120.0, "a.yml")


def test_the_error_names_the_file_the_rule_and_the_field(tmp_path):
    message = error_of(tmp_path, "rules:\n  - {name: Ok, expr: 'x > 1'}\n  - {name: Slow, expr: 'x > 1', for: 5x}\n")
    assert "rules.yml: rules[1]: rule 'Slow': field 'for':" in message and "a duration is a string like" in message


@pytest.mark.parametrize(("text", "expected"), [
    ("rules:\n  - {name: A}\n", "exactly one of 'expr' (PromQL) and 'drift'"),
    ("rules:\n  - {name: A, expr: x, drift: {}}\n", "exactly one of"),
    ("rules:\n  - {name: 'bad name', expr: x}\n", "field 'name': must match"),
    ("rules:\n  - {name: A, expr: x, colour: red}\n", "field 'colour': Extra inputs are not permitted"),
    ("rules:\n  - {name: A, expr: x, no_data: ignore}\n", "field 'no_data'"),
    ("rules:\n  - {name: A, expr: x, labels: {alertname: B}}\n", "'alertname' is the rule's name"),
    ("rules:\n  - {name: A, expr: x, annotations: {s: '{{ value '}}\n", "field 'annotations': template does not compile"),
    ("rules:\n  - {name: A, drift: {metric: ml_prediction_confidence_sum}}\n", "field 'drift.metric'"),
    ("rules:\n  - {name: A, drift: {window: 0s}}\n", "field 'drift.window': must be longer than 0s"),
    ("rules:\n  - {expr: x}\n", "rule without a name: field 'name': Field required"),
    ("rules: {name: A}\n", "a mapping with a 'rules:' list"),
    ("groups: []\n", "a mapping with a 'rules:' list"),
    ("rules: [\n", "not valid YAML"),
])
def test_invalid_rules_are_refused_with_what_is_wrong(tmp_path, text, expected):
    assert expected in error_of(tmp_path, text)


def test_names_are_unique_across_files(tmp_path):
    write(tmp_path, "a.yml", "rules:\n  - {name: A, expr: x}\n")
    write(tmp_path, "b.yaml", "rules:\n  - {name: A, expr: y}\n")
    with pytest.raises(RuleError, match=r"b.yaml: rule 'A': name already used in .*a.yml"):
        load_directory(tmp_path)


def test_a_missing_directory_is_an_error(tmp_path):
    with pytest.raises(RuleError, match="does not exist"):
        load_directory(tmp_path / "nowhere")


def test_the_shipped_default_rules_load_and_cover_the_ml_alerts():
    rules = load_directory(DEFAULT_RULES)
    assert set(rules) == {"PredictionLatencyHigh", "LowConfidenceRatioHigh", "PredictionErrorRatioHigh",
                          "ConfidenceDrift", "NoPredictionTraffic",
                          "AccuracyBelowFloor", "AccuracyDropped", "CalibrationErrorHigh", "LabelsStopped"}
    assert rules["PredictionLatencyHigh"][0].trace_search.operation == "predict {{ labels.ml_model_name }}"
    assert rules["ConfidenceDrift"][0].drift.threshold == 0.2


@pytest.mark.parametrize(("p95", "min_ms"), [(4.433, 2500), (2.5, 1000), (0.5001, 500), (12.0, 10000), (None, None)])
def test_the_default_latency_rule_links_from_the_lower_edge_of_its_p95s_bucket(p95, min_ms):
    # The p95 is interpolated inside its bucket and may lie above every prediction; the bucket's edge cannot.
    rule = load_directory(DEFAULT_RULES)["PredictionLatencyHigh"][0]
    url = trace_search_url(TraceLinks("http://127.0.0.1:8501"), rule, {"ml_model_name": "digits"}, p95)
    assert url == "http://127.0.0.1:8501/slow?model=digits" + (f"&min_ms={min_ms}" if min_ms else "") + "&since=1h"


def test_a_rule_round_trips_through_its_document():
    rule = parse_rule({"name": "A", "expr": "x > 1", "for": "5m", "labels": {"severity": "warning"}})
    assert parse_rule(rule.as_document()) == rule and rule.as_document()["for"] == 300.0


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("1h30m", 5400), ("250ms", 0.25), ("2d", 172800),
                                               ("15", 15), (7, 7)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5x", "", "m", "-5s", "1.5m", True])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_format_duration_is_the_inverse():
    assert [format_duration(s) for s in (0, 0.25, 90, 3600, 5400, 600)] == ["0s", "250ms", "1m30s", "1h", "1h30m", "10m"]


def test_templates_render_value_and_labels_and_report_missing_labels():
    assert render("{{ labels.m }}: {{ value | milliseconds }}", {"m": "iris"}, 0.5123) == "iris: 512 ms"
    assert render("{{ value | percent }}", {}, float("nan")) == "n/a"
    rendered = render("{{ labels.missing }}", {}, 1.0)
    assert rendered.startswith("{{ labels.missing }} (template error:") and "missing" in rendered


def test_templates_are_sandboxed():
    assert "template error" in render("{{ labels.__class__.__mro__[1].__subclasses__() }}", {}, 1.0)
