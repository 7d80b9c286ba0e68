"""What mlotel's telemetry takes from the OpenTelemetry semantic conventions.

The attribute names themselves come from ``opentelemetry-semantic-conventions``
(``opentelemetry.semconv.attributes.*``); here is what the conventions ask
of their values, and the version of them that mlotel's scopes follow.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from opentelemetry.semconv.attributes.http_attributes import HttpRequestMethodValues

# The version of the conventions mlotel's attributes are tested against (tests/unit/instrumentation/test_semconv.py).
# Spelled out rather than taken from ``Schemas``: semantic-conventions releases before
# 0.66b0, which mlotel allows (instrumentation/pyproject.toml), do not declare it yet.
SCHEMA_URL = "https://opentelemetry.io/schemas/1.44.0"
OTHER_METHOD = HttpRequestMethodValues.OTHER.value

try:
    __version__ = version("mlotel")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.0.0"


def error_type(exc: BaseException) -> str:
    """``error.type`` of an exception: its fully qualified class name (builtins without their module)."""
    kind = type(exc)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
