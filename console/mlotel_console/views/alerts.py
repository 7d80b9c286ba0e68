"""Alerts (``/alerts``): the alert-rule service's active alerts, its rules' health and
recent state changes, each model's alert linked to that model's slow predictions;
the notifications Alertmanager delivered (to the service's webhook); what Alertmanager
holds; resolving a rule's alerts (with the API token)."""

from pathlib import Path

import pandas as pd
import streamlit as st

import mlotel_contract as contract
from mlotel_backends.errors import BackendError
from mlotel_console import alert_data, tables, ui
from mlotel_console.settings import settings

TIMES = ("since", "firing since", "at", "delivered at", "last repeat", "last evaluation")
COLUMNS = {"slow predictions": st.column_config.LinkColumn("slow predictions", display_text="slow predictions"),
           "value": st.column_config.NumberColumn("value", format="%.4g"),
           **{name: st.column_config.DatetimeColumn(name, format="YYYY-MM-DD HH:mm:ss") for name in TIMES}}


def _slow_link(alert: dict) -> str | None:
    """The alert-rule service's ``trace_url`` (the link Alertmanager's notifications carry too), made from
    the rule's trace search; for a model's alert of a rule without one, that model's slow predictions."""
    model = (alert.get("labels") or {}).get(contract.MODEL)
    return alert.get("trace_url") or (ui.slow_url(model) if model else None)


def _alert_rows(alerts: list[dict], columns: dict[str, str]) -> pd.DataFrame:
    """One row per alert: the ``columns`` it has (API name -> shown name), its model and slow-predictions link."""
    frame = pd.DataFrame([{"rule": alert.get("rule"), "model": (alert.get("labels") or {}).get(contract.MODEL, ""),
                           "slow predictions": _slow_link(alert),
                           **{shown: alert.get(key) for key, shown in columns.items()}} for alert in alerts])
    for name in set(TIMES) & set(frame):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


def _active(active: list[dict]) -> None:
    if not active:
        st.success("No alert is pending or firing.")
        return
    frame = _alert_rows(active, {"state": "state", "value": "value",
                                        "active_at": "since", "fired_at": "firing since"})
    frame["summary"] = [(alert.get("annotations") or {}).get("summary", "") for alert in active]
    tables.show(frame, column_config=COLUMNS)


def _rules(rules: list[dict]) -> None:
    if not rules:
        st.info("The alert-rule service has no rules: its ALERTING_RULES_DIR holds none, or all were deleted.")
        return
    for rule in rules:
        if rule.get("health") in ("no_data", "error"):
            st.warning(f"Rule {rule['name']}: {rule['health'].replace('_', ' ')}"
                       + (f": {rule['last_error']}" if rule.get("last_error") else ""), icon=":material/rule:")
    # The file's name, not the service's absolute path to it: which file, without the host's layout.
    frame = pd.DataFrame([{key: rule.get(key) for key in ("name", "state", "health", "last_error", "alerts")}
                          | {"last evaluation": rule.get("last_evaluation"), "source": Path(rule.get("source") or "").name}
                          for rule in rules])
    frame["last evaluation"] = pd.to_datetime(frame["last evaluation"], utc=True)
    tables.show(frame, column_config=COLUMNS)
    _resolve([rule["name"] for rule in rules if rule.get("state") in ("pending", "firing")])


def _resolve(names: list[str]) -> None:
    if not names:
        return
    token = (settings.alerting_api_token.get_secret_value() if settings.alerting_api_token
             else st.text_input("API token (resolving needs it)", type="password"))
    for column, name in zip(st.columns(min(len(names), 4)) * len(names), names):
        if column.button(f"Resolve {name}", key=f"resolve_{name}", disabled=not token):
            try:
                st.session_state["resolved"] = ("success", alert_data.resolve(name, token))
            except BackendError as error:
                st.session_state["resolved"] = ("error", f"Resolving {name} failed: {error}")
            st.rerun()
    if outcome := st.session_state.pop("resolved", None):
        getattr(st, outcome[0])(outcome[1])


def _history(history: list[dict]) -> None:
    if not history:
        st.info("No alert has changed state yet.")
        return
    tables.show(_alert_rows(history, {"at": "at", "previous": "from", "current": "to",
                                              "value": "value"}), column_config=COLUMNS)


def _alertmanager(held: list[dict]) -> None:
    if not held:
        st.info("Alertmanager holds no alert.")
        return
    tables.show(pd.DataFrame([{"alert": a["labels"].get("alertname", ""), "state": a.get("status", {}).get("state"),
                                "model": a["labels"].get(contract.MODEL, ""), "severity": a["labels"].get("severity", ""),
                                "starts": a.get("startsAt"), "ends": a.get("endsAt"),
                                "summary": a.get("annotations", {}).get("summary", "")} for a in held]))


def _notifications(delivered: list[dict]) -> None:
    if not delivered:
        st.info("No notification has arrived yet: Alertmanager's webhook (GET /notifications of the "
                "alert-rule service) lists each alert it delivers, firing and resolved.")
        return
    frame = pd.DataFrame([{"delivered at": n.get("received_at"), "alert": n.get("alertname", ""), "status": n.get("status"),
                           "model": (n.get("labels") or {}).get(contract.MODEL, ""),
                           "severity": (n.get("labels") or {}).get("severity", ""), "receiver": n.get("receiver", ""),
                           "deliveries": n.get("deliveries"), "last repeat": n.get("last_received_at"),
                           "summary": (n.get("annotations") or {}).get("summary", "")} for n in delivered])
    for name in ("delivered at", "last repeat"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    tables.show(frame, column_config=COLUMNS)


def body() -> None:
    data = alert_data.alerts()
    for title, part, show in (("Active", data.active, _active), ("Rules", data.rules, _rules),
                              ("Recent changes", data.history, _history),
                              ("Notifications delivered", data.notifications, _notifications),
                              ("In Alertmanager", data.alertmanager, _alertmanager)):
        st.subheader(title)
        if isinstance(part, BackendError):
            ui.backend_down(part)
        else:
            show(part)


st.title("Alerts")
ui.live(body)
