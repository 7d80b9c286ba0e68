import os

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.trace import TracerProvider

from mlotel import ConfigError, TelemetryConfig, setup_telemetry
from mlotel.config import BSP_QUEUE_SIZE, SPAN_EXPORT_MAX_BYTES
from mlotel.export_size import SizeBoundedSpanExporter
from mlotel.fastpath.span_encoding import GrpcSpanExporter
from mlotel.setup import build_resource


def _batch_processor(telemetry):
    (processor,) = telemetry.tracer_provider._active_span_processor._span_processors
    return processor._batch_processor


@pytest.mark.fastpath
def test_grpc_is_the_default_protocol_with_a_deep_queue():
    telemetry = setup_telemetry(TelemetryConfig.from_env({}), metric_readers=[])
    try:
        batch = _batch_processor(telemetry)
        # The fast path's exporter bounds its requests itself, by their exact encoded size.
        assert isinstance(batch._exporter, GrpcSpanExporter)
        assert batch._exporter.max_bytes == SPAN_EXPORT_MAX_BYTES
        assert batch._max_queue_size == BSP_QUEUE_SIZE
    finally:
        telemetry.shutdown()


def test_http_protocol_and_bsp_env_are_honoured():
    environ = {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf", "OTEL_BSP_MAX_QUEUE_SIZE": "100"}
    telemetry = setup_telemetry(TelemetryConfig.from_env(environ), metric_readers=[])
    try:
        batch = _batch_processor(telemetry)
        assert isinstance(batch._exporter, SizeBoundedSpanExporter)
        assert isinstance(batch._exporter.exporter, HttpSpanExporter)
        assert batch._exporter.max_bytes == SPAN_EXPORT_MAX_BYTES
        assert batch._max_queue_size == 100
        assert batch._max_export_batch_size == 100  # mlotel's 1024 shrunk to fit
    finally:
        telemetry.shutdown()


def test_each_process_gets_its_own_instance_id_and_env_service_name_wins(monkeypatch):
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")
    first, second = build_resource("ml-api"), build_resource("ml-api")
    assert first.attributes["service.name"] == "ml-api"
    assert first.attributes["deployment.environment.name"] == "test"
    assert first.attributes["service.instance.id"] != second.attributes["service.instance.id"]
    monkeypatch.setenv("OTEL_SERVICE_NAME", "fraud-model")
    assert build_resource("ml-api").attributes["service.name"] == "fraud-model"


def test_providers_installed_before_are_reused_not_replaced():
    existing = TracerProvider()
    trace.set_tracer_provider(existing)
    telemetry = setup_telemetry(TelemetryConfig.from_env({}), metric_readers=[])
    try:
        assert telemetry.tracer_provider is existing
        assert trace.get_tracer_provider() is existing
    finally:
        telemetry.shutdown()


def test_setup_with_sdk_disabled_installs_nothing():
    telemetry = setup_telemetry(TelemetryConfig.from_env({"OTEL_SDK_DISABLED": "true"}))
    assert telemetry.tracer_provider is None and telemetry.meter_provider is None
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


@pytest.mark.fastpath
def test_setup_leaves_the_environment_alone_and_counts_drops_of_its_own_pipeline_only(monkeypatch):
    # Private SDK modules, as mlotel.fastpath.sdk_metrics reads them: only where it is tested.
    from opentelemetry.exporter.otlp.common._exporter_metrics import NoOpExporterMetrics
    from opentelemetry.sdk._shared_internal._processor_metrics import NoOpProcessorMetrics

    monkeypatch.delenv("OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED", raising=False)
    before = dict(os.environ)
    telemetry = setup_telemetry(TelemetryConfig.from_env({}), metric_readers=[])
    try:
        assert dict(os.environ) == before
        batch = _batch_processor(telemetry)
        assert not isinstance(batch._metrics, NoOpProcessorMetrics)
        assert not isinstance(batch._exporter._metrics, NoOpExporterMetrics)
    finally:
        telemetry.shutdown()


def test_config_is_read_once_and_bad_values_name_their_variable():
    config = TelemetryConfig.from_env({"OTEL_METRIC_EXPORT_INTERVAL": "500", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"})
    assert (config.metric_export_interval_ms, config.metrics_protocol, config.logs_protocol) == (500, "http/protobuf", "http/protobuf")
    with pytest.raises(ConfigError, match="OTEL_BSP_SCHEDULE_DELAY"):
        TelemetryConfig.from_env({"OTEL_BSP_SCHEDULE_DELAY": "soon"})
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"):
        TelemetryConfig.from_env({"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"})


def test_each_exporter_of_a_list_gets_its_spans_and_metrics(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # nothing there: the final export fails fast
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    config = TelemetryConfig.from_env({"OTEL_TRACES_EXPORTER": "console, otlp", "OTEL_METRICS_EXPORTER": "otlp,console",
                                       "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "system_metrics,logging"})
    telemetry = setup_telemetry(config)
    try:
        processors = telemetry.tracer_provider._active_span_processor._span_processors
        exporters = [type(getattr(p.span_exporter, "exporter", p.span_exporter)).__name__ for p in processors]
        assert exporters[0] == "ConsoleSpanExporter" and exporters[1] in ("OTLPSpanExporter", "GrpcSpanExporter")
        readers = telemetry.meter_provider._measurement_consumer._reader_storages  # this provider's readers
        assert {type(r._exporter).__name__ for r in readers} == {"OTLPMetricExporter", "ConsoleMetricExporter"}
    finally:
        telemetry.shutdown()


@pytest.mark.parametrize("listed", ["console,jaeger", "zipkin", "none,otlp", " , "])
def test_an_exporter_list_with_an_unknown_name_or_none_among_others_is_refused(listed):
    with pytest.raises(ConfigError, match="OTEL_TRACES_EXPORTER") as refused:
        TelemetryConfig.from_env({"OTEL_TRACES_EXPORTER": listed})
    assert ("'jaeger' unknown" in str(refused.value)) == (listed == "console,jaeger")


def test_none_means_no_exporter():
    config = TelemetryConfig.from_env({"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "None"})
    assert (config.traces_exporters, config.traces_on, config.metrics_on) == ((), False, False)


@pytest.mark.fastpath
def test_log_records_are_shipped_only_where_the_sdks_private_logs_api_is_used(caplog):
    environ = {"OTEL_LOGS_EXPORTER": "console", "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "system_metrics,logging"}
    with caplog.at_level("WARNING", logger="mlotel.setup"):
        public = setup_telemetry(TelemetryConfig.from_env({**environ, "MLOTEL_FASTPATH": "false"}),
                                 span_processors=[], metric_readers=[])
    public.shutdown()
    assert public.logger_provider is None
    assert [m for m in caplog.messages if m.startswith("OTEL_LOGS_EXPORTER ignored")]
    fast = setup_telemetry(TelemetryConfig.from_env(environ), span_processors=[], metric_readers=[])
    try:
        processors = fast.logger_provider._multi_log_record_processor._log_record_processors
        assert [type(p._batch_processor._exporter).__name__ for p in processors] == ["ConsoleLogExporter"]
    finally:
        fast.shutdown()
