"""Every table the console shows goes through ``show``: Streamlit draws a missing value (None, NaN,
NaT) as a grey "None", where a person should see an empty cell.

A column with a missing value is handed over as text: its values in the column's own format (the
configured number format, or the date and time), the missing ones empty. Streamlit has no setting
for what a missing value reads, hence this by hand. Columns without one keep their type.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

DATETIME = "%Y-%m-%d %H:%M:%S"


def _number(value: float, fmt: str | None) -> str:
    """``value`` as Streamlit's NumberColumn would write it with ``fmt`` (printf-style, or the "percent" preset)."""
    if fmt == "percent":
        return f"{value:.2%}"
    if fmt and "%" in fmt:
        return fmt % value
    return f"{value:.4g}"


def as_text(frame: pd.DataFrame, config: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``frame`` and its column configuration with every column that misses a value turned into text."""
    frame, config = frame.copy(), dict(config)
    for name in frame.columns[frame.isna().any()]:
        column, settings = frame[name], dict(config.get(name) or {})
        kind = (settings.get("type_config") or {}).get("type")
        if pd.api.types.is_datetime64_any_dtype(column):
            text = column.dt.strftime(DATETIME)
        elif pd.api.types.is_numeric_dtype(column):
            fmt = (settings.get("type_config") or {}).get("format")
            text = column.map(lambda v, fmt=fmt: "" if pd.isna(v) else _number(v, fmt))
        else:
            text = column
        frame[name] = text.where(column.notna(), "")
        if kind != "link":  # an empty link is an empty cell; a number or time column would read "" as missing
            numeric = kind == "number" or pd.api.types.is_numeric_dtype(column)
            config[name] = st.column_config.TextColumn(settings.get("label") or str(name), help=settings.get("help"),
                                                       alignment="right" if numeric else settings.get("alignment"))
    return frame, config


def show(frame: pd.DataFrame, column_config: dict[str, Any] | None = None, **options: Any) -> None:
    """``st.dataframe`` without an index, no cell reading "None"."""
    shown, config = as_text(frame, column_config or {})
    st.dataframe(shown, hide_index=True, column_config=config, **options)
