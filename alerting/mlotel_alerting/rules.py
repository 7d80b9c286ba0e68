"""Alert rules: their schema, and loading them from a directory of YAML files.

A rules file holds a list under ``rules:``; each rule is either a PromQL rule
(``expr``: every series it returns is an alert instance, the comparison lives
in the expression, as in Prometheus) or a confidence-drift rule (``drift``,
see ``mlotel_alerting.drift``)::

    rules:
      - name: PredictionLatencyHigh
        expr: histogram_quantile(0.95, sum by (le, ml_model_name) (rate(ml_prediction_duration_seconds_bucket[5m]))) > 0.5
        for: 2m
        keep_firing_for: 1m
        no_data: keep          # alert | keep | ok
        on_error: keep         # alert | keep | ok
        labels: {severity: warning}
        annotations:
          summary: "p95 latency of {{ labels.ml_model_name }} is {{ value | milliseconds }}"
        trace_search: {operation: "predict {{ labels.ml_model_name }}", min_duration: "{{ value | bucket_floor | milliseconds }}"}

Errors name the file, the rule and the field. Names are unique across files.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from mlotel_alerting.durations import Duration
from mlotel_alerting.limits import (
    MAX_EXPR_LENGTH,
    MAX_NAME_LENGTH,
    MAX_SELECTOR_LENGTH,
    MAX_TEMPLATE_LENGTH,
    MAX_TEMPLATES,
    check_promql,
)
from mlotel_alerting.templating import check_template
from mlotel_contract import API_JOB, MODEL, PROM_CONFIDENCE

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # Prometheus label names; a rule name becomes one
LabelName = Annotated[str, StringConstraints(pattern=f"^{NAME.pattern}$", max_length=MAX_NAME_LENGTH)]
Template = Annotated[str, StringConstraints(max_length=MAX_TEMPLATE_LENGTH)]
Templates = Annotated[dict[LabelName, Template], Field(max_length=MAX_TEMPLATES)]


class Outcome(StrEnum):
    """What a rule does when its query has no data or fails."""

    ALERT = "alert"  # an alert instance of its own (label alert_reason) that goes pending, then firing
    KEEP = "keep"  # every instance keeps its state (firing ones stay firing and are re-sent)
    OK = "ok"  # as if the expression returned nothing: instances resolve


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class TraceSearch(_Strict):
    """The traces behind an alert, its ``trace_url`` annotation: the console's slow predictions
    of the alert's model, or (``TRACE_UI_URL`` set) a Jaeger search for ``operation`` of ``service``."""

    service: Template = API_JOB
    operation: Template = ""
    min_duration: Template = Field("", description="templated, e.g. '{{ value | bucket_floor | milliseconds }}'")
    lookback: str = Field("1h", max_length=32)

    @field_validator("service", "operation", "min_duration")
    @classmethod
    def _compiles(cls, text: str) -> str:
        check_template(text)
        return text


class Drift(_Strict):
    """Population stability index between a histogram's recent and baseline windows."""

    metric: str = Field(f"{PROM_CONFIDENCE}_bucket", max_length=MAX_NAME_LENGTH)
    selector: str = Field("", max_length=MAX_SELECTOR_LENGTH, description="label matchers, e.g. '{job=\"ml-api\"}'")
    by: tuple[LabelName, ...] = Field((MODEL,), max_length=MAX_TEMPLATES)
    window: Duration = 600.0
    baseline_window: Duration = 3600.0
    baseline_offset: Duration | None = Field(None, description="default: the window, so the baseline ends where it starts")
    threshold: float = Field(0.2, gt=0, allow_inf_nan=False)
    min_samples: int = Field(50, ge=1, le=10**12, description="fewer observations in either window: no data")

    @field_validator("metric")
    @classmethod
    def _bucket_metric(cls, metric: str) -> str:
        if not metric.endswith("_bucket") or not NAME.fullmatch(metric):
            raise ValueError("must be a histogram's bucket series, e.g. ml_prediction_confidence_bucket")
        return metric

    @field_validator("selector")
    @classmethod
    def _bounded_selector(cls, selector: str) -> str:
        check_promql(selector, MAX_SELECTOR_LENGTH)
        return selector

    @field_validator("window", "baseline_window")
    @classmethod
    def _positive(cls, seconds: float) -> float:
        if seconds <= 0:
            raise ValueError("must be longer than 0s")
        return seconds


class Rule(_Strict):
    name: str = Field(max_length=MAX_NAME_LENGTH)
    expr: str | None = Field(None, max_length=MAX_EXPR_LENGTH)
    drift: Drift | None = None
    for_: Duration = Field(0.0, alias="for")
    keep_firing_for: Duration = 0.0
    no_data: Outcome = Outcome.KEEP
    on_error: Outcome = Outcome.KEEP
    labels: Templates = {}
    annotations: Templates = {}
    trace_search: TraceSearch | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not NAME.fullmatch(name):
            raise ValueError("must match [A-Za-z_][A-Za-z0-9_]* (it becomes the alertname label)")
        return name

    @field_validator("labels", "annotations")
    @classmethod
    def _templates(cls, mapping: dict[str, str]) -> dict[str, str]:
        for text in mapping.values():
            check_template(text)
        return mapping

    @field_validator("expr")
    @classmethod
    def _expr(cls, expr: str | None) -> str | None:
        if expr is not None and not expr.strip():
            raise ValueError("must not be empty")
        if expr is not None:
            check_promql(expr)  # before any parser sees it
        return expr

    @model_validator(mode="after")
    def _one_kind(self) -> Rule:
        if (self.expr is None) == (self.drift is None):
            raise ValueError("a rule has exactly one of 'expr' (PromQL) and 'drift'")
        if "alertname" in self.labels:
            raise ValueError("labels: 'alertname' is the rule's name and cannot be set")
        return self

    def as_document(self) -> dict[str, Any]:
        """The rule as it would be written in a rules file."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class RuleError(ValueError):
    """A rule that cannot be loaded; the message names file, rule and field."""


# A location names only the schema's own fields: a dict key or an unknown field is the client's text.
_FIELDS = {key for model in (Rule, Drift, TraceSearch) for name, info in model.model_fields.items()
           for key in (name, info.alias) if key}


def _describe(error: ValidationError, quote_input: bool, limit: int = 5) -> str:
    """The first problems; without ``quote_input`` a location shows only the schema's own names."""
    problems = []
    for item in error.errors()[:limit]:
        parts = [str(part) if quote_input or isinstance(part, int) or part in _FIELDS else "…" for part in item["loc"]]
        field = ".".join(parts) or "rule"
        extra = item["type"] == "extra_forbidden" and not quote_input
        message = "unknown field" if extra else item["msg"].removeprefix("Value error, ")
        problems.append(f"field '{field}': {message}")
    if error.error_count() > limit:
        problems.append(f"and {error.error_count() - limit} more")
    return "; ".join(problems)


def parse_rule(document: Any, where: str = "") -> Rule:
    """One rule from its mapping. RuleError names the field and, given ``where`` (a file and
    position, for the operator's own files), where and which rule; without it (a client's
    request) nothing the client wrote."""
    prefix = f"{where}: " if where else ""
    if not isinstance(document, dict):
        raise RuleError(f"{prefix}a rule is a mapping with at least 'name' and 'expr' or 'drift'")
    name = document.get("name")
    if where:
        prefix += f"rule '{name}': " if isinstance(name, str) else "rule without a name: "
    try:
        return Rule.model_validate(document)
    except ValidationError as error:
        raise RuleError(f"{prefix}{_describe(error, quote_input=bool(where))}") from None


def load_file(path: Path) -> list[Rule]:
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise RuleError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise RuleError(f"{path}: a rules file is a mapping with a 'rules:' list")
    if set(document) - {"rules"}:
        raise RuleError(f"{path}: unknown top-level keys {sorted(set(document) - {'rules'})}")
    return [parse_rule(item, f"{path}: rules[{i}]") for i, item in enumerate(document["rules"])]


def load_directory(directory: Path) -> dict[str, tuple[Rule, Path]]:
    """Every rule in ``directory``'s ``*.yml``/``*.yaml`` files by name, with its file."""
    if not directory.is_dir():
        raise RuleError(f"{directory}: rules directory does not exist")
    rules: dict[str, tuple[Rule, Path]] = {}
    for path in sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")]):
        for rule in load_file(path):
            if rule.name in rules:
                raise RuleError(f"{path}: rule '{rule.name}': name already used in {rules[rule.name][1]}")
            rules[rule.name] = (rule, path)
    return rules
