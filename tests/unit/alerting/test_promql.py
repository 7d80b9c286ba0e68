"""What counts as "no data" for a PromQL rule."""

import pytest

from mlotel_alerting.promql import data_query, parse_locally


@pytest.mark.parametrize(("expr", "data"), [
    ("rate(x[5m]) > 0.3", "rate(x{}[5m])"),
    ("(sum by (m) (rate(x[5m])) > 0.3)", "sum by (m)(rate(x{}[5m]))"),
    ("0.3 < rate(x[5m])", "rate(x{}[5m])"),
    ("rate(x[5m]) > bool 0.3", None),  # returns 0/1 for every series: never empty when there is data
    ("absent(up{job='ml-api'})", None),
    ("up == 0 and on() vector(1)", None),
    ("not ( valid", None),
])
def test_data_query_is_the_left_hand_side_of_a_top_level_comparison(expr, data):
    assert data_query(expr) == data


def test_local_parse_errors():
    assert parse_locally("sum(rate(x[5m])") is not None
    assert parse_locally("sum(rate(x[5m]))") is None
