import pytest

from mlotel.config import ConfigError, TelemetryConfig


def test_defaults():
    config = TelemetryConfig.from_env({})
    assert (config.traces_on, config.metrics_on, config.logs_on) == (True, True, False)
    assert config.low_confidence_threshold == 0.5
    assert config.capture_request_content is False
    assert config.is_excluded("/health") and config.is_excluded("/docs/oauth2-redirect")
    assert not config.is_excluded("/predict")


def test_explicit_argument_wins_over_environment():
    config = TelemetryConfig.from_env({"MLOTEL_LOW_CONFIDENCE_THRESHOLD": "0.3"}, low_confidence_threshold=0.7)
    assert config.low_confidence_threshold == 0.7


def test_excluded_urls_are_anchored():
    config = TelemetryConfig.from_env({"OTEL_PYTHON_FASTAPI_EXCLUDED_URLS": "/health, /internal/.*"})
    assert config.is_excluded("/health") and config.is_excluded("/internal/x")
    assert not config.is_excluded("/healthz") and not config.is_excluded("/api/health")


def test_generic_excluded_urls_variable_is_the_fallback():
    config = TelemetryConfig.from_env({"OTEL_PYTHON_EXCLUDED_URLS": "/models"})
    assert config.is_excluded("/models") and not config.is_excluded("/health")


def test_empty_excluded_urls_excludes_nothing():
    assert not TelemetryConfig.from_env({"OTEL_PYTHON_FASTAPI_EXCLUDED_URLS": ""}).is_excluded("/health")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OTEL_SDK_DISABLED", "maybe"),
        ("OTEL_TRACES_EXPORTER", "zipkin"),
        ("MLOTEL_LOW_CONFIDENCE_THRESHOLD", "1.5"),
        ("MLOTEL_LOW_CONFIDENCE_THRESHOLD", "high"),
        ("OTEL_PYTHON_FASTAPI_EXCLUDED_URLS", "(unclosed"),
    ],
)
def test_bad_values_name_their_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        TelemetryConfig.from_env({name: value})


def test_disabled_instrumentations_are_parsed_and_unknown_ones_kept_for_a_warning():
    config = TelemetryConfig.from_env({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "FastAPI, system_metrics,redis"})
    assert not config.enabled("fastapi") and not config.enabled("system_metrics")
    assert config.enabled("logging") and config.enabled("mlotel")
    assert config.unknown_instrumentations == ("redis",)


def test_sdk_disabled_turns_every_part_off():
    config = TelemetryConfig.from_env({"OTEL_SDK_DISABLED": "true"})
    assert not any((config.traces_on, config.metrics_on, config.logs_on, config.enabled("mlotel")))


@pytest.mark.fastpath
def test_the_fast_path_is_on_unless_switched_off():
    assert TelemetryConfig.from_env({}).fastpath is True
    assert TelemetryConfig.from_env({"MLOTEL_FASTPATH": "false"}).fastpath is False
    assert TelemetryConfig.from_env({"MLOTEL_FASTPATH": "false"}, fastpath=True).fastpath is True
