"""Instrumentors of other people's libraries and servers, each found by ``opentelemetry-instrument``
through its ``opentelemetry_instrumentor`` entry point (instrumentation/pyproject.toml)."""
