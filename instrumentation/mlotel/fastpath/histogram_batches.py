"""Queued histogram measurements folded into the SDK's aggregations, one attribute set at a time.

The SDK's ``Histogram.record()`` does, per measurement, what is the same for
every measurement of one attribute set: it builds a ``Measurement`` (which
cleans the attributes), asks each reader's storage for the instrument's
views, copies and hashes the attributes to find the aggregation, takes its
lock, and offers the value to the exemplar reservoir. :mod:`mlotel.fastpath.measurements`
queues measurements and records them in batches, so here that is done once
per instrument and attribute set in a batch: the values are added to the
explicit-bucket aggregation's counts, sum, min and max under one lock, and
the aligned reservoir (one exemplar per bucket, the last offered) is offered
only each bucket's last value that the trace-based exemplar filter lets
through. Another aggregation, reservoir or filter gets every value as the
SDK gives it. Points and exemplars come out the same as the SDK recording
each value itself (``tests/unit/instrumentation/fastpath/test_histogram_batches.py``);
the exemplars' timestamp is the batch's.

Touches the SDK's private ``Histogram._is_enabled`` and ``_measurement_consumer``
(its ``_sdk_config``, ``_reader_storages``), the storages'
``_get_or_init_view_instrument_match``, the view matches' ``_view``,
``_lock``, ``_reset_on_collect``, ``_attributes_aggregation`` and
``_get_or_create_aggregation``, and the explicit-bucket aggregation's
``_lock``, ``_value``, ``_sum``, ``_min``, ``_max``, ``_record_min_max``,
``_boundaries``, ``_reservoir`` and ``_get_empty_bucket_counts``.
:func:`record_batch` leaves to the SDK's own ``record()`` whatever it is not
sure of (another instrument, a value the SDK would refuse, a release
without these names).
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from functools import reduce
from itertools import repeat
from operator import add
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.metrics import AlignedHistogramBucketExemplarReservoir, TraceBasedExemplarFilter
from opentelemetry.sdk.metrics._internal.aggregation import _ExplicitBucketHistogramAggregation
from opentelemetry.sdk.metrics._internal.instrument import Histogram
from opentelemetry.sdk.metrics._internal.measurement import Measurement

try:
    from opentelemetry.sdk.metrics._internal._view_instrument_match import _hash_attributes
except ImportError:  # a release without it (1.44): every measurement goes to the SDK's record()
    _hash_attributes = None  # type: ignore[assignment]
_SDK_RECORD = Histogram.record
# What _fold reads of a view match.
_MATCH_PARTS = ("_view", "_lock", "_reset_on_collect", "_attributes_aggregation", "_get_or_create_aggregation")


class _Value:
    """What an aggregation reads of a ``Measurement``; the attributes cleaned once for the batch."""

    __slots__ = ("value", "time_unix_nano", "instrument", "context", "attributes")

    def __init__(self, value: float, time_unix_nano: int, instrument: Any, context: Context, attributes: Any) -> None:
        self.value, self.time_unix_nano, self.instrument = value, time_unix_nano, instrument
        self.context, self.attributes = context, attributes


def foldable(method: Any) -> bool:
    """Whether ``method`` is an SDK histogram's own ``record``, which :func:`record_batch` can stand in for."""
    return _hash_attributes is not None and getattr(method, "__func__", None) is _SDK_RECORD


def record_batch(method: Any, attributes: Any, values: Sequence[float], contexts: Sequence[Context]) -> bool:
    """Record ``values[i]`` as taken in ``contexts[i]``, as ``method`` (a histogram's ``record``) would one by one.

    False, having recorded nothing, where the SDK's ``record()`` must do it.
    """
    instrument = method.__self__
    try:
        consumer = instrument._measurement_consumer
        storages = consumer._reader_storages.values()
        exemplar_filter = consumer._sdk_config.exemplar_filter
        if not instrument._is_enabled():
            return False
    except AttributeError:
        return False
    # The SDK warns about and skips these (negative, NaN, infinite); its record() does that. A NaN hides
    # from min() but not from the sum, nor does an infinity (a sum too large to be finite goes there too).
    if not (min(values) >= 0 and math.isfinite(sum(values))):
        return False
    matches = [match for storage in storages for match in storage._get_or_init_view_instrument_match(instrument)]
    if not all(hasattr(match, name) for match in matches for name in _MATCH_PARTS):
        return False  # a release that keeps them otherwise (1.45.0 has no _reset_on_collect): the SDK records
    now = time.time_ns()
    # Built once to clean the attributes as the SDK's Measurement does.
    cleaned = Measurement(values[0], now, instrument, contexts[0], attributes).attributes
    batch = _Batch(instrument, cleaned, values, contexts, exemplar_filter, now)
    for match in matches:
        _fold(match, batch)
    return True


class _Batch:
    """One instrument's values of one attribute set, and the exemplar filter's decisions, made once."""

    def __init__(self, instrument: Any, cleaned: Any, values: Sequence[float], contexts: Sequence[Context],
                 exemplar_filter: Any, now: int) -> None:
        self.instrument, self.cleaned, self.values, self.contexts, self.now = instrument, cleaned, values, contexts, now
        self._filter = exemplar_filter
        self._samples: list[bool] | None = None
        self._indexes: tuple[Sequence[float], list[int]] | None = None

    def indexes(self, boundaries: Sequence[float]) -> list[int]:
        """Each value's bucket under ``boundaries``, found once for the counts and the exemplars (in C: map)."""
        if self._indexes is None or self._indexes[0] is not boundaries:
            self._indexes = (boundaries, list(map(bisect_left, repeat(boundaries, len(self.values)), self.values)))
        return self._indexes[1]

    def samples(self) -> list[bool]:
        if self._samples is None:
            should_sample, cleaned, now = self._filter.should_sample, self.cleaned, self.now
            self._samples = [should_sample(v, now, cleaned, c) for v, c in zip(self.values, self.contexts)]
        return self._samples

    def last_offered(self, boundaries: Sequence[float]) -> dict[int, tuple[float, Context]]:
        """Per bucket, the last value the filter lets through: the one an aligned reservoir keeps.

        Only for the trace-based filter: the values it lets through all carry a
        span, so each offer replaces the bucket's whole exemplar.
        """
        found: dict[int, tuple[float, Context]] = {}
        should_sample, cleaned, now = self._filter.should_sample, self.cleaned, self.now
        values, contexts, indexes = self.values, self.contexts, self.indexes(boundaries)
        # Each bucket's last position (a later one overwrites an earlier): built in C, asked once per bucket.
        for index, last in dict(zip(indexes, range(len(indexes)))).items():
            for at in range(last, -1, -1):  # past the last only where the filter turned it down
                if indexes[at] == index and should_sample(values[at], now, cleaned, contexts[at]):
                    found[index] = (values[at], contexts[at])
                    break
        return found


def _fold(match: Any, batch: _Batch) -> None:
    """The values into one view's aggregation for their attribute set, as ``_ViewInstrumentMatch.consume_measurement``."""
    attributes = dict(batch.cleaned) if batch.cleaned else {}
    keys = match._view._attribute_keys
    if keys is not None:
        attributes = {k: v for k, v in attributes.items() if k in keys}
    key = _hash_attributes(attributes)
    if match._reset_on_collect:
        # As the SDK: a collection must not discard the aggregation between finding and adding.
        with match._lock:
            _aggregate(match._get_or_create_aggregation(key, attributes), batch)
        return
    aggregation = match._attributes_aggregation.get(key)
    if aggregation is None:
        with match._lock:
            aggregation = match._get_or_create_aggregation(key, attributes)
    _aggregate(aggregation, batch)


def _aggregate(aggregation: Any, batch: _Batch) -> None:
    explicit_buckets = type(aggregation) is _ExplicitBucketHistogramAggregation
    if not explicit_buckets:  # another View's aggregation: its own aggregate()
        instrument, cleaned, now = batch.instrument, batch.cleaned, batch.now
        for value, taken_in, sample in zip(batch.values, batch.contexts, batch.samples()):
            aggregation.aggregate(_Value(value, now, instrument, taken_in, cleaned), sample)
        return
    boundaries = aggregation._boundaries
    indexes = batch.indexes(boundaries)
    # _ExplicitBucketHistogramAggregation.aggregate's work for each value, under its lock once.
    with aggregation._lock:
        if aggregation._value is None:
            aggregation._value = aggregation._get_empty_bucket_counts()
        counts = aggregation._value
        for index, count in Counter(indexes).items():  # counted in C
            counts[index] += count
        # One at a time, in order (reduce, not sum(): 3.12's sum() compensates): the same float sum as the SDK's.
        aggregation._sum = reduce(add, batch.values, aggregation._sum)
        if aggregation._record_min_max:
            aggregation._min = min(aggregation._min, min(batch.values))
            aggregation._max = max(aggregation._max, max(batch.values))
    reservoir = aggregation._reservoir
    if type(reservoir) is AlignedHistogramBucketExemplarReservoir and type(batch._filter) is TraceBasedExemplarFilter:
        # Each bucket keeps the last value offered to it: offered only that one.
        for value, taken_in in batch.last_offered(boundaries).values():
            reservoir.offer(value, batch.now, batch.cleaned, taken_in)
        return
    for value, taken_in, sample in zip(batch.values, batch.contexts, batch.samples()):
        if sample:
            reservoir.offer(value, batch.now, batch.cleaned, taken_in)
