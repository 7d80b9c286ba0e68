"""Attribute values are bounded by default, on the fast path and on the SDK's, and the standard variables win."""

import pytest

from mlotel import request_path
from mlotel.config import ATTRIBUTE_VALUE_LENGTH, ConfigError, TelemetryConfig

LONG_PATH = "/" + "a" * 40_000


def test_default_and_standard_variables():
    default = TelemetryConfig.from_env({})
    assert (default.attribute_value_length, default.span_attribute_value_length) == (ATTRIBUTE_VALUE_LENGTH, ATTRIBUTE_VALUE_LENGTH)
    general = TelemetryConfig.from_env({"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "100"})
    assert (general.attribute_value_length, general.span_attribute_value_length) == (100, 100)
    # The span-specific limit wins for span attributes, as the SDK reads it; events keep the general one.
    both = TelemetryConfig.from_env({"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "100", "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT": "50"})
    assert (both.attribute_value_length, both.span_attribute_value_length) == (100, 50)
    assert TelemetryConfig.from_env({"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "100"}, span_attribute_value_length=7).span_attribute_value_length == 7


@pytest.mark.parametrize(
    ("name", "value"),
    [("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "-1"), ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "lots"), ("MLOTEL_SPAN_EXPORT_MAX_BYTES", "0")],
)
def test_bad_values_name_their_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        TelemetryConfig.from_env({name: value})


@pytest.mark.parametrize("fastpath", ["true", "false"])
def test_a_long_url_path_is_truncated_on_the_span(make_harness, fastpath, monkeypatch):
    monkeypatch.delenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", raising=False)
    monkeypatch.delenv("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", raising=False)
    harness = make_harness(MLOTEL_FASTPATH=fastpath)
    assert harness.client.get(LONG_PATH).status_code == 404
    (span,) = harness.captured.spans()
    assert span.attributes["url.path"] == LONG_PATH[:ATTRIBUTE_VALUE_LENGTH]


@pytest.mark.parametrize("fastpath", ["true", "false"])
def test_the_span_limit_and_the_general_limit_apply_where_the_sdk_says(make_harness, fastpath):
    harness = make_harness(
        MLOTEL_FASTPATH=fastpath, OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT="300", OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT="100"
    )
    assert harness.client.get(LONG_PATH, params={"q": "b" * 1000}).status_code == 404
    (request,) = harness.captured.spans()
    assert request.attributes["url.path"] == LONG_PATH[:100]
    assert len(request.attributes["url.query"]) == 100
    # Events take the general limit: an exception's message and stack trace, say.
    span = request_path.get_tracer("test", harness.config).start_span("work")
    span.record_exception(ValueError("x" * 1000))
    span.end()
    (event,) = harness.captured.spans("work")[0].events
    assert len(event.attributes["exception.message"]) == 300
