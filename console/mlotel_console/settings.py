"""Console settings, from the environment (the same variable names the rest of the stack uses)."""

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from mlotel_contract import API_JOB


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONSOLE_", populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = 8501
    prometheus_url: str = Field("http://127.0.0.1:9090", validation_alias=AliasChoices("PROMETHEUS_URL", "CONSOLE_PROMETHEUS_URL"))
    jaeger_url: str = Field("http://127.0.0.1:16686", validation_alias=AliasChoices("JAEGER_URL", "CONSOLE_JAEGER_URL"),
                            description="Jaeger's query service: its HTTP API (/api/traces, /api/services)")
    alerting_url: str = Field("http://127.0.0.1:8080", validation_alias=AliasChoices("ALERTING_URL", "CONSOLE_ALERTING_URL"))
    alertmanager_url: str = Field("http://127.0.0.1:9093",
                                  validation_alias=AliasChoices("ALERTMANAGER_URL", "CONSOLE_ALERTMANAGER_URL"))
    alerting_api_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("ALERTING_API_TOKEN", "CONSOLE_ALERTING_API_TOKEN"),
        description="resolving an alert from the console needs it; unset: the console asks for it")
    trace_ui_url: str = Field("", validation_alias=AliasChoices("TRACE_UI_URL", "CONSOLE_TRACE_UI_URL"),
                              description="where trace links open: empty for the console's own pages, "
                                          "or a Jaeger UI (e.g. http://localhost:16686) where one exists")
    service_name: str = Field(API_JOB, description="the traced service whose predictions the console searches")
    timeout: float = Field(5.0, gt=0, description="seconds per backend request")
    # The collector's tail sampler (otel-collector/gateway.yaml, same variables): the trace page
    # says why a trace is missing from Jaeger.
    slow_prediction_ms: float = Field(100, validation_alias=AliasChoices("SLOW_PREDICTION_MS", "CONSOLE_SLOW_PREDICTION_MS"),
                                      description="traces at least this long are always kept")
    trace_sampling_percent: float = Field(10, validation_alias=AliasChoices("TRACE_SAMPLING_PERCENT",
                                                                            "CONSOLE_TRACE_SAMPLING_PERCENT"),
                                          description="share of the other (fast, successful) traces kept")


settings = Settings()
