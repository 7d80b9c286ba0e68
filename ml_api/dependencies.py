"""Typed dependencies that routes declare: the served models and the recorder."""

from typing import Annotated

from fastapi import Depends, Request

from instrumentation import PredictionRecorder
from ml_api.models import ServedModel
from ml_api.settings import Settings


def get_models(request: Request) -> dict[str, ServedModel]:
    return request.app.state.models


def get_recorder(request: Request) -> PredictionRecorder:
    return request.app.state.recorder


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


ModelsDep = Annotated[dict[str, ServedModel], Depends(get_models)]
RecorderDep = Annotated[PredictionRecorder, Depends(get_recorder)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
