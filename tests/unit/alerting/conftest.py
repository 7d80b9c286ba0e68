"""The alert-rule service over fake Prometheus and Alertmanager HTTP APIs (httpx mock
transports, ``harness.alerting_fakes``). Real servers are exercised by tests/integration/test_alerting.py."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from harness.alerting_fakes import RULES, TOKEN, FakeAlertmanager, FakePrometheus, make_engine
from mlotel_alerting.main import create_app
from mlotel_alerting.settings import Settings


@pytest.fixture
def backends():
    return FakePrometheus(), FakeAlertmanager()


@pytest.fixture
def settings(tmp_path) -> Settings:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "ml.yml").write_text(RULES)
    return Settings(rules_dir=rules, db_path=tmp_path / "alerting.sqlite3", api_token=TOKEN, resend_interval=60,
                    resolved_retention=300, query_retries=0)


@pytest.fixture
def service(settings, backends):
    """A TestClient of the app whose engine the test drives (no background loop)."""
    engine = make_engine(settings, backends)
    with TestClient(create_app(settings, engine, run_loop=False)) as client:
        client.engine = engine
        client.at = lambda now: (client.portal.call(engine.evaluate, now), client.portal.call(engine.notify, now))
        yield client
