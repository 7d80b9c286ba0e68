"""Alert-rule service settings, from the environment."""

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from mlotel_alerting.durations import Duration

DEFAULT_RULES = Path(__file__).resolve().parent / "default_rules"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALERTING_", populate_by_name=True)

    host: str = Field("127.0.0.1", validation_alias=AliasChoices("ALERTING_HOST", "HOST"))
    port: int = Field(8080, validation_alias=AliasChoices("ALERTING_PORT", "PORT"))
    prometheus_url: str = Field("http://127.0.0.1:9090", validation_alias=AliasChoices("PROMETHEUS_URL", "ALERTING_PROMETHEUS_URL"))
    alertmanager_url: str = Field(
        "http://127.0.0.1:9093", validation_alias=AliasChoices("ALERTMANAGER_URL", "ALERTING_ALERTMANAGER_URL"))
    console_url: str = Field("http://127.0.0.1:8501", validation_alias=AliasChoices("CONSOLE_URL", "ALERTING_CONSOLE_URL"),
                             description="the console as users reach it: alerts' trace_url opens its slow predictions")
    trace_ui_url: str = Field("", validation_alias=AliasChoices("TRACE_UI_URL", "ALERTING_TRACE_UI_URL"),
                              description="a Jaeger UI for alerts' trace_url instead of the console (empty: the console)")
    external_url: str = Field("http://127.0.0.1:8080", description="this service as users reach it (generator links)")
    rules_dir: Path = Field(DEFAULT_RULES, description="YAML rule files; rules added over the API live in the database")
    db_path: Path = Field(Path("alerting.sqlite3"), description="SQLite file: runtime rules, alert state, history")
    api_token: SecretStr | None = Field(None, description="bearer token for mutating calls; unset: mutations refused")
    evaluation_interval: Duration = Field(15.0, gt=0, description="between evaluations (seconds, or a duration like 30s)")
    resend_interval: Duration = Field(60.0, gt=0, description="firing alerts are re-posted this often")
    resolved_retention: Duration = Field(900.0, description="how long a delivered resolution is kept")
    query_timeout: float = Field(10.0, gt=0)
    query_retries: int = Field(2, ge=0)
    # Limits on what clients can make the service do (docs/reliability.md).
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="a rule (PUT /rules/{name}) over this is refused (413)")
    max_rules: int = Field(1000, ge=1, description="rules from files and the API together; PUT of one more is refused (409)")
    max_concurrent_queries: int = Field(8, ge=1, description="Prometheus queries an evaluation runs at once")
    allowed_origins: list[str] = Field(
        [], description="browser origins (scheme://host:port) that may open /ws/alerts besides this service's and the console's")
