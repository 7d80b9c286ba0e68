"""The shared wrapper on a library of a few lines: a module wrapped when it is imported after
instrument(), calls that are no prediction left plain, wrapping once however often instrumented."""

import sys
import textwrap

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from harness.telemetry_reading import Captured
from mlotel import TelemetryConfig, setup_telemetry
from mlotel.instrumentors import ModelLibraryInstrumentor, Wrapped, results

LIBRARY = '''
class Scorer:
    classes_ = ["no", "yes"]

    def predict_proba(self, rows, margin=False):
        return [[0.2, 0.8] for _ in rows]
'''


class ToyInstrumentor(ModelLibraryInstrumentor):
    _instruments = ()
    table = (Wrapped("toy_library", "Scorer.predict_proba", results.probabilities, is_prediction=lambda model, kwargs: not kwargs.get("margin")),)


@pytest.fixture
def captured(tmp_path, monkeypatch):
    (tmp_path / "toy_library.py").write_text(textwrap.dedent(LIBRARY))
    monkeypatch.syspath_prepend(str(tmp_path))
    config = TelemetryConfig.from_env({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "system_metrics,logging"})
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    telemetry = setup_telemetry(config, span_processors=[SimpleSpanProcessor(spans)], metric_readers=[reader])
    ToyInstrumentor().instrument(config=config)
    yield Captured(spans, reader)
    ToyInstrumentor().uninstrument()
    telemetry.shutdown()
    sys.modules.pop("toy_library", None)


def test_a_module_imported_after_instrument_is_wrapped_once(captured):
    ToyInstrumentor().instrument()  # already instrumented: nothing more
    import toy_library

    toy_library.Scorer().predict_proba([[1], [2]])
    (span,) = captured.spans()
    assert span.name == "predict Scorer" and span.attributes["ml.batch.size"] == 2
    (confidence,) = captured.points("ml.prediction.confidence", ml__prediction__label="yes")
    assert confidence.count == 2


def test_a_call_that_is_no_prediction_is_left_plain_and_uninstrument_restores_the_method(captured):
    import toy_library

    original = ToyInstrumentor()._wrapped[(toy_library.Scorer, "predict_proba")]
    assert toy_library.Scorer().predict_proba([[1]], margin=True) == [[0.2, 0.8]]
    assert captured.spans() == []
    ToyInstrumentor().uninstrument()
    assert vars(toy_library.Scorer)["predict_proba"] is original
    ToyInstrumentor().instrument()  # for the fixture's uninstrument()
