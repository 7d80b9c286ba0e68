"""What one rule may hold, checked before any parser: expression length and nesting, template
restrictions (nothing computes without bound, nothing folds at compile time), durations."""

import time

import pytest

from mlotel_alerting.durations import parse_duration
from mlotel_alerting.limits import MAX_EXPR_NESTING, promql_nesting, redact
from mlotel_alerting.rules import RuleError, parse_rule
from mlotel_alerting.templating import check_template, render


@pytest.mark.parametrize(("expr", "at_least"), [
    ("(" * 70 + "x" + ")" * 70, 70),
    ("-" * 70 + "x", 70),
    (" + ".join(["x"] * 70), 69),
    ("abs(" * 40 + "x" + ")" * 40 + " > 1" * 30, 70),
    (" or ".join(["x"] * 70), 69),
])
def test_nesting_bounds_every_way_a_syntax_tree_grows(expr, at_least):
    assert promql_nesting(expr) >= at_least


def test_shipped_style_expressions_are_well_inside_the_nesting_limit():
    expr = ('(sum by (ml_model_name) (rate(ml_predictions_total{ml_prediction_low_confidence="true"}[2m])) or 0 * sum by '
            '(ml_model_name) (rate(ml_predictions_total[2m]))) / sum by (ml_model_name) (rate(ml_predictions_total[2m])) > 0.3')
    assert promql_nesting(expr) < MAX_EXPR_NESTING / 2
    assert promql_nesting('x{a="((((((((+-*/"}') == 1  # brackets and operators in strings are text


@pytest.mark.parametrize(("field", "value", "message"), [
    ("expr", "(" * 10_000 + "x" + ")" * 10_000, "at most 4096 characters"),
    ("expr", "(" * 1_000 + "x" + ")" * 1_000, "nests deeper than the limit of 64 levels"),
    ("expr", "-" * 3_000 + "x", "nests deeper than the limit of 64 levels"),
    ("annotations", {"summary": "a" * 3000}, "at most 2048 characters"),
    ("labels", {f"l{i}": "x" for i in range(40)}, "at most 32 items"),
    ("for", "9" * 4000 + "w", "a duration is a string like"),
    ("for", 1e308, "less than or equal to 2678400"),
    ("keep_firing_for", "999999999w", "less than or equal to 2678400"),
])
def test_rules_over_a_limit_are_refused_naming_it(field, value, message):
    started = time.perf_counter()
    with pytest.raises(RuleError) as caught:
        parse_rule({"name": "Hostile", "expr": "x > 1", field: value})
    assert message in str(caught.value) and time.perf_counter() - started < 0.5
    assert len(str(caught.value)) < 400


def test_a_clients_unknown_fields_and_keys_are_not_repeated():
    with pytest.raises(RuleError) as caught:
        parse_rule({"name": "A", "expr": "x", "<script>": 1, "labels": {"<img onerror>": "x"}})
    assert "<script>" not in str(caught.value) and "<img" not in str(caught.value)
    assert "unknown field" in str(caught.value)


def test_a_deep_drift_selector_is_refused():
    with pytest.raises(RuleError, match="nests deeper"):
        parse_rule({"name": "A", "drift": {"selector": "{a=~" + "(" * 200 + "}"}})


@pytest.mark.parametrize("text", [
    "{{ 9 ** 999999999 }}",  # folded at compile time by plain Jinja: the 30 s freeze
    "{{ 'x' * 10 ** 9 }}",
    "{{ ('ab' * 4000) + ('ab' * 4000) }}",
    "{{ '%0999999999d' % 1 }}",
])
def test_operators_that_would_compute_without_bound_fail_the_render_quickly(text):
    started = time.perf_counter()
    check_template(text)
    rendered = render(text, {}, 1.0)
    assert "template error" in rendered and time.perf_counter() - started < 0.5


@pytest.mark.parametrize(("text", "reason"), [
    ("{% for i in range(99999) %}{% for j in range(99999) %}x{% endfor %}{% endfor %}", "not {% for %}"),
    ("{% macro f() %}{{ f() }}{{ f() }}{% endmacro %}{{ f() }}", "not {% macro %}"),
    ("{% set a = 'x' %}{{ a }}", "not {% assign %}"),
    ("{{ 'a'.ljust(999999999) }}", "no functions or methods"),
    ("{{ 'a' | center(999999999) }}", "No filter named"),
    ("{{ " + "(" * 500 + "1" + ")" * 500 + " }}", "nests too deep"),
    ("{{ " + "not " * 500 + "1 }}", "nests too deep"),
])
def test_templates_are_restricted_to_what_cannot_compute_without_bound(text, reason):
    with pytest.raises(ValueError, match=reason.replace("{", r"\{").replace("(", r"\(")):
        check_template(text)


def test_what_rules_need_still_renders():
    text = "{{ value | percent }} of {{ labels.model | upper }}; {{ (value * 1000) | round(1) }} ms; {{ 2 ** 10 }}"
    assert render(text, {"model": "iris"}, 0.25) == "25.0% of IRIS; 250.0 ms; 1024"
    assert render("{% if value > 0.5 %}high{% else %}low{% endif %}", {}, 0.7) == "high"


def test_a_render_is_cut_at_its_limit():
    assert len(render("{{ 'a' * 9000 }}", {}, 1.0)) == 4096


def test_durations_never_repeat_the_text():
    with pytest.raises(ValueError) as caught:
        parse_duration("<script>alert(1)</script>")
    assert "<script>" not in str(caught.value)


def test_parser_messages_lose_what_they_quote():
    assert redact('1:5: parse error: unexpected identifier "<script>"') == "1:5: parse error: unexpected identifier …"
