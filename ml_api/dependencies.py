"""Typed dependencies that routes declare: the served models and the recorder.

``async`` although they do not await: FastAPI runs a plain ``def`` dependency in
its thread pool, one thread hop per dependency per request, for what is a read
of ``app.state``.
"""

from typing import Annotated

from fastapi import Depends, Request

from instrumentation import PredictionRecorder
from ml_api.models import ServedModel
from ml_api.settings import Settings


async def get_models(request: Request) -> dict[str, ServedModel]:
    return request.app.state.models


async def get_recorder(request: Request) -> PredictionRecorder:
    return request.app.state.recorder


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


ModelsDep = Annotated[dict[str, ServedModel], Depends(get_models)]
RecorderDep = Annotated[PredictionRecorder, Depends(get_recorder)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
