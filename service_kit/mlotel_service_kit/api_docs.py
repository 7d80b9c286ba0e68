"""The FastAPI app both APIs are built on: ``/docs`` (Swagger UI) and ``/redoc`` with their
scripts and styles served by the app itself, so they render with no internet.

FastAPI's own pages load them from a CDN; fastapi-offline ships the same assets in its
package and mounts them. ReDoc's bundle still asks cdn.redoc.ly for its footer logo;
offline that one image is left out and the page is otherwise whole.
"""

from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

# Under /docs, so that the default OTEL_PYTHON_FASTAPI_EXCLUDED_URLS (/docs.*) leaves
# the asset requests out of traces and metrics, as it does the pages.
ASSETS_URL = "/docs/static"


def api_app(**kwargs: Any) -> FastAPI:
    """A ``FastAPI(**kwargs)`` whose docs pages work offline."""
    return FastAPIOffline(static_url=ASSETS_URL, **kwargs)
