"""mlotel instrumentation: traces and metrics for ML model-serving APIs.

Usage with FastAPI::

    from contextlib import asynccontextmanager
    from fastapi import FastAPI
    from mlotel import PredictionRecorder, TelemetryConfig, instrument_app, setup_telemetry

    config = TelemetryConfig.from_env()

    @asynccontextmanager
    async def lifespan(app):
        telemetry = setup_telemetry(config, service_name="my-model-server")
        yield
        telemetry.shutdown()

    app = FastAPI(lifespan=lifespan)
    instrument_app(app, config)
    recorder = PredictionRecorder(config)

``setup_telemetry`` runs in the lifespan, i.e. in each worker process after
it is forked, so every worker of ``uvicorn --workers N`` or gunicorn gets its
own providers, threads and ``service.instance.id``.

Configuration is by environment variable; every name, meaning and default is
in :mod:`mlotel.environment_variables` and in the README. The
standard ``OTEL_*`` variables (``OTEL_SERVICE_NAME``,
``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_EXPORTER_OTLP_*``, ``OTEL_TRACES_SAMPLER``,
``OTEL_BSP_*``, ``OTEL_METRIC_EXPORT_INTERVAL``) work as in the SDK.

``telemetry_health()`` says whether this process's telemetry is getting out
(each span export's outcome, measurements dropped), for a health endpoint's
body; see :mod:`mlotel.export_health`.

Every prediction can have an id the client sends back with the actual outcome
(``prediction.prediction_ids()``); :class:`FeedbackScorer` scores it into
accuracy and calibration metrics, on whichever replica shares the key; see
:mod:`mlotel.feedback`.
"""

from mlotel.config import ConfigError, TelemetryConfig
from mlotel.export_health import telemetry_health
from mlotel.feedback import FeedbackResult, FeedbackScorer
from mlotel.middleware import TelemetryMiddleware, instrument_app
from mlotel.prediction_ids import FeedbackRefused, PredictionIds
from mlotel.recorder import Prediction, PredictionRecorder
from mlotel.setup import Telemetry, setup_telemetry

__all__ = [
    "ConfigError",
    "FeedbackRefused",
    "FeedbackResult",
    "FeedbackScorer",
    "Prediction",
    "PredictionIds",
    "PredictionRecorder",
    "Telemetry",
    "TelemetryMiddleware",
    "TelemetryConfig",
    "instrument_app",
    "setup_telemetry",
    "telemetry_health",
]
