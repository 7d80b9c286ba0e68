"""Attribute dicts checked once when made, for spans that would otherwise check them at every use.

The middleware and the recorder reuse the same few attribute dicts for
requests alike (:mod:`mlotel.http_attributes`, the recorder's per-model
cache). :func:`plain` marks one whose keys are all non-empty strings and
whose values are all plain (str, bool, int, float, as they are, not
subclasses), and notes its longest string: a
:class:`~mlotel.fastpath.lean_span.LeanSpan` stores such a dict as it is,
where it would otherwise check each attribute again for every span (~0.6 k
instructions an attribute, ~15 of them a request). Anything else is
returned as a plain dict and checked where it is stored, as before.
A marked dict is never changed after it is made: the check would no longer hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Attribute value types stored as they are (a LeanSpan cleans any other through the SDK).
PLAIN_TYPES = frozenset((str, bool, int, float))


class PlainAttributes(dict[str, Any]):
    """A dict of plain attributes, checked when made (:func:`plain`); never change one."""

    __slots__ = ("longest",)
    longest: int  # the longest str value's length, 0 if none


def plain(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """``attributes`` as a :class:`PlainAttributes` if every key and value is plain, else as a dict."""
    longest = 0
    for key, value in attributes.items():
        if type(key) is not str or not key:
            return dict(attributes)
        kind = type(value)
        if kind is str:
            longest = max(longest, len(value))
        elif kind not in PLAIN_TYPES:
            return dict(attributes)
    checked = PlainAttributes(attributes)
    checked.longest = longest
    return checked
