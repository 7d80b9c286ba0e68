"""SQLite storage: rules added at run time, every alert instance's state, and
the history of transitions. A restart reads them back, including what was
last delivered to Alertmanager, so nothing is sent twice or lost.

The engine lives on the event loop; SQLite blocks. ``call`` runs a storage
method in the storage's one thread, in the order the loop asked, so writes
never reorder and the loop never waits on the disk. What is written is
snapshotted on the loop first (``snapshot``): the thread never reads an alert
the loop may be changing.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlotel_alerting.rules import Rule, RuleError, parse_rule
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


@dataclass(frozen=True)
class AlertRows:
    """One rule's alert instances and new transitions, as the rows to write."""

    rule: str
    alerts: list[tuple[str, str, str]]
    history: list[tuple[float, str, str, str, str, float | None]]


def snapshot(rule: str, alerts: list[Alert], transitions: list[Transition]) -> AlertRows:
    return AlertRows(
        rule,
        [(alert.fingerprint, rule, json.dumps(asdict(alert))) for alert in alerts],
        [(t.at, t.rule, json.dumps(t.labels, sort_keys=True), t.previous, t.current, finite(t.value)) for t in transitions],
    )


class Storage:
    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()  # the connection is shared by the storage thread and start-up
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alerting-sqlite")

    async def call(self, method: Callable[..., Any], *args: Any) -> Any:
        """``method(*args)`` in the storage thread, after everything asked before it."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, method, *args)

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        with self._lock:
            self._db.close()

    def rules(self) -> tuple[dict[str, Rule], dict[str, str]]:
        """Stored rules by name, and those that no longer load (limits tightened since, say) with why."""
        with self._lock:
            rows = self._db.execute("SELECT name, document FROM rules ORDER BY name").fetchall()
        rules, invalid = {}, {}
        for name, document in rows:
            try:
                rules[name] = parse_rule(json.loads(document), "stored rule")
            except (RuleError, ValueError, RecursionError) as error:
                invalid[name] = str(error)[:500]
        return rules, invalid

    def save_rule(self, rule: Rule, now: float) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO rules VALUES (?, ?, ?)", (rule.name, json.dumps(rule.as_document()), now))

    def delete_rule(self, name: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM rules WHERE name = ?", (name,))

    def alerts(self) -> list[Alert]:
        alerts = []
        with self._lock:
            rows = self._db.execute("SELECT document FROM alerts").fetchall()
        for (document,) in rows:
            fields = json.loads(document)
            fields["state"] = State(fields["state"])
            fields["sent_state"] = State(fields["sent_state"]) if fields["sent_state"] else None
            alerts.append(Alert(**fields))
        return alerts

    def write_alerts(self, batch: list[AlertRows]) -> None:
        """Replace each rule's alert instances and append its transitions, all in one transaction
        (one evaluation of a thousand rules is one commit, not a thousand)."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for rows in batch:
                    self._db.execute("DELETE FROM alerts WHERE rule = ?", (rows.rule,))
                    self._db.executemany("INSERT INTO alerts VALUES (?, ?, ?)", rows.alerts)
                    self._db.executemany(
                        "INSERT INTO history (at, rule, labels, previous, current, value) VALUES (?, ?, ?, ?, ?, ?)",
                        rows.history)
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
        with self._lock:
            rows = self._db.execute(query + " ORDER BY id DESC LIMIT ?", [*args, limit]).fetchall()
        return [
            {"at": at, "rule": name, "labels": json.loads(labels), "previous": previous, "current": current, "value": value}
            for at, name, labels, previous, current, value in rows
        ]
