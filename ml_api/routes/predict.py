import numpy as np
from fastapi import APIRouter
from opentelemetry import trace

from ml_api.dependencies import ModelsDep, RecorderDep, SettingsDep
from ml_api.errors import ClientError
from ml_api.schemas import ErrorBody, PredictRequest, PredictResponse

router = APIRouter(prefix="/predict", tags=["predict"])

_ERRORS = {status: {"model": ErrorBody} for status in (400, 404, 413, 422)}


def _trace_id() -> str | None:
    span_context = trace.get_current_span().get_span_context()
    return f"{span_context.trace_id:032x}" if span_context.is_valid else None


@router.post("", response_model=PredictResponse, responses=_ERRORS)
def predict(body: PredictRequest, models: ModelsDep, recorder: RecorderDep, settings: SettingsDep) -> dict:
    """Labels and confidences for each instance, with the request's trace id."""
    name = body.model or settings.default_model
    model = models.get(name)
    if model is None:
        # The client's string never becomes a metric attribute: it is unbounded.
        recorder.record_rejected("unknown", "unknown", "unknown_model")
        raise ClientError(404, "unknown_model", f"unknown model {name!r}; served: {', '.join(models)}")
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

    with recorder.predict(model.name, model.version, batch_size=len(body.instances)) as prediction:
        prediction.capture_features(body.instances[0])
        with prediction.stage("preprocess"):
            features = np.asarray(body.instances, dtype=np.float64)
        with prediction.stage("inference"):
            labels, confidences = model.predict(features)
        with prediction.stage("postprocess"):
            predictions = [{"label": label, "confidence": conf} for label, conf in zip(labels, confidences)]
        prediction.set_results(labels, confidences)
    return {"model": model.name, "version": model.version, "predictions": predictions, "trace_id": _trace_id()}
