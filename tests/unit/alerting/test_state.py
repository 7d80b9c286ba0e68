"""Every transition of an alert instance, driven with explicit times."""

import math

from mlotel_alerting.rules import Rule
from mlotel_alerting.state import Health, QueryOutcome, RuleState, State
from mlotel_backends.prometheus import Sample

IRIS = {"ml_model_name": "iris"}


def rule(**fields) -> Rule:
    return Rule.model_validate({"name": "LowConfidence", "expr": "x > 0.3", **fields})


def returned(*values: float, labels=IRIS) -> QueryOutcome:
    return QueryOutcome(tuple(Sample(dict(labels), v) for v in values))


EMPTY = QueryOutcome(())
NO_DATA = QueryOutcome((), no_data=True)
ERROR = QueryOutcome(error="Prometheus at http://127.0.0.1:9 unreachable")


def only(state: RuleState):
    (alert,) = state.alerts.values()
    return alert


def moves(transitions) -> list[tuple[str, str]]:
    return [(t.previous.value, t.current.value) for t in transitions]


def test_pending_until_for_has_passed_then_firing():
    state = RuleState(rule(**{"for": "60s"}))
    assert moves(state.apply(returned(0.4), now=0)) == [("inactive", "pending")]
    assert state.apply(returned(0.5), now=59) == []
    assert only(state).state is State.PENDING
    assert moves(state.apply(returned(0.6), now=60)) == [("pending", "firing")]
    alert = only(state)
    assert (alert.active_at, alert.fired_at, alert.value) == (0, 60, 0.6)
    assert alert.labels == {"ml_model_name": "iris", "alertname": "LowConfidence"}


def test_without_for_an_alert_fires_at_once():
    state = RuleState(rule())
    assert moves(state.apply(returned(0.4), now=5)) == [("inactive", "pending"), ("pending", "firing")]


def test_pending_that_clears_goes_back_to_inactive_and_is_forgotten():
    state = RuleState(rule(**{"for": "60s"}))
    state.apply(returned(0.4), now=0)
    assert moves(state.apply(EMPTY, now=30)) == [("pending", "inactive")]
    assert state.alerts == {} and state.state is State.INACTIVE
    # Coming back starts the wait again.
    state.apply(returned(0.4), now=40)
    assert state.apply(returned(0.4), now=90) == []
    assert moves(state.apply(returned(0.4), now=100)) == [("pending", "firing")]


def test_firing_resolves_when_the_condition_stops_holding():
    state = RuleState(rule())
    state.apply(returned(0.4), now=0)
    assert moves(state.apply(EMPTY, now=15)) == [("firing", "resolved")]
    assert only(state).resolved_at == 15


def test_flapping_is_held_by_keep_firing_for():
    state = RuleState(rule(keep_firing_for="60s"))
    state.apply(returned(0.4), now=0)
    assert state.apply(EMPTY, now=15) == []  # last true at 0: held
    state.apply(returned(0.4), now=30)  # flaps back: still the same firing alert
    assert state.apply(EMPTY, now=45) == [] and state.apply(EMPTY, now=89) == []
    assert only(state).fired_at == 0
    assert moves(state.apply(EMPTY, now=90)) == [("firing", "resolved")]


def test_a_resolved_alert_that_returns_starts_again_at_pending():
    state = RuleState(rule(**{"for": "10s"}))
    state.apply(returned(0.4), now=0)
    state.apply(returned(0.4), now=10)
    state.apply(EMPTY, now=20)
    assert moves(state.apply(returned(0.4), now=30)) == [("inactive", "pending")]
    assert only(state).active_at == 30


def test_each_label_set_is_its_own_instance():
    state = RuleState(rule())
    state.apply(QueryOutcome((Sample({"ml_model_name": "iris"}, 0.4), Sample({"ml_model_name": "digits"}, 0.9))), now=0)
    assert len(state.alerts) == 2
    transitions = state.apply(returned(0.4), now=15)
    assert [(t.labels["ml_model_name"], t.current.value) for t in transitions] == [("digits", "resolved")]


def test_rule_labels_and_annotations_are_templated_with_value_and_labels():
    state = RuleState(rule(labels={"severity": "warning", "model": "{{ labels.ml_model_name }}"},
                           annotations={"summary": "{{ value | percent }} of {{ labels.ml_model_name }}"}))
    state.apply(returned(0.4567), now=0)
    alert = only(state)
    assert alert.labels == {"ml_model_name": "iris", "severity": "warning", "model": "iris", "alertname": "LowConfidence"}
    assert alert.annotations == {"summary": "45.7% of iris"}


def test_no_data_keep_holds_every_state_and_says_so():
    state = RuleState(rule())
    state.apply(returned(0.4), now=0)
    assert state.apply(NO_DATA, now=15) == []
    assert only(state).state is State.FIRING and state.health is Health.NO_DATA


def test_no_data_ok_resolves_like_an_empty_result():
    state = RuleState(rule(no_data="ok"))
    state.apply(returned(0.4), now=0)
    assert moves(state.apply(NO_DATA, now=15)) == [("firing", "resolved")]
    assert state.health is Health.NO_DATA


def test_no_data_alert_is_an_instance_of_its_own_that_honours_for():
    state = RuleState(rule(no_data="alert", **{"for": "30s"}))
    assert moves(state.apply(NO_DATA, now=0)) == [("inactive", "pending")]
    assert moves(state.apply(NO_DATA, now=30)) == [("pending", "firing")]
    alert = only(state)
    assert alert.labels == {"alert_reason": "no_data", "alertname": "LowConfidence"} and math.isnan(alert.value)
    # Data is back and the condition does not hold: the no-data alert resolves.
    assert moves(state.apply(EMPTY, now=45)) == [("firing", "resolved")]
    assert state.health is Health.OK


def test_query_error_is_a_health_state_and_keeps_firing_alerts_by_default():
    state = RuleState(rule())
    state.apply(returned(0.4), now=0)
    assert state.apply(ERROR, now=15) == []
    assert state.health is Health.ERROR and "unreachable" in state.last_error
    assert only(state).state is State.FIRING
    state.apply(returned(0.4), now=30)
    assert state.health is Health.OK and state.last_error is None


def test_query_error_can_alert():
    state = RuleState(rule(on_error="alert"))
    state.apply(ERROR, now=0)
    assert only(state).labels["alert_reason"] == "query_error" and only(state).state is State.FIRING


def test_a_resolved_alert_is_kept_until_its_resolution_is_delivered_and_retention_passed():
    state = RuleState(rule())
    state.apply(returned(0.4), now=0)
    only(state).sent_state = State.FIRING  # Alertmanager knows it fires
    state.apply(EMPTY, now=15)
    state.prune(now=10_000, retention=60)
    assert only(state).state is State.RESOLVED  # resolution not delivered yet: kept
    only(state).sent_state = State.RESOLVED
    state.prune(now=74, retention=60)
    assert len(state.alerts) == 1  # delivered, but retention not over
    state.prune(now=75, retention=60)
    assert state.alerts == {}


def test_resolve_all_resolves_firing_and_drops_pending():
    state = RuleState(rule())
    state.apply(QueryOutcome((Sample({"m": "a"}, 1),)), now=0)
    pending = RuleState(rule(**{"for": "1h"}))
    pending.apply(returned(0.4), now=0)
    assert moves(state.resolve_all(now=5)) == [("firing", "resolved")]
    assert moves(pending.resolve_all(now=5)) == [("pending", "inactive")] and pending.alerts == {}


def test_rule_state_is_its_most_advanced_instance():
    state = RuleState(rule(**{"for": "30s"}))
    assert state.state is State.INACTIVE
    state.apply(QueryOutcome((Sample({"m": "a"}, 1),)), now=0)
    state.apply(QueryOutcome((Sample({"m": "a"}, 1), Sample({"m": "b"}, 1))), now=30)
    assert state.state is State.FIRING
