"""Both APIs' /docs and /redoc render with no internet: every script and stylesheet
they reference is served by the app itself, and the OpenAPI schema is unchanged."""

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from mlotel import TelemetryConfig
from mlotel_alerting.main import create_app as create_alerting
from mlotel_alerting.settings import Settings as AlertingSettings
from mlotel_model_server.main import create_app as create_ml_api
from mlotel_service_kit.api_docs import ASSETS_URL

CONTENT_TYPES = {"script": ("text/javascript", "application/javascript"), "stylesheet": ("text/css",)}


class Assets(HTMLParser):
    """(kind, url) of each external script and stylesheet a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.found.append(("script", attrs["src"]))
        elif tag == "link" and attrs.get("rel") == "stylesheet":
            self.found.append(("stylesheet", attrs["href"]))


def assets(html: str) -> list[tuple[str, str]]:
    parser = Assets()
    parser.feed(html)
    return parser.found


# No lifespan (no `with`): the pages and the schema need neither models nor an engine.
@pytest.fixture(params=["ml_api", "alerting"])
def client(request, tmp_path):
    if request.param == "ml_api":
        return TestClient(create_ml_api(instrument=False))
    return TestClient(create_alerting(AlertingSettings(db_path=tmp_path / "alerting.sqlite3"), run_loop=False))


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_reference_no_external_host(client, page):
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert not re.search(r"https?://", response.text), "a page that loads from another host needs the internet"


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_every_script_and_stylesheet_is_served_by_the_app(client, page):
    found = assets(client.get(page).text)
    assert {kind for kind, _ in found} >= ({"script", "stylesheet"} if page == "/docs" else {"script"})
    for kind, url in found:
        assert url.startswith(ASSETS_URL + "/"), url
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"].startswith(CONTENT_TYPES[kind]), url


def test_openapi_schema_still_lists_the_routes(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/health" in paths
    assert not any(path.startswith("/docs") for path in paths)


def test_asset_requests_are_not_traced_by_default():
    assert TelemetryConfig.from_env({}).is_excluded(f"{ASSETS_URL}/swagger-ui-bundle.js")
