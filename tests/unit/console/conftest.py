"""Each console page through Streamlit's AppTest, against recorded backend answers."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from harness.console.recording import Replay
from mlotel_console import clients
from mlotel_console.settings import settings

APP = Path(clients.__file__).resolve().parent / "app.py"
PORTS = {"prometheus": 9090, "jaeger": 16686, "alerting": 8080, "alertmanager": 9093}


@pytest.fixture
def open_page(monkeypatch):
    """``open_page("views/models.py", "models", {"model": "iris"}, down={"jaeger"})``: the page run
    against the recording ``models``, with the named backends unreachable; returns (app, replay)."""

    def run(script: str, recording: str, query: dict[str, str] | None = None,
            down: set[str] = frozenset()) -> tuple[AppTest, Replay]:
        replay = Replay.of(recording, frozenset(PORTS[name] for name in down))
        monkeypatch.setattr(clients, "transport", replay)
        st.cache_data.clear()
        app = AppTest.from_file(str(APP), default_timeout=30)
        app.query_params.update(query or {})
        app.switch_page(script).run()
        return app, replay

    monkeypatch.setattr(settings, "trace_ui_url", "")
    yield run
    st.cache_data.clear()
