from fastapi import APIRouter

from mlotel_model_server.dependencies import ModelsDep
from mlotel_model_server.schemas import ModelOut

router = APIRouter(prefix="/models", tags=["models"])


@router.get("", response_model=list[ModelOut])
def list_models(models: ModelsDep) -> list[dict]:
    """The served models: name, version, number of features, classes."""
    return [model.describe() for model in models.values()]
