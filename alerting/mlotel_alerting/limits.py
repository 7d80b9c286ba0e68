"""What one rule may hold, checked before any parser sees it, and the PromQL nesting bound.

These are fixed (in the OpenAPI schema of a rule, so a client can read them);
the operational limits (body size, rule count, concurrent queries) are settings.
docs/reliability.md lists both.

The bundled PromQL parser (promql-parser, in Rust) recurses once per level of
the syntax tree: its Python binding raises RecursionError at about 1,000 levels
and the process segfaults at about 10,000, whatever Python catches. Bounding
the tree's depth from the text alone is cheap: every level of the tree is either
an operator or a construct in brackets (call, aggregation, parentheses,
selector, range), so the deepest bracket nesting plus the number of operators
bounds it.
"""

from __future__ import annotations

import re

MAX_NAME_LENGTH = 128
MAX_EXPR_LENGTH = 4096
MAX_EXPR_NESTING = 64
MAX_SELECTOR_LENGTH = 1024
MAX_TEMPLATE_LENGTH = 2048
MAX_TEMPLATES = 32  # labels, and annotations, per rule
MAX_RENDERED_LENGTH = 4096  # a rendered label or annotation is cut here
MAX_DURATION_SECONDS = 31 * 86400

# Quoted strings (PromQL's three kinds) hold no syntax; linear, no nested quantifiers.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_OPERATOR = re.compile(r"==|!=|>=|<=|[-+*/%^<>]|\b(?:and|or|unless|atan2)\b")


def promql_nesting(expr: str) -> int:
    """An upper bound on the depth of ``expr``'s syntax tree: deepest brackets plus operators."""
    code = _STRING.sub('""', expr)
    depth = deepest = 0
    for char in code:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest + len(_OPERATOR.findall(code))


def check_promql(expr: str, max_length: int = MAX_EXPR_LENGTH) -> None:
    """ValueError naming the limit if ``expr`` is too long or nests too deep for a parser."""
    if len(expr) > max_length:
        raise ValueError(f"longer than the limit of {max_length} characters")
    if promql_nesting(expr) > MAX_EXPR_NESTING:
        raise ValueError(f"nests deeper than the limit of {MAX_EXPR_NESTING} levels (brackets plus operators)")


_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'|`[^`]*`")


def redact(message: str, limit: int = 300) -> str:
    """A parser's message without the fragments of input it quotes, and bounded:
    errors never echo what the client sent."""
    return _QUOTED.sub("…", message)[:limit]
