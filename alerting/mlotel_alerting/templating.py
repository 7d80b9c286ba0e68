"""Labels and annotations are Jinja2 templates over the alert's ``labels`` and ``value``.

    summary: "p95 latency of {{ labels.ml_model_name }} is {{ value | round(3) }} s"

Templates are compiled when a rule is loaded, so a syntax error is reported
with the rule. They run sandboxed: a rule file cannot reach Python objects.
"""

from __future__ import annotations

import math

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment


def _milliseconds(seconds: float) -> str:
    return "n/a" if seconds is None or math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


def _percent(ratio: float) -> str:
    return "n/a" if ratio is None or math.isnan(ratio) else f"{ratio:.1%}"


_environment = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_environment.filters.update(milliseconds=_milliseconds, percent=_percent)


def check_template(text: str) -> None:
    """Raise ValueError if ``text`` does not compile."""
    try:
        _environment.from_string(text)
    except TemplateError as error:
        raise ValueError(f"template does not compile: {error}") from None


def render(text: str, labels: dict[str, str], value: float | None) -> str:
    """``text`` filled in; a template that fails at run time (say, a missing
    label) yields its source and the reason, never an exception."""
    try:
        return _environment.from_string(text).render(labels=labels, value=value)
    except (TemplateError, TypeError, ValueError) as error:
        return f"{text} (template error: {error})"
