"""Schema fuzzing of the ML API with schemathesis: every check, a fixed seed, a few hundred
examples per operation, against the app in process. Whatever the OpenAPI document allows or
forbids, the API answers as documented: no 5xx, no undocumented status, body or header."""

import schemathesis
from hypothesis import HealthCheck, settings

from mlotel_model_server.main import create_app

app = create_app(instrument=False)
CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {
        "seed": 16,
        "generation": {"max-examples": 300, "deterministic": True},
        "checks": {
            # Valid JSON for the schema can still name no served model (404), send rows of a
            # length the model does not take (422) or too many of them (413): the schema cannot
            # say, per model, how many features a row has.
            "positive_data_acceptance": {"expected-statuses": ["2xx", "404", "413", "422"]},
        },
    }
)
schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)


@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_the_api_answers_as_its_openapi_document_says(case):
    case.call_and_validate()
