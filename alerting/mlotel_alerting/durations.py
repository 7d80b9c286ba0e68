"""Prometheus-style durations ("30s", "5m", "1h30m", "500ms") as seconds, and back."""

import re
from typing import Annotated

from pydantic import BeforeValidator, Field

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"(?:\d+(?:ms|s|m|h|d|w))+")


def parse_duration(text: str | int | float) -> float:
    """Seconds in ``text``; a bare number is seconds. ValueError says what a duration looks like."""
    if isinstance(text, bool):
        raise ValueError("a duration is a string like '30s', '5m' or '1h30m'")
    if isinstance(text, (int, float)):
        if text < 0:
            raise ValueError("a duration cannot be negative")
        return float(text)
    if isinstance(text, str) and re.fullmatch(r"\d+(\.\d+)?", text.strip()):
        return float(text)
    if not isinstance(text, str) or not _WHOLE.fullmatch(text.strip()):
        raise ValueError(f"{text!r} is not a duration like '30s', '5m' or '1h30m'")
    return float(sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(text.strip())))


def format_duration(seconds: float) -> str:
    """The shortest PromQL duration for ``seconds`` (whole milliseconds)."""
    millis = round(seconds * 1000)
    if millis == 0:
        return "0s"
    parts = []
    for unit in ("w", "d", "h", "m", "s", "ms"):
        size = round(_UNITS[unit] * 1000)
        if millis >= size:
            parts.append(f"{millis // size}{unit}")
            millis %= size
    return "".join(parts)


Duration = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]
"""A pydantic field type: seconds, written as a duration or a number."""
