"""Typed dependencies that routes declare: the served models, the recorder, the feedback scorer, the raw body.

``async`` although they do not await: FastAPI runs a plain ``def`` dependency in
its thread pool, one thread hop per dependency per request, for what is a read
of ``app.state``.
"""

from typing import Annotated

from fastapi import Depends, Request

from mlotel import FeedbackScorer, PredictionRecorder
from mlotel_model_server.models import ServedModel
from mlotel_model_server.settings import Settings


async def get_models(request: Request) -> dict[str, ServedModel]:
    return request.app.state.models


async def get_recorder(request: Request) -> PredictionRecorder:
    return request.app.state.recorder


async def get_feedback(request: Request) -> FeedbackScorer:
    return request.app.state.feedback


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_body(request: Request) -> bytes:
    """The request body as bytes: a route that parses it itself does so off the event loop."""
    return await request.body()


ModelsDep = Annotated[dict[str, ServedModel], Depends(get_models)]
RecorderDep = Annotated[PredictionRecorder, Depends(get_recorder)]
FeedbackDep = Annotated[FeedbackScorer, Depends(get_feedback)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
BodyDep = Annotated[bytes, Depends(get_body)]
