"""Schema fuzzing of the alert-rule service with schemathesis: every check, a fixed seed, a few
hundred examples per operation, against the app in process over fake Prometheus and Alertmanager.
Whatever the OpenAPI document allows or forbids, the service answers as documented: no 5xx, no
undocumented status, body or header."""

import asyncio
import tempfile
import time
from pathlib import Path

import httpx
import schemathesis
from hypothesis import HealthCheck, settings

from harness.alerting_fakes import RULES, TOKEN, FakeAlertmanager, FakePrometheus
from mlotel_alerting.main import build_engine, create_app
from mlotel_alerting.settings import Settings
from mlotel_backends.alertmanager import Alertmanager
from mlotel_backends.prometheus import Prometheus


class _Kept:
    """Schemathesis runs the app's lifespan around every call, whose end closes the engine's
    clients and storage; here they stay open for the next call."""

    async def close(self) -> None:
        pass


class _KeptPrometheus(_Kept, Prometheus):
    pass


class _KeptAlertmanager(_Kept, Alertmanager):
    pass


def _app(directory: Path):
    rules = directory / "rules"
    rules.mkdir()
    (rules / "ml.yml").write_text(RULES)
    config = Settings(rules_dir=rules, db_path=directory / "alerting.sqlite3", api_token=TOKEN, query_retries=0)
    engine = build_engine(config, _KeptPrometheus(config.prometheus_url, retries=0, transport=httpx.MockTransport(FakePrometheus())),
                          _KeptAlertmanager(config.alertmanager_url, transport=httpx.MockTransport(FakeAlertmanager())))
    engine.storage.close = lambda: None  # type: ignore[method-assign]
    asyncio.run(engine.evaluate(time.time()))  # ready, and the rules have a state to show
    return create_app(config, engine, run_loop=False)


CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {
        "seed": 16,
        "headers": {"Authorization": f"Bearer {TOKEN}"},
        "generation": {"max-examples": 300, "deterministic": True},
        "checks": {
            # A rule valid for the schema can still fail to parse as PromQL or as a template (400),
            # name no rule held (404), or be one too many (409): no JSON schema says what PromQL is.
            "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "404", "409"]},
            # Negative data can also be too big to read at all (a webhook with over 1,000 alerts
            # passes its 1 MiB limit): refused before validation, with 413.
            "negative_data_rejection": {"expected-statuses": ["400", "401", "403", "404", "405", "406", "409",
                                                              "413", "415", "422", "428", "429"]},
        },
    }
)


app = _app(Path(tempfile.mkdtemp(prefix="alerting-schema-")))
schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)


@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_the_service_answers_as_its_openapi_document_says(case):
    case.call_and_validate()
