"""Request and response bodies of the ML API."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

# Strict: "1.5" or true is not a number; allow_inf_nan=False: NaN and Infinity,
# which Python's JSON parser accepts, are refused.
Feature = Annotated[StrictFloat | StrictInt, Field(allow_inf_nan=False)]


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str | None = Field(None, description="model name; the default model when left out")
    instances: list[list[Feature]] = Field(min_length=1, description="rows of feature values")


class PredictionOut(BaseModel):
    label: str
    confidence: float


class PredictResponse(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    model: str
    version: str
    predictions: list[PredictionOut]
    trace_id: str | None = Field(description="32 hex digits of the request's trace, null when not traced")


class ModelOut(BaseModel):
    name: str
    version: str
    n_features: int
    classes: list[str]


class ErrorBody(BaseModel):
    error: str = Field(description="what kind of problem")
    message: str = Field(description="what is wrong, in words")
    details: list[dict] = Field(default_factory=list, description="where, for validation errors")
