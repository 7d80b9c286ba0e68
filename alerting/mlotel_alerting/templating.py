"""Labels and annotations are Jinja2 templates over the alert's ``labels`` and ``value``.

    summary: "p95 latency of {{ labels.ml_model_name }} is {{ value | round(3) }} s"

Besides Jinja's own (listed in ``_FILTERS``): ``milliseconds`` (seconds as "812 ms"),
``percent`` (a ratio as "12.5%") and ``bucket_floor`` (a latency quantile's bucket's lower
edge, in seconds, ``mlotel_contract.bucket_floor``: where a search for the predictions
slower than a p95 starts, since the p95 itself may lie above all of them).

Templates are compiled when a rule is loaded, so a syntax error is reported
with the rule. They run sandboxed (a rule cannot reach Python objects) and
restricted to what cannot compute without bound, since a rule comes from
whoever holds the API token and is rendered on every evaluation:

- expressions, ``{% if %}`` and these filters only; no loops, macros, ``set``,
  imports or method calls (``{% for %}`` nests, a macro recurses, ``set`` doubles
  a string per statement);
- ``*``, ``**`` and ``+`` refuse results over ``MAX_VALUE`` characters or bits,
  and ``%`` formats no strings (``"%0999999999d" % 1``). Jinja folds constant
  expressions while compiling (``BinExpr.as_const``, from its optimizer and from
  the code generator's output nodes): an intercepted operator is never folded,
  so ``{{ 9 ** 9 ** 9 }}`` cannot freeze the compile either;
- the rendered text is cut at ``MAX_RENDERED_LENGTH`` characters.

No thread can be stopped from outside in Python, so a time limit would have
needed a process per render; these restrictions make every render's work
bounded by the template's size instead.
"""

from __future__ import annotations

import functools
import math
import operator
from typing import Any

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.defaults import DEFAULT_FILTERS
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from mlotel_alerting.limits import MAX_RENDERED_LENGTH
from mlotel_contract import bucket_floor

MAX_VALUE = 10_000  # characters of a string or list, or bits of an integer, an operator may produce

_FILTERS = ("abs", "capitalize", "default", "d", "escape", "e", "first", "float", "int", "join", "last", "length",
            "count", "list", "lower", "upper", "title", "trim", "round", "string", "truncate", "tojson", "min", "max",
            "sum", "sort", "unique", "reverse", "dictsort", "items", "urlencode", "striptags")
_STATEMENTS = (nodes.Template, nodes.Output, nodes.If)


def _milliseconds(seconds: float) -> str:
    return "n/a" if seconds is None or math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


def _percent(ratio: float) -> str:
    return "n/a" if ratio is None or math.isnan(ratio) else f"{ratio:.1%}"


def _size(value: Any) -> int | None:
    """How big ``value`` is for the bounds (characters, items or bits), or None for floats and the like."""
    if isinstance(value, (str, list, tuple)):
        return len(value)
    if isinstance(value, int):
        return abs(value).bit_length()
    return None


def _bounded(name: str, left: Any, right: Any) -> None:
    sizes = _size(left), _size(right)
    if name == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
        grows = sizes[0] * right  # type: ignore[operator]
    elif name == "*" and None not in sizes:
        sequences = [value for value in (left, right) if isinstance(value, (str, list, tuple))]
        counts = [value for value in (left, right) if isinstance(value, int)]
        grows = len(sequences[0]) * counts[0] if sequences and counts else sum(sizes)  # type: ignore[arg-type]
    elif name == "+" and None not in sizes:
        grows = sum(sizes)  # type: ignore[arg-type]
    elif name == "%" and isinstance(left, str):
        raise SecurityError("'%' does not format strings in templates")
    else:
        return
    if grows > MAX_VALUE:
        raise SecurityError(f"'{name}' would produce more than {MAX_VALUE} characters or bits")


class _RestrictedEnvironment(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call_binop(self, context, operator_name: str, left: Any, right: Any) -> Any:
        _bounded(operator_name, left, right)
        return super().call_binop(context, operator_name, left, right)


_environment = _RestrictedEnvironment(undefined=StrictUndefined, autoescape=False, optimized=False)
_environment.globals.clear()  # range, lipsum, cycler, namespace...
_environment.filters = {name: DEFAULT_FILTERS[name] for name in _FILTERS}
_environment.filters.update(milliseconds=_milliseconds, percent=_percent, bucket_floor=bucket_floor)
_environment.binop_table = {**_environment.binop_table, "**": operator.pow}


def _restricted(tree: nodes.Template) -> None:
    for node in tree.find_all(nodes.Node):
        if isinstance(node, nodes.Stmt) and not isinstance(node, _STATEMENTS):
            raise ValueError(f"templates take expressions and {{% if %}} only, not {{% {type(node).__name__.lower()} %}}")
        if isinstance(node, nodes.Call):
            raise ValueError("templates call no functions or methods; filters are allowed")


@functools.lru_cache(maxsize=4096)
def _compiled(text: str):
    """``text`` checked and compiled once (every evaluation renders it again)."""
    try:
        _restricted(_environment.parse(text))
        return _environment.from_string(text)
    except TemplateError as error:
        raise ValueError(f"template does not compile: {error.message or type(error).__name__}") from None
    except (RecursionError, MemoryError, SyntaxError):
        raise ValueError("template nests too deep to compile") from None


def check_template(text: str) -> None:
    """Raise ValueError if ``text`` does not compile or uses what templates may not."""
    _compiled(text)


def render(text: str, labels: dict[str, str], value: float | None) -> str:
    """``text`` filled in, at most ``MAX_RENDERED_LENGTH`` characters; a template that fails
    at run time (a missing label, a bound crossed) yields its source and the reason, never an exception."""
    try:
        rendered = _compiled(text).render(labels=labels, value=value)
    except (TemplateError, TypeError, ValueError, ArithmeticError, RecursionError) as error:
        rendered = f"{text} (template error: {error})"
    return rendered if len(rendered) <= MAX_RENDERED_LENGTH else rendered[: MAX_RENDERED_LENGTH - 1] + "…"
