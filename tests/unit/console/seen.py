"""What a person sees of a page run through AppTest, beyond its standard elements."""

import json

from streamlit.testing.v1 import AppTest


def chart_titles(app: AppTest) -> list[str]:
    """The titles of the page's Plotly charts (gauges' included), in page order."""
    titles = []
    for chart in app.get("plotly_chart"):
        figure = json.loads(chart.proto.spec)
        title = figure["layout"].get("title") or next(trace["title"] for trace in figure["data"])
        titles.append(title["text"])
    return titles


def without_data(monkeypatch) -> None:
    """Make recordings answer every query with an empty result: a stack that has seen no traffic yet."""
    from tests.unit.console.recording import Replay

    recorded = Replay.of.__func__

    def empty(cls, page: str, down_ports: frozenset[int] = frozenset()) -> Replay:
        replay = recorded(cls, page, down_ports)
        for answer in replay.answers.values():
            data = answer["body"]["data"]
            answer["body"]["data"] = {**data, "result": []} if isinstance(data, dict) else []
        return replay

    monkeypatch.setattr(Replay, "of", classmethod(empty))
