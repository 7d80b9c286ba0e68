from typing import Any

import numpy as np
from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from opentelemetry import trace
from pydantic import ValidationError

from mlotel_model_server.dependencies import BodyDep, ModelsDep, RecorderDep, SettingsDep
from mlotel_model_server.schemas import ErrorBody, PredictRequest, PredictResponse
from mlotel_service_kit.api_errors import ClientError

router = APIRouter(prefix="/predict", tags=["predict"])

_ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": ErrorBody} for status in (400, 404, 413, 422, 500)}
# The body is parsed by the endpoint, in its worker thread, rather than by FastAPI on the
# event loop; the OpenAPI document still describes it.
_BODY = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": PredictRequest.model_json_schema()}}}
}


def _trace_id() -> str | None:
    span_context = trace.get_current_span().get_span_context()
    return f"{span_context.trace_id:032x}" if span_context.is_valid else None


def _shape_problem(raw: bytes, max_rows: int, max_features: int) -> str | None:
    """Why a body cannot be a request within the limits, found before anything is parsed.

    A request holds one array per instance plus one around them, and one comma between
    any two values. Counting both runs at C speed; it keeps pydantic from building a Python
    object per value of a 4 MB body in one call that holds the GIL, and so the event loop,
    for over a second.
    """
    if raw.count(b"[") > max_rows + 1:
        return f"request body has over {max_rows + 1} arrays: more than the limit of {max_rows} instances"
    max_values = max_rows * max_features
    if raw.count(b",") > max_values:
        return f"request body has over {max_values} values: more than the limit of {max_rows} instances of {max_features} features"
    return None


def _parse(raw: bytes) -> PredictRequest:
    if not raw.strip():
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required"}])
    try:
        body = PredictRequest.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from None
    if body.model_extra:
        count = len(body.model_extra)
        message = f"{count} extra field(s); a request has only 'model' and 'instances'"
        raise RequestValidationError([{"type": "extra_forbidden", "loc": (), "msg": message}])
    return body


@router.post("", response_model=PredictResponse, responses=_ERRORS, openapi_extra=_BODY)
def predict(raw: BodyDep, models: ModelsDep, recorder: RecorderDep, settings: SettingsDep) -> dict:
    """Labels and confidences for each instance, with the request's trace id."""
    problem = _shape_problem(raw, settings.max_batch_size, max(model.n_features for model in models.values()))
    if problem:
        recorder.record_rejected("unknown", "unknown", "batch_too_large")
        raise ClientError(413, "batch_too_large", problem)
    body = _parse(raw)
    name = body.model or settings.default_model
    model = models.get(name)
    if model is None:
        # The client's string never becomes a metric attribute (unbounded) nor part of the answer.
        recorder.record_rejected("unknown", "unknown", "unknown_model")
        raise ClientError(404, "unknown_model", f"unknown model; served: {', '.join(models)}")
    if len(body.instances) > settings.max_batch_size:
        recorder.record_rejected(model.name, model.version, "batch_too_large")
        raise ClientError(
            413, "batch_too_large", f"{len(body.instances)} instances is over the limit of {settings.max_batch_size}"
        )
    for index, instance in enumerate(body.instances):
        if len(instance) != model.n_features:
            recorder.record_rejected(model.name, model.version, "wrong_feature_count")
            raise ClientError(
                422,
                "wrong_feature_count",
                f"model {model.name!r} takes {model.n_features} features per instance; instance {index} has {len(instance)}",
            )

    try:
        with recorder.predict(model.name, model.version, batch_size=len(body.instances)) as prediction:
            prediction.capture_features(body.instances[0])
            with prediction.stage("preprocess"):
                features = np.asarray(body.instances, dtype=np.float64)
            with prediction.stage("inference"):
                labels, confidences = model.predict(features)
            prediction.set_results(labels, confidences)
            with prediction.stage("postprocess"):
                ids: list[str | None] = [*prediction.prediction_ids()] or [None] * len(labels)
                predictions = [
                    {"label": label, "confidence": conf, "prediction_id": id_}
                    for label, conf, id_ in zip(labels, confidences, ids)
                ]
    except (ValueError, ArithmeticError) as exc:
        # Inside the schema's bounds this is the server's fault; the recorder has counted it by type.
        raise ClientError(500, "prediction_failed", f"model {model.name!r} could not score these instances") from exc
    return {"model": model.name, "version": model.version, "predictions": predictions, "trace_id": _trace_id()}
