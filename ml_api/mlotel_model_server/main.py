"""Assembles the ML API: models, telemetry, error handlers, routers."""

import gc
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from mlotel import FeedbackScorer, PredictionRecorder, TelemetryConfig, instrument_app, setup_telemetry
from mlotel.semconv import __version__
from mlotel_model_server.models import load_models
from mlotel_model_server.routes import feedback, health, models, predict
from mlotel_model_server.settings import Settings
from mlotel_service_kit.api_docs import api_app
from mlotel_service_kit.api_errors import install_error_handlers
from mlotel_service_kit.body_limit import BodySizeLimit

_logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, instrument: bool = True) -> FastAPI:
    """``instrument=False`` leaves mlotel out entirely (benchmarks compare against it)."""
    settings = settings or Settings()
    config = TelemetryConfig.from_env() if instrument else TelemetryConfig(sdk_disabled=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Here, not at import: each worker sets up its own providers after fork.
        telemetry = setup_telemetry(config, service_name=settings.service_name, service_version=__version__) if instrument else None
        app.state.models = load_models(settings.model_dir)
        classes = {model.name: model.classes for model in app.state.models.values()}
        app.state.feedback = FeedbackScorer(app.state.recorder.prediction_ids, classes, config)
        if settings.feedback_token is None:
            _logger.warning("ML_API_FEEDBACK_TOKEN is unset: anyone who can reach the port and holds a prediction id "
                            "can send its outcome; set it to require a bearer token on POST /feedback")
        # What start-up built (models, FastAPI, the SDK) lives as long as the process.
        # Frozen, it is left out of full collections, which spans waiting in the batch
        # queue set off every few seconds under load: ~100 ms pauses become ~2 ms
        # (gc callbacks in the server under wrk: 213 ms of full collections per 10 s before).
        gc.freeze()
        yield
        if telemetry is not None:
            telemetry.shutdown()

    app = api_app(title="mlotel ML API", lifespan=lifespan)
    app.state.settings = settings
    app.state.recorder = PredictionRecorder(config)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    for module in (health, models, predict, feedback):
        app.include_router(module.router)
    instrument_app(app, config)
    return app
