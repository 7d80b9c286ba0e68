"""Fixtures shared by all tests: in-memory telemetry and a fresh app per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from harness.telemetry_reading import Captured, reset_globals
from mlotel import TelemetryConfig, setup_telemetry
from mlotel.export_health import EXPORT_HEALTH
from mlotel_model_server.main import create_app
from mlotel_model_server.settings import Settings


@pytest.fixture(autouse=True)
def _fresh_globals() -> Iterator[None]:
    reset_globals()
    EXPORT_HEALTH.reset()
    yield
    reset_globals()
    EXPORT_HEALTH.reset()


@pytest.fixture(scope="session")
def settings() -> Settings:
    # Models are cached in the user's cache dir, so the forest trains once per machine.
    return Settings()


@pytest.fixture
def captured() -> Iterator[Captured]:
    """Telemetry set up in memory, as a model server's own set-up would be, without an app."""
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    config = TelemetryConfig.from_env({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "system_metrics,logging"})
    telemetry = setup_telemetry(config, span_processors=[SimpleSpanProcessor(spans)], metric_readers=[reader])
    yield Captured(spans, reader)
    telemetry.shutdown()


@dataclass
class Harness:
    """An app whose telemetry goes to memory, and what it emitted."""

    client: TestClient
    captured: Captured
    config: TelemetryConfig


@pytest.fixture
def make_harness(settings, monkeypatch):
    """Build the ML API with the environment given, telemetry in memory."""
    opened: list[tuple[TestClient, object]] = []

    def make(**env: str) -> Harness:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        config = TelemetryConfig.from_env()
        spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
        # Installed first, so the app's own setup_telemetry reuses these providers.
        telemetry = setup_telemetry(config, span_processors=[SimpleSpanProcessor(spans)], metric_readers=[reader])
        client = TestClient(create_app(settings))
        client.__enter__()
        opened.append((client, telemetry))
        return Harness(client, Captured(spans, reader if config.metrics_on else None), config)

    yield make
    for client, telemetry in opened:
        client.__exit__(None, None, None)
        telemetry.shutdown()
