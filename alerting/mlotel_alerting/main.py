"""Assembles the alert-rule service: clients, storage, engine, routes, and the evaluation loop."""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import asynccontextmanager

from fastapi import FastAPI

from mlotel_alerting.api import alerts, health, metrics, notifications, rules, ws
from mlotel_alerting.engine import Engine
from mlotel_alerting.settings import Settings
from mlotel_alerting.storage import Storage
from mlotel_backends.alertmanager import Alertmanager
from mlotel_backends.prometheus import Prometheus
from mlotel_service_kit.api_docs import api_app
from mlotel_service_kit.api_errors import install_error_handlers
from mlotel_service_kit.body_limit import BodySizeLimit

ROUTERS = [health.router, rules.router, alerts.router, metrics.router, ws.router, notifications.router]


def build_engine(settings: Settings, prometheus: Prometheus | None = None, alertmanager: Alertmanager | None = None) -> Engine:
    return Engine(
        settings,
        prometheus or Prometheus(settings.prometheus_url, settings.query_timeout, settings.query_retries),
        alertmanager or Alertmanager(settings.alertmanager_url, settings.query_timeout),
        Storage(settings.db_path),
    )


def _with_schemas(app: FastAPI, schemas: dict) -> None:
    """Add ``schemas`` (the request bodies' models) to the OpenAPI document's components."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            generate().setdefault("components", {}).setdefault("schemas", {}).update(schemas)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None, engine: Engine | None = None, run_loop: bool = True) -> FastAPI:
    """The app; ``engine`` and ``run_loop=False`` let tests drive evaluations themselves."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Loading reads the rules files and SQLite: off the event loop, like every later read.
        app.state.engine = engine or await asyncio.to_thread(build_engine, settings)
        if run_loop:
            app.state.engine.loop_task = asyncio.create_task(app.state.engine.run())
        yield
        if app.state.engine.loop_task is not None:
            app.state.engine.loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await app.state.engine.loop_task
        await app.state.engine.prometheus.close()
        await app.state.engine.alertmanager.close()
        app.state.engine.storage.close()

    app = api_app(title="mlotel alert-rule service", version="0.1.0", lifespan=lifespan,
                  description="Evaluates ML alert rules against Prometheus and delivers alerts to Alertmanager.")
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, paths={"/notifications": notifications.MAX_BODY_BYTES})
    for router in ROUTERS:
        app.include_router(router)
    _with_schemas(app, {**rules.SCHEMAS, **notifications.SCHEMAS})
    return app
