"""The one body limiter: a JSON 413 over the limit, declared or chunked, and a path's own limit."""

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from mlotel_service_kit.api_errors import install_error_handlers
from mlotel_service_kit.body_limit import BodySizeLimit


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=10, paths={"/big": 100})

    @app.post("/{path:path}")
    async def echo(request: Request) -> dict:
        return {"read": len(await request.body())}

    return TestClient(app)


@pytest.mark.parametrize(("path", "size", "status"), [
    ("/small", 10, 200), ("/small", 11, 413), ("/big", 100, 200), ("/big/under", 100, 200),
    ("/big", 101, 413), ("/bigger", 50, 413),  # a prefix is a path segment, not any string
])
def test_each_path_is_held_to_its_limit(client, path, size, status):
    response = client.post(path, content=b"x" * size)
    assert response.status_code == status
    if status == 413:
        limit = 100 if path.startswith("/big/") or path == "/big" else 10
        assert response.json() == {"error": "body_too_large", "message": f"request body is over the limit of {limit} bytes",
                                   "details": []}


def test_a_chunked_body_is_counted_as_it_arrives(client):
    response = client.post("/small", content=(b"x" * 4 for _ in range(5)))
    assert response.status_code == 413 and response.json()["error"] == "body_too_large"
