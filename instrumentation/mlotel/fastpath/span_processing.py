"""What a lean span's start and end call in the provider's span processors, with the calls that do nothing left out.

The SDK's tracer calls its provider's ``SynchronousMultiSpanProcessor``, which
calls each processor's ``on_start`` and ``on_end``. In mlotel's usual pipeline
that is one ``BatchSpanProcessor``, whose ``on_start`` does nothing and whose
``on_end`` hands a sampled span to its ``BatchProcessor.emit``: three Python
calls at each end and two at each start where one, ``emit``, does the work,
and ``emit`` makes a system call (``os.getpid()``) per span. A span's end here
puts it on the SDK batch processor's own queue, as ``emit`` does, and hands
it to ``emit`` itself when the processor is shut down or the queue is full
(dropped, counted in ``otel.sdk.processor.span.processed``, warned about): the
same bound, drop count, export schedule and size, ``force_flush`` and
``shutdown`` as the SDK's, because they are the SDK's. With any other
processor, or more than one, a span's start and end go through the
provider's processor as in the SDK.

Reads the multi processor's private ``_span_processors`` (a tuple the SDK
replaces when a processor is added, so that a new one is seen at the next
span's start), the batch span processor's ``_batch_processor`` and that
``BatchProcessor``'s ``_queue``, ``_shutdown``, ``_max_queue_size``,
``_max_export_batch_size`` and ``_worker_awaken``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk._shared_internal import BatchProcessor
from opentelemetry.sdk.trace import SpanProcessor, SynchronousMultiSpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor

# The SDK's on_start methods that do nothing: a span start need not call them.
_IDLE_STARTS = frozenset((SpanProcessor.on_start, BatchSpanProcessor.on_start))


def _nothing(span: Any) -> None:
    return None


class Calls:
    """What a span's start and end call, for one set of processors (``seen``); replaced whole, never changed."""

    __slots__ = ("seen", "on_start", "on_end_sampled", "on_end_unsampled")

    def __init__(self, seen: Any, on_start: Callable[..., None] | None, on_end_sampled: Callable[[Any], None],
                 on_end_unsampled: Callable[[Any], None]) -> None:
        self.seen, self.on_start = seen, on_start
        self.on_end_sampled, self.on_end_unsampled = on_end_sampled, on_end_unsampled


class Processing:
    """A tracer's span processor, with what each span's start and end call in it worked out once per set of processors.

    A tracer compares ``watched._span_processors`` with ``calls.seen`` at each
    span's start, and calls :meth:`work_out` when they differ. A span keeps
    the end it started with: a processor added while it runs does not see it
    end (the SDK's would, without having seen it start).
    """

    def __init__(self, processor: SpanProcessor) -> None:
        self._processor = processor
        # What the SDK keeps its processors in; where it is not the SDK's multi processor, a tuple that never changes.
        is_multi = type(processor) is SynchronousMultiSpanProcessor and hasattr(processor, "_span_processors")
        self.watched: Any = processor if is_multi else _Unwatched()
        self.calls = self.work_out()

    def work_out(self) -> Calls:
        processors = self.watched._span_processors
        generic = self._processor
        if not isinstance(self.watched, SynchronousMultiSpanProcessor) or not isinstance(processors, tuple):
            calls = Calls(processors, generic.on_start, generic.on_end, generic.on_end)
        else:
            idle = all(type(each).on_start in _IDLE_STARTS for each in processors)
            batch = _only_batch(processors)
            if batch is None:
                calls = Calls(processors, None if idle else generic.on_start, generic.on_end, generic.on_end)
            else:  # BatchSpanProcessor.on_end: a span not sampled is not queued
                calls = Calls(processors, None if idle else generic.on_start, _emitting(batch), _nothing)
        self.calls = calls  # one assignment: a span started in another thread reads these or the last, not a mix
        return calls


class _Unwatched:
    """Stands for a processor other than the SDK's multi processor: its processors are never seen to change."""

    _span_processors = ()


def _only_batch(processors: tuple[SpanProcessor, ...]) -> BatchProcessor[Any] | None:
    """The SDK's BatchProcessor behind the one processor there is, if that is the SDK's BatchSpanProcessor as released."""
    if len(processors) != 1 or type(processors[0]) is not BatchSpanProcessor:
        return None
    # Its on_end as released, not one put in its place (benchmarks/instruction_breakdown.py does, to take it away).
    if getattr(BatchSpanProcessor.on_end, "__qualname__", None) != "BatchSpanProcessor.on_end":
        return None
    batch = getattr(processors[0], "_batch_processor", None)
    if type(batch) is not BatchProcessor or "emit" in vars(batch):  # another class, or emit replaced on it
        return None
    return batch


def _emitting(batch: BatchProcessor[Any]) -> Callable[[Any], None]:
    """``batch.emit`` without its ``os.getpid()`` (a system call) at each span, where the SDK resets it at a fork anyway.

    The SDK's emit asks whether the process forked and, if so, starts the
    queue and worker afresh; where ``os.register_at_fork`` exists it has done
    so already in the child (``BatchProcessor._at_fork_reinit``). A span that
    finds the processor shut down or the queue full is handed to ``emit``
    itself, which drops it, counts it and warns as always.
    """
    if not hasattr(os, "register_at_fork"):
        return batch.emit
    emit = batch.emit
    max_queue_size, max_batch_size = batch._max_queue_size, batch._max_export_batch_size

    def emit_span(span: Any) -> None:
        queue = batch._queue
        if batch._shutdown or len(queue) >= max_queue_size:
            emit(span)
            return
        queue.appendleft(span)
        if len(queue) >= max_batch_size and not batch._worker_awaken.is_set():
            batch._worker_awaken.set()

    return emit_span
