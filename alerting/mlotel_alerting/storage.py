"""SQLite storage: rules added at run time, every alert instance's state, and
the history of transitions. A restart reads them back, including what was
last delivered to Alertmanager, so nothing is sent twice or lost."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict
from pathlib import Path

from mlotel_alerting.rules import Rule, parse_rule
from mlotel_alerting.state import Alert, State, Transition, finite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rules (name TEXT PRIMARY KEY, document TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (
    fingerprint TEXT NOT NULL, rule TEXT NOT NULL, document TEXT NOT NULL, PRIMARY KEY (rule, fingerprint));
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, rule TEXT NOT NULL, labels TEXT NOT NULL,
    previous TEXT NOT NULL, current TEXT NOT NULL, value REAL);
CREATE INDEX IF NOT EXISTS history_rule_at ON history (rule, at);
"""


class Storage:
    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def rules(self) -> dict[str, Rule]:
        rows = self._db.execute("SELECT name, document FROM rules ORDER BY name").fetchall()
        return {name: parse_rule(json.loads(document), f"stored rule '{name}'") for name, document in rows}

    def save_rule(self, rule: Rule, now: float) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO rules VALUES (?, ?, ?)", (rule.name, json.dumps(rule.as_document()), now))

    def delete_rule(self, name: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM rules WHERE name = ?", (name,))

    def alerts(self) -> list[Alert]:
        alerts = []
        for (document,) in self._db.execute("SELECT document FROM alerts"):
            fields = json.loads(document)
            fields["state"] = State(fields["state"])
            fields["sent_state"] = State(fields["sent_state"]) if fields["sent_state"] else None
            alerts.append(Alert(**fields))
        return alerts

    def save_alerts(self, rule: str, alerts: list[Alert], transitions: list[Transition]) -> None:
        """Replace ``rule``'s alert instances and append its transitions, atomically."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.execute("DELETE FROM alerts WHERE rule = ?", (rule,))
                self._db.executemany(
                    "INSERT INTO alerts VALUES (?, ?, ?)",
                    [(alert.fingerprint, rule, json.dumps(asdict(alert))) for alert in alerts],
                )
                self._db.executemany(
                    "INSERT INTO history (at, rule, labels, previous, current, value) VALUES (?, ?, ?, ?, ?, ?)",
                    [(t.at, t.rule, json.dumps(t.labels, sort_keys=True), t.previous, t.current, finite(t.value))
                     for t in transitions],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def history(self, rule: str | None = None, since: float | None = None, limit: int = 500) -> list[dict]:
        query, args = "SELECT at, rule, labels, previous, current, value FROM history WHERE 1=1", list[object]()
        if rule is not None:
            query, args = query + " AND rule = ?", [*args, rule]
        if since is not None:
            query, args = query + " AND at >= ?", [*args, since]
        rows = self._db.execute(query + " ORDER BY id DESC LIMIT ?", [*args, limit]).fetchall()
        return [
            {"at": at, "rule": name, "labels": json.loads(labels), "previous": previous, "current": current, "value": value}
            for at, name, labels, previous, current, value in rows
        ]

