"""The alerts page's data: the alert-rule service's active alerts, history, rules
and the notifications Alertmanager delivered to it, and what Alertmanager holds,
in one ``clients.run``; and resolving."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from mlotel_backends.errors import BackendError
from mlotel_console import clients
from mlotel_console.loading import gather

HISTORY_LIMIT = 50
NOTIFICATIONS_LIMIT = 50


@dataclass(frozen=True)
class Alerts:
    """Each part, or the error of the backend that failed to give it."""

    active: list[dict] | BackendError
    history: list[dict] | BackendError
    rules: list[dict] | BackendError
    alertmanager: list[dict] | BackendError
    notifications: list[dict] | BackendError


@st.cache_data(ttl=5, show_spinner=False)
def alerts() -> Alerts:
    return Alerts(*clients.run(lambda c: gather(
        c.alerting.active_alerts(), c.alerting.history(limit=HISTORY_LIMIT), c.alerting.rules(),
        c.alertmanager.alerts(), c.alerting.notifications(limit=NOTIFICATIONS_LIMIT))))


def resolve(rule: str, token: str) -> str:
    """Resolve ``rule``'s alerts; what happened, in words. Raises BackendError."""
    answer = clients.run(lambda c: c.alerting.resolve(rule, token))
    alerts.clear()
    return (f"{answer.get('resolved', 0)} alert(s) of {rule} resolved; if its condition still holds, "
            "it starts again at pending.")

