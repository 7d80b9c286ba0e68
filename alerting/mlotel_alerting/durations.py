"""Prometheus-style durations ("30s", "5m", "1h30m", "500ms") as seconds, and back."""

import re
from typing import Annotated

from pydantic import BeforeValidator, Field

from mlotel_alerting.limits import MAX_DURATION_SECONDS

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"(?:\d+(?:ms|s|m|h|d|w))+")
# Longer than any duration under the limit ("4w3d23h59m59s999ms" is 18): the digits are never
# turned into a number whose size the client chooses.
_MAX_TEXT = 32
_SHAPE = "a duration is a string like '30s', '5m' or '1h30m', or a number of seconds"


def parse_duration(text: str | int | float) -> float:
    """Seconds in ``text``; a bare number is seconds. ValueError says what a duration looks like,
    never repeating ``text``."""
    if isinstance(text, bool):
        raise ValueError(_SHAPE)
    if isinstance(text, (int, float)):
        if not text >= 0:  # also NaN
            raise ValueError("a duration cannot be negative")
        return float(text)
    if not isinstance(text, str) or len(text) > _MAX_TEXT:
        raise ValueError(_SHAPE + f" (at most {_MAX_TEXT} characters)")
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    if not _WHOLE.fullmatch(text):
        raise ValueError(_SHAPE)
    return float(sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(text)))


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


Duration = Annotated[float, BeforeValidator(parse_duration), Field(ge=0, le=MAX_DURATION_SECONDS)]
"""A pydantic field type: seconds, written as a duration or a number, at most 31 days."""
