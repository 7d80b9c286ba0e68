"""``MLOTEL_FASTPATH``: off, only public SDK APIs are used; either way the same telemetry is emitted.

On an SDK release outside ``mlotel.fastpath.TESTED_WITH`` "on" means off,
with one warning: these tests assert that too (``scripts/test_sdk_range.sh``
runs them on such a release).
"""

import json
import os
import subprocess
import sys

import pytest
from opentelemetry import metrics
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan

from harness.telemetry_reading import reset_globals
from mlotel import TelemetryConfig, fastpath
from mlotel.export_size import SizeBoundedSpanExporter
from mlotel.fastpath.span_encoding import GrpcSpanExporter
from mlotel.setup import _span_exporter

IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.3, 2.8, 4.9, 1.6], [6.9, 3.1, 5.4, 2.1]]
# Measured times, which differ from run to run whichever path took them.
_TIMINGS = ("ml.stage.preprocess.duration_ms", "ml.stage.inference.duration_ms", "ml.stage.postprocess.duration_ms")


def _emitted(make_harness, fastpath: str) -> tuple[list, dict]:
    harness = make_harness(MLOTEL_FASTPATH=fastpath, MLOTEL_STAGE_SPAN_THRESHOLD_MS="0")
    assert harness.client.post("/predict", json={"model": "iris", "instances": IRIS_ROWS}).status_code == 200
    assert harness.client.post("/predict", json={"model": "nope", "instances": IRIS_ROWS}).status_code == 404
    spans = [
        (s.name, s.kind, sorted((k, v) for k, v in s.attributes.items() if k not in _TIMINGS),
         [e.name for e in s.events], s.status.status_code)
        for s in harness.captured.spans()
    ]
    points = {
        # Counts and counter values, not recorded durations (measured).
        name: sorted(((sorted(p.attributes.items()), getattr(p, "count", None),
                       None if name.endswith("duration") else getattr(p, "value", None)) for p in found), key=repr)
        for name, found in harness.captured.metrics().items()
        if name.startswith(("ml.", "http."))
    }
    return sorted(spans, key=repr), points


def test_the_same_spans_and_metrics_either_way(make_harness):
    fast = _emitted(make_harness, "true")
    reset_globals()  # a second app, with providers of its own
    public = _emitted(make_harness, "false")
    assert {name for name, *_ in fast[0]} == {"POST /predict", "predict iris", "preprocess", "inference", "postprocess"}
    assert {"ml.predictions", "ml.prediction.confidence", "ml.prediction.errors", "http.server.request.duration"} <= set(fast[1])
    assert fast == public


def test_off_the_spans_are_the_sdks_and_the_exporter_is_the_stock_one(make_harness):
    harness = make_harness(MLOTEL_FASTPATH="false", MLOTEL_STAGE_SPAN_THRESHOLD_MS="0")
    assert harness.client.post("/predict", json={"model": "iris", "instances": IRIS_ROWS}).status_code == 200
    spans = harness.captured.spans()
    # What the SDK's Span.end() hands the processors (a LeanSpan is handed as it is).
    assert len(spans) == 5 and all(type(s) is ReadableSpan for s in spans)
    config = TelemetryConfig.from_env({"MLOTEL_FASTPATH": "false"})
    # Behind mlotel's size bound, which uses only the public SpanExporter interface.
    assert type(_span_exporter(config, metrics.NoOpMeterProvider()).exporter) is OTLPSpanExporter
    on = GrpcSpanExporter if fastpath.supported() else SizeBoundedSpanExporter
    assert type(_span_exporter(TelemetryConfig.from_env({}), metrics.NoOpMeterProvider())) is on


_SERVE_ONE_PREDICTION = """
import json, os, sys
from fastapi.testclient import TestClient
from mlotel_model_server.main import create_app
from mlotel_model_server.settings import Settings
from opentelemetry import trace
with TestClient(create_app(Settings())) as client:
    assert client.post("/predict", json={"model": "iris", "instances": [[5.1, 3.5, 1.4, 0.2]]}).status_code == 200
    provider = trace.get_tracer_provider()
    exporters = [type(getattr(p.span_exporter, "exporter", p.span_exporter)).__module__
                 for p in provider._active_span_processor._span_processors]
    print(json.dumps({"exporters": exporters, "fastpath": sorted(m for m in sys.modules if m.startswith("mlotel.fastpath."))}), flush=True)
    os._exit(0)  # not the export of the span to nowhere at shutdown
"""


@pytest.mark.parametrize("switch", ["false", "true"])
def test_off_no_fastpath_module_is_even_imported(switch):
    # A process of its own: this one has imported them all for the other tests.
    env = {**os.environ, "MLOTEL_FASTPATH": switch, "OTEL_METRICS_EXPORTER": "none", "OTEL_BSP_SCHEDULE_DELAY": "60000",
           "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "system_metrics"}
    served = subprocess.run([sys.executable, "-c", _SERVE_ONE_PREDICTION], env=env, capture_output=True, text=True,
                            timeout=120, check=True)
    found = json.loads(served.stdout.strip().splitlines()[-1])
    said = [line for line in served.stderr.splitlines() if "MLOTEL_FASTPATH is on but" in line]
    if switch == "false" or not fastpath.supported():
        assert found == {"exporters": ["opentelemetry.exporter.otlp.proto.grpc.trace_exporter"], "fastpath": []}
    else:
        assert found["exporters"] == ["mlotel.fastpath.span_encoding"]
        assert {"mlotel.fastpath.lean_spans", "mlotel.fastpath.span_encoding"} <= set(found["fastpath"])
    # Once per process, however many times the configuration is read, and only when it was asked for.
    assert len(said) == (switch == "true" and not fastpath.supported())


def test_the_fast_path_is_used_only_on_the_releases_it_is_tested_with(monkeypatch, caplog):
    monkeypatch.setattr(fastpath, "_installed", lambda: {**{n: "1.45.1" for n in fastpath.TESTED_WITH},
                                                          "opentelemetry-sdk": "1.44.0"})
    fastpath.supported.cache_clear()
    try:
        assert fastpath.untested({"opentelemetry-sdk": "1.46.0rc1", "opentelemetry-exporter-otlp-proto-grpc": None}) == {
            "opentelemetry-sdk": "1.46.0rc1", "opentelemetry-exporter-otlp-proto-grpc": None}
        assert not fastpath.untested({"opentelemetry-sdk": "1.45.2"})
        with caplog.at_level("WARNING", logger="mlotel.fastpath"):
            configs = [TelemetryConfig.from_env({}), TelemetryConfig(fastpath=True), TelemetryConfig.from_env({})]
        assert [c.fastpath for c in configs] == [False, False, False]
        (line,) = caplog.messages
        assert "opentelemetry-sdk 1.44.0 is not among" in line and "~=1.45.0" in line
    finally:
        fastpath.supported.cache_clear()
