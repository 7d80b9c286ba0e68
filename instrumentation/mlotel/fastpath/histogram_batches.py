"""Queued histogram measurements folded into the SDK's aggregations, one attribute set at a time.

The SDK's ``Histogram.record()`` does, per measurement, what is the same for
every measurement of one attribute set: it builds a ``Measurement`` (which
cleans the attributes), asks each reader's storage for the instrument's
views, copies and hashes the attributes to find the aggregation, and only
then adds the value. :mod:`mlotel.fastpath.measurements` queues
measurements and records them in batches, so most of that is done here
once per instrument and attribute set in a batch; each value then costs
only the aggregation's own ``aggregate()`` and the exemplar filter's
decision, as in the SDK: counts, sum, min, max and exemplars come out the
same (``tests/unit/test_histogram_batches.py`` compares them with the SDK
recording each value itself). The exemplars' timestamp is the batch's.

Touches the SDK's private ``Histogram._is_enabled``, ``_measurement_consumer``
(its ``_sdk_config`` and ``_reader_storages``), the storages'
``_get_or_init_view_instrument_match`` and the view matches' ``_view``,
``_lock``, ``_reset_on_collect``, ``_attributes_aggregation`` and
``_get_or_create_aggregation``. :func:`record_batch` leaves to the SDK's
own ``record()`` whatever it is not sure of (another instrument, a value the
SDK would refuse, a release without these names).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.metrics._internal._view_instrument_match import _hash_attributes
from opentelemetry.sdk.metrics._internal.instrument import Histogram
from opentelemetry.sdk.metrics._internal.measurement import Measurement

_SDK_RECORD = Histogram.record


class _Value:
    """What an aggregation reads of a ``Measurement``; the attributes cleaned once for the batch."""

    __slots__ = ("value", "time_unix_nano", "instrument", "context", "attributes")

    def __init__(self, value: float, time_unix_nano: int, instrument: Any, context: Context, attributes: Any) -> None:
        self.value, self.time_unix_nano, self.instrument = value, time_unix_nano, instrument
        self.context, self.attributes = context, attributes


def foldable(method: Any) -> bool:
    """Whether ``method`` is an SDK histogram's own ``record``, which :func:`record_batch` can stand in for."""
    return getattr(method, "__func__", None) is _SDK_RECORD


def record_batch(method: Any, attributes: Any, values: Sequence[float], contexts: Sequence[Context]) -> bool:
    """Record ``values[i]`` as taken in ``contexts[i]``, as ``method`` (a histogram's ``record``) would one by one.

    False, having recorded nothing, where the SDK's ``record()`` must do it.
    """
    instrument = method.__self__
    try:
        consumer = instrument._measurement_consumer
        storages = consumer._reader_storages.values()
        should_sample = consumer._sdk_config.exemplar_filter.should_sample
        if not instrument._is_enabled():
            return False
    except AttributeError:
        return False
    # The SDK warns about and skips these; its record() does that.
    if not all(math.isfinite(value) and value >= 0 for value in values):
        return False
    now = time.time_ns()
    # Built once to clean the attributes as the SDK's Measurement does.
    cleaned = Measurement(values[0], now, instrument, contexts[0], attributes).attributes
    samples = [should_sample(value, now, cleaned, taken_in) for value, taken_in in zip(values, contexts)]
    for storage in storages:
        for match in storage._get_or_init_view_instrument_match(instrument):
            _fold(match, instrument, cleaned, values, contexts, samples, now)
    return True


def _fold(match: Any, instrument: Any, cleaned: Any, values: Sequence[float], contexts: Sequence[Context],
          samples: list[bool], now: int) -> None:
    """The values into one view's aggregation for their attribute set, as ``_ViewInstrumentMatch.consume_measurement``."""
    attributes = dict(cleaned) if cleaned else {}
    keys = match._view._attribute_keys
    if keys is not None:
        attributes = {k: v for k, v in attributes.items() if k in keys}
    key = _hash_attributes(attributes)
    if match._reset_on_collect:
        # As the SDK: a collection must not discard the aggregation between finding and adding.
        with match._lock:
            aggregation = match._get_or_create_aggregation(key, attributes)
            _aggregate(aggregation, instrument, cleaned, values, contexts, samples, now)
        return
    aggregation = match._attributes_aggregation.get(key)
    if aggregation is None:
        with match._lock:
            aggregation = match._get_or_create_aggregation(key, attributes)
    _aggregate(aggregation, instrument, cleaned, values, contexts, samples, now)


def _aggregate(aggregation: Any, instrument: Any, cleaned: Any, values: Sequence[float],
               contexts: Sequence[Context], samples: list[bool], now: int) -> None:
    aggregate = aggregation.aggregate
    for value, taken_in, sample in zip(values, contexts, samples):
        aggregate(_Value(value, now, instrument, taken_in, cleaned), sample)
