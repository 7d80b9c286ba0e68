"""Metric measurements taken on the request path, recorded in batches by one thread.

In a busy server one SDK ``record()`` or ``add()`` costs 15-25 µs where it is
called (the SDK cleans and hashes the attributes, offers an exemplar and takes
its locks, all with caches cold from the request's own work), about twice
what the same call costs in a loop. A prediction request makes five. Here the
request only appends to a bounded queue, and a daemon thread records what is
queued every 100 ms. In one run of ``benchmarks/overhead.py`` (6 rounds,
both variants alternating) that took ``/predict`` from 0.76 to 0.79 of
telemetry off.

- Exemplars still point at the request's trace: each measurement keeps the
  context it was taken in. Their timestamps are those of the recording, at
  most one interval late.
- Counter increments queued with :func:`add` are summed per attribute set
  before they reach the SDK, whose ``add()`` costs as much as a histogram's
  ``record()``: two calls per interval instead of one per prediction (per
  instance, for a batch). The last increment of each interval is recorded on
  its own, in the context it was taken in, so that counters keep exemplars
  pointing at a request's trace, as they have without the fast path; the sum
  of the others belongs to no one trace and is recorded without one.
- A prediction's measurements (its duration, batch size, and each instance's
  confidence and count) go onto the queue as one entry (:func:`record_all`):
  one append on the request path rather than four or more, of one flat
  sequence (four items a measurement, then the span) rather than a tuple
  per measurement. The entry keeps the
  prediction's span rather than the context (the span is all an exemplar
  reads of a context; the queue's thread puts it in one): the context would
  keep the prediction and what it holds alive until the drain. Every object
  an entry keeps alive counts towards the garbage collector's next
  collection of its youngest generation (``benchmarks/retained.py``): with
  both changes a request leaves 10 such objects alive rather than 28, most
  of them its two spans, which wait for their export.
- The queue's bound counts measurements, not entries (a prediction of
  1,024 instances is 2,050 of them): a count kept as entries are queued,
  without a lock, and set again from what is still queued at each drain,
  so that an update lost between two threads is wrong for one interval at
  most.
- A full queue (the thread cannot keep up) turns measurements away and counts
  them in ``mlotel.measurements.dropped``.
- ``Telemetry.force_flush()`` and ``shutdown()`` record what is queued first.

:func:`record` falls back to recording in place when no queue is installed
(telemetry set up by something other than :func:`setup_telemetry`).
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from opentelemetry import context, metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.trace.propagation import _SPAN_KEY

from mlotel.fastpath import histogram_batches
from mlotel.fastpath.contexts import current_context
from mlotel.semconv import SCHEMA_URL, __version__

_logger = logging.getLogger(__name__)

DROPPED_METRIC = "mlotel.measurements.dropped"
DEFAULT_MAX_QUEUE_SIZE = 65_536
DEFAULT_INTERVAL_SECONDS = 0.1

# An instrument's bound ``record`` or ``add``, e.g. ``histogram.record``.
RecordMethod = Callable[..., None]
# One measurement: the instrument's record or add, the value, the attributes, whether it is summed (see add()).
Measured = tuple[RecordMethod, float, dict[str, Any], bool]
# A queue entry, one object however many measurements it holds: four items (a Measured's) each, flat, and
# last what they were taken in: a context, or a span alone (record_all), put in a context when recorded.
Entry = Sequence[Any]

_installed: MeasurementQueue | None = None
# A sum belongs to no one trace, whatever is current where it is recorded. Not an empty
# Context: the SDK takes an empty (falsy) one for none and reads the current context.
_NO_EXEMPLAR = trace.set_span_in_context(trace.INVALID_SPAN)


def _record(method: RecordMethod, value: float, attributes: dict[str, Any], taken_in: context.Context) -> None:
    try:
        method(value, attributes, context=taken_in)
    except Exception:  # one bad measurement must not stop the thread
        _logger.exception("Recording a measurement failed")


def _record_batch(method: RecordMethod, attributes: dict[str, Any], values: list, contexts: list) -> None:
    try:
        if histogram_batches.record_batch(method, attributes, values, contexts):
            return
    except Exception:
        _logger.exception("Recording a batch of measurements failed")
        return
    for value, taken_in in zip(values, contexts):
        _record(method, value, attributes, taken_in)


def each(entry: Entry) -> Iterator[Measured]:
    """An entry's measurements, one ``Measured`` at a time (its last item, one short of four, ends the zip)."""
    items = iter(entry)
    return zip(items, items, items, items)


def record(method: RecordMethod, value: float, attributes: dict[str, Any]) -> None:
    """Queue one measurement (``method`` is an instrument's ``record`` or ``add``)."""
    queue = _installed
    if queue is None:
        method(value, attributes)
    elif queue._queued < queue._max_size:  # put()'s work, one call less
        queue._queue.append((method, value, attributes, False, current_context()))
        queue._queued += 1
    else:
        queue.put(method, value, attributes)  # counts it dropped


def add(counter_add: RecordMethod, value: float, attributes: dict[str, Any]) -> None:
    """Queue a counter increment, to be summed with others of the same ``attributes`` object.

    Pass the same dict for the same attribute set (a cached one): increments
    are summed by the dict's identity, so equal but distinct dicts are
    recorded separately, which is correct, only not cheaper.
    """
    queue = _installed
    if queue is None:
        counter_add(value, attributes)
    elif queue._queued < queue._max_size:
        queue._queue.append((counter_add, value, attributes, True, current_context()))
        queue._queued += 1
    else:
        queue.put(counter_add, value, attributes, summed=True)


def record_all(entry: Entry) -> None:
    """Queue several measurements taken together in a span (a prediction's, that span current) as one entry.

    ``entry``: four items per measurement, those of :func:`record` or
    :func:`add` and whether it is summed (an ``add``), then the span. Each is
    recorded as those would, in a context that holds the span alone (the
    module docstring).
    """
    queue = _installed
    if queue is None:
        for method, value, attributes, _ in each(entry):
            method(value, attributes)
    elif queue._queued < queue._max_size:
        queue._queue.append(entry)
        queue._queued += len(entry) >> 2
    else:
        queue.put_all(entry)


def installed() -> MeasurementQueue | None:
    return _installed


def install(queue: MeasurementQueue | None) -> None:
    global _installed
    _installed = queue


class MeasurementQueue:
    """A bounded queue of measurements and the thread that records them."""

    def __init__(
        self,
        meter_provider: metrics.MeterProvider,
        max_size: int = DEFAULT_MAX_QUEUE_SIZE,
        interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
    ) -> None:
        self._max_size = max_size
        self._interval = interval_seconds
        self._queue: collections.deque = collections.deque()
        self._queued = 0  # measurements queued (module docstring): what the bound counts
        self._drain_lock = threading.Lock()
        self._stopped = threading.Event()
        self._dropped_lock = threading.Lock()
        self.dropped = 0
        meter_provider.get_meter("mlotel.measurements", __version__, schema_url=SCHEMA_URL).create_observable_counter(
            DROPPED_METRIC,
            callbacks=[self._observe_dropped],
            unit="{measurement}",
            description="Metric measurements turned away because the queue was full.",
        )
        self._start_thread()
        # A child forked after set-up gets the queue but not the thread: start its own.
        after_fork = weakref.WeakMethod(self._after_fork_in_child)

        def in_child() -> None:
            queue_method = after_fork()
            if queue_method is not None:
                queue_method()

        os.register_at_fork(after_in_child=in_child)

    def put(self, method: RecordMethod, value: float, attributes: dict[str, Any], summed: bool = False) -> None:
        """Queue one measurement; ``summed``: a counter increment, see :func:`add`."""
        self.put_all((method, value, attributes, summed, current_context()))

    def put_all(self, entry: Entry) -> None:
        """Queue an entry (as :func:`record_all`'s, or ending in a context), or count its measurements dropped if the queue is full."""
        count = len(entry) >> 2
        if self._queued >= self._max_size:
            with self._dropped_lock:  # several request threads may drop at once
                self.dropped += count
            return
        self._queue.append(entry)
        self._queued += count

    def force_flush(self, timeout_millis: int | None = None) -> None:
        """Record everything queued so far, in this thread (as providers' ``force_flush``)."""
        with self._drain_lock:
            queue = self._queue
            # Keyed by the attribute dict's id; the entry keeps the dict alive, so no other takes its id meanwhile.
            # Per counter and attribute set: [the sum of the increments before the last, attributes, the last, its context].
            sums: dict[tuple[RecordMethod, int], list] = {}
            # What is queued now, not what requests add meanwhile: under steady load the
            # loop would never end, and the sums would never be recorded.
            # Histogram measurements by instrument and attribute dict, each batch folded in at once (histogram_batches).
            batches: dict[tuple[RecordMethod, int], tuple[dict[str, Any], list, list]] = {}
            popleft = queue.popleft
            for _ in range(len(queue)):
                entry = popleft()
                taken_in = entry[-1]
                if type(taken_in) is not context.Context:  # a span alone (record_all)
                    taken_in = context.Context({_SPAN_KEY: taken_in})
                items = iter(entry)
                for method, value, attributes, summed in zip(items, items, items, items):  # each(), one call less
                    key = (method, id(attributes))
                    if summed:
                        summing = sums.get(key)
                        if summing is None:
                            sums[key] = [0, attributes, value, taken_in]
                        else:
                            summing[0] += summing[2]
                            summing[2], summing[3] = value, taken_in
                        continue
                    batch = batches.get(key)
                    if batch is None:
                        batches[key] = (attributes, [value], [taken_in])
                    else:
                        batch[1].append(value)
                        batch[2].append(taken_in)
            # Set from what is still queued (list() copies it in C, while requests append): the count
            # is updated without a lock, so an update lost between threads lasts one interval at most.
            self._queued = sum(len(entry) >> 2 for entry in list(queue))
            for (method, _), (attributes, values, contexts) in batches.items():
                # Asked once per batch, not per measurement: whether histogram_batches can fold it in.
                if histogram_batches.foldable(method):
                    _record_batch(method, attributes, values, contexts)
                    continue
                for value, taken_in in zip(values, contexts):
                    _record(method, value, attributes, taken_in)
            for (method, _), (earlier, attributes, last, taken_in) in sums.items():
                if earlier:
                    _record(method, earlier, attributes, _NO_EXEMPLAR)
                _record(method, last, attributes, taken_in)

    def shutdown(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self.force_flush()
        if _installed is self:  # later measurements are recorded in place
            install(None)

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            self.force_flush()

    def _start_thread(self) -> None:
        self._thread = threading.Thread(target=self._run, name="MlotelMeasurements", daemon=True)
        self._thread.start()

    def _after_fork_in_child(self) -> None:
        self._drain_lock = threading.Lock()
        self._queue.clear()  # the parent's measurements: the parent records them
        self._queued = 0
        if not self._stopped.is_set():
            self._start_thread()

    def _observe_dropped(self, options: CallbackOptions) -> Iterator[Observation]:
        yield Observation(self.dropped)
