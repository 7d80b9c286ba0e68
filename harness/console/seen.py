"""What a person sees of a page run through AppTest: its text, links and chart titles;
and recordings emptied, as a stack with no traffic yet answers, or changed where the live stack was not in a state a test needs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from streamlit.testing.v1 import AppTest

TEXT_ELEMENTS = ("title", "subheader", "markdown", "caption", "info", "success", "warning", "error", "button")


def text(app: AppTest) -> str:
    """Titles, messages, metrics, expander labels and every table's cells, one per line."""
    parts = [str(element.value) for kind in TEXT_ELEMENTS for element in getattr(app, kind)]
    parts += [f"{metric.label} {metric.value}" for metric in app.metric]
    parts += [expander.label for expander in app.expander]
    parts += [frame.value.to_string() for frame in app.dataframe]
    return "\n".join(parts)


def links(app: AppTest, column: str) -> list[str]:
    """The URLs of a link column, over every table that has it."""
    return [url for frame in app.dataframe if column in frame.value for url in frame.value[column] if url]


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
    from harness.console.recording import Replay

    recorded = Replay.of.__func__

    def empty(cls, page: str, down_ports: frozenset[int] = frozenset()) -> Replay:
        replay = recorded(cls, page, down_ports)
        # Prometheus' answers; the alert-rule service's drift is computed from them, never reached without a model.
        for answer in (a for a in replay.answers.values() if "data" in a["body"]):
            data = answer["body"]["data"]
            answer["body"]["data"] = {**data, "result": []} if isinstance(data, dict) else []
        return replay

    monkeypatch.setattr(Replay, "of", classmethod(empty))


def answering(monkeypatch, path: str, body: Callable[[Any], Any]) -> None:
    """Make recordings answer requests to ``path`` with ``body(the recorded body)``: a state the live stack
    was not in when it was recorded."""
    from harness.console.recording import Replay

    recorded = Replay.of.__func__

    def changed(cls, page: str, down_ports: frozenset[int] = frozenset()) -> Replay:
        replay = recorded(cls, page, down_ports)
        for key, answer in replay.answers.items():
            if json.loads(key)[2] == path:
                answer["body"] = body(answer["body"])
        return replay

    monkeypatch.setattr(Replay, "of", classmethod(changed))
