"""What Alertmanager delivered to this service: its webhook payload, and the SQLite store that keeps it.

Alertmanager re-sends a firing alert every ``repeat_interval`` and the whole group
whenever one of its alerts changes, so one alert arrives many times. A notification
is kept once per alert episode and status (fingerprint, status, ``startsAt``): a
repeat only counts a delivery and moves ``last_received_at``; the same alert firing
again later (a new ``startsAt``) is a new notification. Every write commits before
the webhook answers, so what Alertmanager saw acknowledged survives a ``kill -9``.
The store keeps the newest ``MAX_KEPT`` notifications.

The methods block (SQLite); routes call them in a worker thread. One connection
behind a lock serves every thread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

MAX_KEPT = 10_000
MAX_ALERTS = 1_000
"""Alerts in one payload; Alertmanager's ``max_alerts`` setting truncates a group to fewer."""

Status = Literal["firing", "resolved"]
_Text = Annotated[str, StringConstraints(max_length=4096)]
_Name = Annotated[str, StringConstraints(max_length=256)]
_Map = Annotated[dict[_Name, _Text], Field(max_length=64)]


def _not_a_number(value: object) -> object:
    if isinstance(value, (int, float)):
        raise ValueError("an RFC 3339 time, not a number")
    return value


# RFC 3339 text, as Alertmanager sends and the OpenAPI schema says; pydantic alone also took Unix numbers.
_Time = Annotated[datetime, BeforeValidator(_not_a_number)]


class WebhookAlert(BaseModel):
    """One alert of Alertmanager's webhook payload (version 4); unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    status: Status
    labels: _Map
    annotations: _Map = {}
    starts_at: _Time = Field(alias="startsAt")
    ends_at: _Time | None = Field(None, alias="endsAt")
    generator_url: _Text = Field("", alias="generatorURL")
    fingerprint: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{1,64}$")]


class WebhookPayload(BaseModel):
    """The body Alertmanager's ``webhook_configs`` POSTs."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    version: Literal["4"]
    group_key: _Text = Field(alias="groupKey")
    status: Status
    receiver: _Name
    external_url: _Text = Field("", alias="externalURL")
    alerts: Annotated[list[WebhookAlert], Field(max_length=MAX_ALERTS)]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL, status TEXT NOT NULL, starts_at TEXT NOT NULL, ends_at TEXT,
    alertname TEXT NOT NULL, labels TEXT NOT NULL, annotations TEXT NOT NULL, generator_url TEXT NOT NULL,
    receiver TEXT NOT NULL, group_key TEXT NOT NULL, external_url TEXT NOT NULL,
    received_at REAL NOT NULL, last_received_at REAL NOT NULL, deliveries INTEGER NOT NULL,
    UNIQUE (fingerprint, status, starts_at));
CREATE INDEX IF NOT EXISTS notifications_status ON notifications (status, id);
"""
_COLUMNS = ("id", "fingerprint", "status", "starts_at", "ends_at", "alertname", "labels", "annotations", "generator_url",
            "receiver", "group_key", "external_url", "received_at", "last_received_at", "deliveries")


def _iso(moment: datetime | None) -> str | None:
    # Alertmanager sends the zero time (year 1) as endsAt of a firing alert: no end yet.
    return None if moment is None or moment.year <= 1 else moment.isoformat()


class NotificationStore:
    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        # Acknowledged means on disk: Alertmanager does not send an acknowledged notification again.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def record(self, payload: WebhookPayload, now: float | None = None) -> tuple[int, int]:
        """Keep the payload's alerts; returns (new notifications, repeats of kept ones)."""
        now = time.time() if now is None else now
        rows = [(alert.fingerprint, alert.status, alert.starts_at.isoformat(), _iso(alert.ends_at),
                 alert.labels.get("alertname", ""), json.dumps(alert.labels, sort_keys=True),
                 json.dumps(alert.annotations, sort_keys=True), alert.generator_url, payload.receiver,
                 payload.group_key, payload.external_url, now, now, 1) for alert in payload.alerts]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                new = 0
                for row in rows:
                    cursor = self._db.execute(
                        f"INSERT INTO notifications ({', '.join(_COLUMNS[1:])}) VALUES ({', '.join('?' * len(row))})"
                        " ON CONFLICT (fingerprint, status, starts_at) DO NOTHING", row)
                    if cursor.rowcount == 1:
                        new += 1
                    else:
                        self._db.execute(
                            "UPDATE notifications SET deliveries = deliveries + 1, last_received_at = ?,"
                            " ends_at = COALESCE(?, ends_at) WHERE fingerprint = ? AND status = ? AND starts_at = ?",
                            (now, row[3], row[0], row[1], row[2]))
                if new:
                    self._db.execute("DELETE FROM notifications WHERE id <= (SELECT id FROM notifications"
                                     " ORDER BY id DESC LIMIT 1 OFFSET ?)", (MAX_KEPT,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return new, len(rows) - new

    def list(self, status: str | None = None, alertname: str | None = None, since: float | None = None,
             limit: int = 100) -> list[dict]:
        """Notifications, newest first."""
        query, args = f"SELECT {', '.join(_COLUMNS)} FROM notifications WHERE 1=1", list[object]()
        for column, value in (("status", status), ("alertname", alertname)):
            if value is not None:
                query, args = f"{query} AND {column} = ?", [*args, value]
        if since is not None:
            query, args = f"{query} AND received_at >= ?", [*args, since]
        with self._lock:
            rows = self._db.execute(f"{query} ORDER BY id DESC LIMIT ?", [*args, limit]).fetchall()
        notifications = []
        for row in rows:
            fields = dict(zip(_COLUMNS, row, strict=True))
            fields["labels"], fields["annotations"] = json.loads(fields["labels"]), json.loads(fields["annotations"])
            notifications.append(fields)
        return notifications
