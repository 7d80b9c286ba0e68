"""Python log records shipped over OTLP or to the console (``OTEL_LOGS_EXPORTER``).

See :mod:`mlotel.fastpath`: the SDK's logs API is still private
(``opentelemetry._logs``, ``opentelemetry.sdk._logs``, the exporters'
``_log_exporter``), so mlotel uses it only where it uses the SDK's private
names at all: ``MLOTEL_FASTPATH`` on, on a release in ``TESTED_WITH``.
Elsewhere ``OTEL_LOGS_EXPORTER`` is ignored with a warning (:mod:`mlotel.setup`);
trace ids still go on the records.
"""

from __future__ import annotations

import importlib
from typing import Any

from opentelemetry import _logs
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, ConsoleLogExporter
from opentelemetry.sdk.resources import Resource

from mlotel.config import TelemetryConfig


def _exporter(config: TelemetryConfig, name: str) -> Any:
    if name == "console":
        return ConsoleLogExporter()
    transport = "http" if config.logs_protocol == "http/protobuf" else "grpc"
    return importlib.import_module(f"opentelemetry.exporter.otlp.proto.{transport}._log_exporter").OTLPLogExporter()


def install_logger_provider(resource: Resource, config: TelemetryConfig) -> tuple[LoggerProvider, bool]:
    """The global logger provider, and whether it is new: one batch processor per exporter, unless one was installed."""
    existing = _logs.get_logger_provider()
    if isinstance(existing, LoggerProvider):
        return existing, False
    provider = LoggerProvider(resource=resource)
    for name in config.logs_exporters:
        provider.add_log_record_processor(BatchLogRecordProcessor(_exporter(config, name)))
    _logs.set_logger_provider(provider)
    return provider, True
