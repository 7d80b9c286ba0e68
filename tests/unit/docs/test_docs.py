"""docs/configuration.md documents every variable the code reads: the instrumentation's
(environment_variables.py, exactly), the API's and alert-rule service's settings, and every
${env:...} of the collector and Jaeger configs."""

import re

from harness.processes import ROOT
from mlotel import environment_variables

CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()


def section(title: str) -> str:
    return CONFIGURATION.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def table_names(text: str) -> set[str]:
    return set(re.findall(r"^\| `([A-Z0-9_]+)` \|", text, re.M))


def settings_names(settings_class, prefix: str) -> set[str]:
    names = set()
    for name, field in settings_class.model_fields.items():
        alias = field.validation_alias
        names.add(alias.choices[0] if alias is not None else f"{prefix}{name.upper()}")
    return names


def test_instrumentation_table_lists_exactly_the_declared_variables():
    declared = {name for name in vars(environment_variables) if name.isupper()}
    assert table_names(section("Instrumentation")) == declared


def test_api_and_alerting_tables_list_exactly_their_settings():
    from mlotel_alerting.settings import Settings as AlertingSettings
    from mlotel_model_server.settings import Settings as ApiSettings

    assert table_names(section("The ML API")) == settings_names(ApiSettings, "ML_API_")
    assert table_names(section("The alert-rule service")) == settings_names(AlertingSettings, "ALERTING_")


def test_console_table_lists_exactly_its_settings():
    from mlotel_console.settings import Settings as ConsoleSettings

    assert table_names(section("The console")) == settings_names(ConsoleSettings, "CONSOLE_")


def test_every_collector_and_jaeger_variable_is_documented():
    configs = [*(ROOT / "otel-collector").glob("*.yaml"), ROOT / "jaeger" / "config.yaml"]
    lines = [line for path in configs for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    used = {name for line in lines for name in re.findall(r"\$\{env:([A-Z0-9_]+)", line)}
    assert used == table_names(section("Collector and Jaeger"))


def test_each_declared_variable_is_named_after_itself_and_documented():
    source = (ROOT / "instrumentation" / "mlotel" / "environment_variables.py").read_text()
    for name in (n for n in vars(environment_variables) if n.isupper()):
        assert getattr(environment_variables, name) == name
        if re.search(rf"^from opentelemetry[\w.]* import .*\b{name}\b", source, re.M):
            continue  # a standard name, taken from the package that declares it
        assert re.search(rf'^{name} = "{name}"\n"""', source, re.M), f"{name} has no docstring"
