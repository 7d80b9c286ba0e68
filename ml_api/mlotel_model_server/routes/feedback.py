"""``POST /feedback``: actual outcomes for earlier predictions, scored by :mod:`mlotel.feedback`.

The body is ``{"feedback": [{"prediction_id": ..., "label": ...}, ...]}``, ids
as ``/predict`` gave them. Any worker or replica that shares
``MLOTEL_FEEDBACK_KEY`` scores them. A batch is scored whole or refused whole
with a JSON 4xx naming the first problem and its position, never the input.
With ``ML_API_FEEDBACK_TOKEN`` set, the call needs ``Authorization: Bearer
<token>``, so that whoever can reach the port cannot poison accuracy.
"""

import hmac

from fastapi import APIRouter, Depends
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError

from mlotel import FeedbackRefused
from mlotel_model_server.dependencies import BodyDep, FeedbackDep, SettingsDep
from mlotel_model_server.schemas import FeedbackRequest, FeedbackResponse
from mlotel_service_kit.api_errors import ClientError, error_responses

router = APIRouter(prefix="/feedback", tags=["feedback"])

_bearer = HTTPBearer(auto_error=False, description="ML_API_FEEDBACK_TOKEN, when set")
_BODY = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": FeedbackRequest.model_json_schema()}}}
}


def _check_token(settings: SettingsDep, scorer: FeedbackDep, credentials: HTTPAuthorizationCredentials | None) -> None:
    expected = settings.feedback_token
    if expected is None or not expected.get_secret_value():
        return
    if credentials is None:
        scorer.count_refused("unauthorized")
        raise ClientError(401, "unauthorized", "send 'Authorization: Bearer <ML_API_FEEDBACK_TOKEN>'",
                          headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(credentials.credentials.encode(), expected.get_secret_value().encode()):
        scorer.count_refused("forbidden")
        raise ClientError(403, "forbidden", "wrong token")


def _parse(raw: bytes, scorer: FeedbackDep, max_batch: int) -> FeedbackRequest:
    # One object per outcome: a body with far more is refused before pydantic builds them all.
    if raw.count(b"{") > max_batch + 1:
        scorer.count_refused("batch_too_large")
        raise ClientError(413, "batch_too_large", f"over {max_batch} outcomes in one call")
    if not raw.strip():
        scorer.count_refused("invalid_body")
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required"}])
    try:
        return FeedbackRequest.model_validate_json(raw)
    except ValidationError as exc:
        scorer.count_refused("invalid_body")
        raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from None


@router.post("", response_model=FeedbackResponse, responses=error_responses(400, 401, 403, 413, 422), openapi_extra=_BODY)
def feedback(
    raw: BodyDep,
    scorer: FeedbackDep,
    settings: SettingsDep,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> dict:
    """Score actual labels against the predictions whose ids they carry: all of them, or none and a 4xx."""
    _check_token(settings, scorer, credentials)
    body = _parse(raw, scorer, scorer.config.feedback_max_batch)
    try:
        result = scorer.score([(item.prediction_id, item.label) for item in body.feedback])
    except FeedbackRefused as refused:
        raise ClientError(refused.status, refused.reason, refused.message) from None
    return {"scored": result.scored, "duplicates": result.duplicates}
