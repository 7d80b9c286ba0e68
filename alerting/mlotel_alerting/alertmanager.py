"""Delivering alerts to Alertmanager (API v2, ``POST /api/v2/alerts``).

A firing alert is posted with its ``startsAt`` and an ``endsAt`` a few resend
intervals ahead: it is re-posted every ``resend_interval``, and should this
service die, Alertmanager resolves it by itself when ``endsAt`` passes instead
of keeping a stale alert forever. A resolved alert is posted with ``endsAt``
= when it resolved. Alertmanager deduplicates by label set and ``startsAt``,
so a re-post (after a restart, say) is never a new notification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from mlotel_alerting.durations import parse_duration
from mlotel_alerting.rules import Rule
from mlotel_alerting.state import Alert, State
from mlotel_alerting.templating import render
from mlotel_backends.trace_links import TraceLinks
from mlotel_contract import MODEL

# Alertmanager ends a firing alert this many resend intervals after the last post.
VALIDITY_INTERVALS = 4


def _timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _milliseconds(duration: str) -> int | None:
    """812 for "812 ms"; None for no duration (a template's "n/a" for NaN, say)."""
    try:
        return round(parse_duration(duration.replace(" ", "")) * 1000)
    except ValueError:
        return None


def trace_search_url(links: TraceLinks, rule: Rule, labels: dict[str, str], value: float | None) -> str | None:
    """The traces behind an alert of ``rule`` (its ``labels`` and ``value``): the console's slow predictions
    of its model (its ``ml_model_name``) or, with a trace UI, a Jaeger search for the rule's service and operation."""
    search = rule.trace_search
    if search is None:
        return None

    def filled(template: str) -> str:
        return render(template, labels, value) if template else ""

    return links.slow(labels.get(MODEL, ""), _milliseconds(filled(search.min_duration)), search.lookback,
                      service=filled(search.service), operation=filled(search.operation))


def generator_url(prometheus_url: str, service_url: str, rule: Rule) -> str:
    """Where the alert comes from: the expression in Prometheus, or this service's rule."""
    if rule.expr is not None:
        return f"{prometheus_url.rstrip('/')}/graph?{urlencode({'g0.expr': rule.expr, 'g0.tab': '1'}, quote_via=quote)}"
    return f"{service_url.rstrip('/')}/rules/{rule.name}"


@dataclass(frozen=True)
class Links:
    """Where an alert's links point: where it comes from (``generator_url``) and its traces."""

    prometheus_url: str
    service_url: str
    traces: TraceLinks


def payload(alert: Alert, rule: Rule, now: float, resend_interval: float, links: Links) -> dict:
    annotations = dict(alert.annotations)
    if traces := trace_search_url(links.traces, rule, alert.labels, alert.value):
        annotations["trace_url"] = traces
    ends = alert.resolved_at if alert.state is State.RESOLVED else now + VALIDITY_INTERVALS * resend_interval
    return {
        "labels": alert.labels,
        "annotations": annotations,
        "startsAt": _timestamp(alert.fired_at),
        "endsAt": _timestamp(ends),
        "generatorURL": generator_url(links.prometheus_url, links.service_url, rule),
    }
