"""What a person sees on a page run through AppTest, as text to assert on."""

from __future__ import annotations

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
