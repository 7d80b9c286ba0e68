"""ML API settings, from the environment (``ML_API_*``, plus ``HOST``/``PORT``)."""

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from mlotel_contract import API_JOB


def _default_model_dir() -> Path:
    return Path.home() / ".cache" / "mlotel" / "models"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ML_API_", protected_namespaces=())

    host: str = Field("127.0.0.1", validation_alias=AliasChoices("ML_API_HOST", "HOST"))
    port: int = Field(8000, validation_alias=AliasChoices("ML_API_PORT", "PORT"))
    workers: int = Field(1, ge=1, description="uvicorn worker processes")
    service_name: str = API_JOB
    model_dir: Path = Field(default_factory=_default_model_dir, description="where trained models are cached")
    default_model: str = "iris"
    max_batch_size: int = Field(1024, ge=1, description="most instances in one request")
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="largest request body accepted")
    feedback_token: SecretStr | None = Field(
        None, description="bearer token POST /feedback requires; unset: anyone holding a prediction id may send its outcome"
    )

