"""What a rule's PromQL says about "no data", read from its syntax tree.

By the Prometheus convention the comparison lives in the expression
(``rate(errors[5m]) / rate(requests[5m]) > 0.05``): an empty result means
"nothing to alert on". Whether there was anything to compare at all is the
left-hand side of that top-level comparison; if it is empty too, the rule has
no data. Expressions without a top-level filtering comparison have no separate
data query: for them, empty simply means inactive.

Only expressions within the limits (``limits.check_promql``) reach this parser:
it recurses once per level of the syntax tree.
"""

from __future__ import annotations

import functools

import promql_parser

_COMPARISONS = {"==", "!=", ">", "<", ">=", "<="}


def _unwrap(node):
    while isinstance(node, promql_parser.ParenExpr):
        node = node.expr
    return node


@functools.lru_cache(maxsize=4096)
def data_query(expr: str) -> str | None:
    """The PromQL whose series are being compared in ``expr``, or None (parsed once per expression:
    every evaluation asks)."""
    try:
        node = _unwrap(promql_parser.parse(expr))
    except Exception:  # noqa: BLE001 - the parser raises bare Exceptions; Prometheus is the judge of validity
        return None
    if not isinstance(node, promql_parser.BinaryExpr) or str(node.op) not in _COMPARISONS:
        return None
    if node.modifier is not None and node.modifier.return_bool:
        return None
    lhs, rhs = _unwrap(node.lhs), _unwrap(node.rhs)
    vector = rhs if isinstance(lhs, promql_parser.NumberLiteral) else lhs
    if isinstance(vector, promql_parser.NumberLiteral):
        return None
    return str(vector)


def parse_locally(expr: str) -> str | None:
    """The parse error of ``expr`` by the bundled parser, or None when it parses."""
    try:
        promql_parser.parse(expr)
    except Exception as error:  # noqa: BLE001 - see above
        return str(error)
    return None
