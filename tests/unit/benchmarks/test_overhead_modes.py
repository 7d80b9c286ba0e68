"""``benchmarks/overhead.py``'s part modes do what their names say: ``no-export`` makes and ends spans and
exports none, ``no-spans`` makes none. (``no-export`` once meant ``OTEL_TRACES_EXPORTER=none``, which makes
no spans at all, and its figure was quoted as the export's.)"""

import importlib

from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SynchronousMultiSpanProcessor

from benchmarks.overhead import BODY, MODES


def _serve(mode: str, monkeypatch) -> tuple[dict, str | None, list[ReadableSpan]]:
    """One /predict in ``mode``'s app: the body, the traceresponse header, and the spans that ended in the provider."""
    factory, env = MODES[mode]
    # Nothing listens for the metrics: at shutdown their last export gives up after 1 s, not 10.
    for name, value in {**env, "OTEL_TRACES_SAMPLER": "always_on", "OTEL_EXPORTER_OTLP_TIMEOUT": "1"}.items():
        monkeypatch.setenv(name, value)
    ended: list[ReadableSpan] = []
    on_end = SynchronousMultiSpanProcessor.on_end
    monkeypatch.setattr(SynchronousMultiSpanProcessor, "on_end", lambda self, span: (ended.append(span), on_end(self, span))[1])
    module, _, name = factory.partition(":")
    with TestClient(getattr(importlib.import_module(module), name)()) as client:
        response = client.post("/predict", content=BODY, headers={"content-type": "application/json"})
        assert response.status_code == 200
        return response.json(), response.headers.get("traceresponse"), ended


def test_no_export_makes_and_ends_both_spans_and_exports_none(monkeypatch):
    body, traceresponse, ended = _serve("no-export", monkeypatch)
    assert body["trace_id"] is not None and traceresponse is not None
    assert body["trace_id"] in traceresponse
    assert trace.get_tracer_provider()._active_span_processor._span_processors == ()  # nowhere to go
    assert sorted(span.name for span in ended) == ["POST /predict", "predict iris"]
    assert all(span.end_time for span in ended)


def test_no_spans_makes_none(monkeypatch):
    body, traceresponse, ended = _serve("no-spans", monkeypatch)
    assert body["trace_id"] is None and traceresponse is None and ended == []
