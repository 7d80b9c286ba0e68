"""App factories for the modes that ``overhead.py`` compares with mlotel.

- ``bare_app``: the ML API with the cheapest stand-in for the recorder (no
  mlotel code runs), the yardstick for the kill switch;
- ``stock_app``: what the OpenTelemetry docs set up by hand:
  ``FastAPIInstrumentor`` and the SDK's defaults (batch span processor with
  its default queue, OTLP gRPC exporters), with the same prediction spans;
- ``without_ids_app``: the ML API with mlotel, its prediction ids left out, to price them;
- ``unexported_spans_app``: mlotel whose spans are made and ended but exported
  nowhere (its tracer provider has no span processor), to price the export;
- ``contrib_http_app``, ``fastapi_native_app``: mlotel's pipeline with another
  HTTP instrumentation in place of mlotel's middleware, to compare them;
- ``sklearn_app``: mlotel, with each prediction recorded by the scikit-learn
  instrumentor (around the model's own ``predict_proba``) instead of the
  server's recorder, named as the server names its models.
"""

from contextlib import asynccontextmanager, nullcontext

from fastapi import FastAPI
from opentelemetry import metrics, trace
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from mlotel import PredictionIds, PredictionRecorder, TelemetryConfig, setup_telemetry
from mlotel.instrumentors.sklearn import SklearnInstrumentor
from mlotel.setup import span_limits
from mlotel_model_server.main import create_app


class _BarePrediction:
    def stage(self, name):
        return nullcontext()

    def capture_features(self, instance):
        pass

    def observe_features(self, rows):
        pass

    def set_results(self, labels, confidences):
        pass

    def prediction_ids(self):
        return []


class _BareRecorder:
    # The feedback route needs one to check ids against; no id is ever issued here.
    prediction_ids = PredictionIds(b"bare", 1.0)

    def predict(self, model, version, batch_size):
        return nullcontext(_BarePrediction())

    def record_rejected(self, model, version, error_type):
        pass

    def track_features(self, model, version, reference, names=None):
        pass


def bare_app() -> FastAPI:
    app = create_app(instrument=False)
    app.state.recorder = _BareRecorder()
    return app


def skip_prediction_ids() -> None:
    """Prediction ids left unsigned (the response carries null), to price them alone."""
    PredictionIds.issue = lambda self, *args, **kwargs: []  # type: ignore[method-assign]


def without_ids_app() -> FastAPI:
    skip_prediction_ids()
    return create_app()


def unexported_spans_app() -> FastAPI:
    # Installed first, mlotel's set-up keeps it. OTEL_TRACES_EXPORTER=none would install no provider: no spans at all.
    trace.set_tracer_provider(TracerProvider(span_limits=span_limits(TelemetryConfig.from_env())))
    return create_app()


def stock_app() -> FastAPI:
    app = create_app(instrument=False)
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": "ml-api"}))
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())]))
    app.state.recorder = PredictionRecorder(TelemetryConfig.from_env())
    FastAPIInstrumentor.instrument_app(app)
    return app


def _with_mlotel_pipeline(app: FastAPI) -> FastAPI:
    """mlotel's providers and recorder, without its HTTP middleware."""
    config = TelemetryConfig.from_env()
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app):
        telemetry = setup_telemetry(config, service_name="ml-api")
        async with inner(app):
            yield
        telemetry.shutdown()

    app.router.lifespan_context = lifespan
    app.state.recorder = PredictionRecorder(config)
    return app


def contrib_http_app() -> FastAPI:
    app = _with_mlotel_pipeline(create_app(instrument=False))
    FastAPIInstrumentor.instrument_app(app, exclude_spans=["receive", "send"])
    return app


def fastapi_native_app() -> FastAPI:
    app = _with_mlotel_pipeline(create_app(instrument=False))
    app._telemetry.update(tracing=True, metrics=True, logs=False, operation_spans=False)
    return app


def sklearn_app() -> FastAPI:
    app = create_app()
    config = app.state.recorder.config
    app.state.recorder = _BareRecorder()  # the route's own predictions go; the library call records
    SklearnInstrumentor().instrument(config=config)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app):
        async with inner(app):
            for model in app.state.models.values():
                model.estimator.mlotel_model_name, model.estimator.mlotel_model_version = model.name, model.version
            yield

    app.router.lifespan_context = lifespan
    return app
