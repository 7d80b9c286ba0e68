"""Request and response bodies of the ML API.

The request is validated in work proportional to the body, never to its errors:
lists stop at their first bad element (``fail_fast``) and unknown fields are
counted once, where pydantic would build an error per element or per field.
Its fixed limits are part of the schema, so the OpenAPI document states them
(docs/reliability.md lists every limit).
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict

from mlotel.prediction_ids import MAX_ID_LENGTH

MAX_MODEL_NAME_LENGTH = 64
MAX_LABEL_LENGTH = 256
# Far inside float32 (3.4e38), which the forest casts to, with room for a model's own
# scaling (the iris pipeline divides by standard deviations under 1).
MAX_FEATURE_MAGNITUDE = 1e30

# Strict: "1.5" or true is not a number; allow_inf_nan=False: NaN and Infinity,
# which Python's JSON parser accepts, are refused.
Feature = Annotated[
    float, Strict(), Field(allow_inf_nan=False, ge=-MAX_FEATURE_MAGNITUDE, le=MAX_FEATURE_MAGNITUDE)
]


class PredictRequest(BaseModel):
    # Extra fields are kept, not refused, so that a thousand of them make one error (see the route).
    model_config = ConfigDict(extra="allow", protected_namespaces=(), json_schema_extra={"additionalProperties": False})

    model: str | None = Field(
        None, max_length=MAX_MODEL_NAME_LENGTH, description="model name; the default model when left out"
    )
    instances: list[Annotated[list[Feature], Field(fail_fast=True)]] = Field(
        min_length=1, fail_fast=True, description="rows of feature values"
    )


class PredictionOut(BaseModel):
    label: str
    confidence: float
    prediction_id: str | None = Field(
        description="send it back to POST /feedback with the actual label; null when telemetry is off"
    )


class FeedbackItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prediction_id: str = Field(max_length=MAX_ID_LENGTH, description="as /predict gave it")
    label: str = Field(max_length=MAX_LABEL_LENGTH, description="the actual label, one of the model's classes")


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feedback: list[FeedbackItem] = Field(min_length=1, description="actual outcomes; scored all or none")


class FeedbackResponse(BaseModel):
    scored: int = Field(description="outcomes scored now")
    duplicates: int = Field(description="outcomes for predictions this replica had scored already: counted once")


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
