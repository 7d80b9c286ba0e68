"""Delivering alerts to Alertmanager (API v2, ``POST /api/v2/alerts``).

A firing alert is posted with its ``startsAt`` and an ``endsAt`` a few resend
intervals ahead: it is re-posted every ``resend_interval``, and should this
service die, Alertmanager resolves it by itself when ``endsAt`` passes instead
of keeping a stale alert forever. A resolved alert is posted with ``endsAt``
= when it resolved. Alertmanager deduplicates by label set and ``startsAt``,
so a re-post (after a restart, say) is never a new notification.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from alerting.rules import Rule
from alerting.state import Alert, State
from alerting.templating import render

# Alertmanager ends a firing alert this many resend intervals after the last post.
VALIDITY_INTERVALS = 4


def _timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def jaeger_search_url(jaeger_url: str, rule: Rule, alert: Alert) -> str | None:
    """A Jaeger search for the traces behind ``alert`` (service, operation, minimum duration)."""
    search = rule.trace_search
    if search is None:
        return None
    params = {"service": render(search.service, alert.labels, alert.value), "lookback": search.lookback, "limit": "20"}
    operation = render(search.operation, alert.labels, alert.value) if search.operation else ""
    min_duration = render(search.min_duration, alert.labels, alert.value).replace(" ", "") if search.min_duration else ""
    if operation:
        params["operation"] = operation
    if min_duration and "n/a" not in min_duration:
        params["minDuration"] = min_duration
    return f"{jaeger_url.rstrip('/')}/search?{urlencode(params, quote_via=quote)}"


def generator_url(prometheus_url: str, service_url: str, rule: Rule) -> str:
    """Where the alert comes from: the expression in Prometheus, or this service's rule."""
    if rule.expr is not None:
        return f"{prometheus_url.rstrip('/')}/graph?{urlencode({'g0.expr': rule.expr, 'g0.tab': '1'}, quote_via=quote)}"
    return f"{service_url.rstrip('/')}/rules/{rule.name}"


def payload(alert: Alert, rule: Rule, now: float, resend_interval: float, links: dict[str, str]) -> dict:
    annotations = dict(alert.annotations)
    if jaeger := jaeger_search_url(links["jaeger"], rule, alert):
        annotations["jaeger_url"] = jaeger
    ends = alert.resolved_at if alert.state is State.RESOLVED else now + VALIDITY_INTERVALS * resend_interval
    return {
        "labels": alert.labels,
        "annotations": annotations,
        "startsAt": _timestamp(alert.fired_at),
        "endsAt": _timestamp(ends),
        "generatorURL": generator_url(links["prometheus"], links["service"], rule),
    }
