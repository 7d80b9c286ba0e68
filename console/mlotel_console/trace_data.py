"""Loaders of the slow-predictions and trace pages: Jaeger's search and traces,
Prometheus's latency exemplars. Each loader asks its backends concurrently in
one ``clients.run`` and keeps the answer briefly (``st.cache_data``), so a
rerun (a click, an auto-refresh) does not ask again."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable
from dataclasses import dataclass

import streamlit as st

import mlotel_contract as contract
from mlotel_backends.errors import BackendError
from mlotel_console import clients, spans
from mlotel_console.loading import gather
from mlotel_console.settings import settings

# Jaeger's search answers its newest matches, at most this many a search.
SEARCH_LIMIT = 100
# Searches again from a higher minimum while a search fills its page (see ``slow``): from its
# KEEP-th slowest, so each search keeps at least the KEEP slowest there are.
NARROWINGS, KEEP = 4, 10


class TraceMissing(Exception):
    """Jaeger does not have the trace; the message says the likely reasons."""


@dataclass(frozen=True)
class Slow:
    """The slow page's data; a part whose backend failed holds the error instead."""

    models: list[str]
    predictions: list[dict] | BackendError
    exemplars: list[dict] | BackendError
    below_minimum: bool = False
    """None reached the minimum: ``predictions`` are the slowest of any duration Jaeger returned."""
    searched_ms: float = 0.0
    """The minimum of the last search: above the asked one when more than a page of predictions reached that."""
    complete: bool = True
    """Jaeger returned every prediction of at least ``searched_ms``, so the slowest are among them."""


def _row(trace: dict) -> dict | None:
    """One slow prediction as a table row, or None for a trace without a prediction in it."""
    trace_spans = spans.spans(trace)
    predict = spans.predict_span(trace_spans)
    if predict is None:
        return None
    started = min(span["startTime"] for span in trace["spans"]) / 1e6
    return {"trace_id": trace["traceID"], "started": started, "duration_ms": predict.duration_ms,
            "request_ms": trace_spans[0].duration_ms, "model": predict.attributes.get(contract.ATTR_MODEL_NAME, ""),
            "batch": predict.attributes.get(contract.ATTR_BATCH_SIZE), "status": predict.status,
            **{f"{name}_ms": ms for name, ms in spans.stages(predict).items()}}


# A minute: a point click reaches the page a few reruns later, and only while the chart is unchanged.
@st.cache_data(ttl=60, show_spinner=False)
def slow(model: str, min_ms: float, since_s: int) -> Slow:
    """The slowest predictions (of ``model``, or all) of at least ``min_ms`` within ``since_s`` seconds,
    slowest first, and the latency exemplars of the same time. If none is that slow, the slowest of
    any duration (``below_minimum``): a link's minimum is an estimate, and an empty page answers nothing."""
    end = time.time()
    # for_model quotes the name: it comes from a link and may hold anything.
    series = contract.duration_exemplar_series(contract.for_model(model) if model else contract.Scope())

    def search(c: clients.Clients, minimum: str) -> Awaitable[list[dict]]:
        return c.jaeger.search(settings.service_name, f"predict {model}" if model else "", minimum,
                               int((end - since_s) * 1e6), int(end * 1e6), SEARCH_LIMIT)

    async def work(c: clients.Clients) -> list:
        return await gather(c.jaeger.operations(settings.service_name), search(c, f"{min_ms:g}ms"),
                            c.prometheus.exemplars(series, end - since_s, end))

    def rows(found: list[dict] | BackendError) -> list[dict] | BackendError:
        return found if isinstance(found, BackendError) else sorted(
            filter(None, map(_row, found)), key=lambda row: -row["duration_ms"])

    def search_from(minimum: str) -> list[dict] | BackendError:
        return clients.run(lambda c: gather(search(c, minimum)))[0]

    operations, traces, exemplars = clients.run(work)
    below_minimum, searched_ms = traces == [] and min_ms > 0, min_ms
    if below_minimum:
        traces, searched_ms = search_from(""), 0.0
    predictions = rows(traces)
    # A full page holds the newest matches, not the slowest; but its KEEP-th slowest bounds the KEEP slowest
    # overall from below: search again from there, until a search returns all it has.
    for _ in range(NARROWINGS):
        if isinstance(predictions, BackendError) or len(traces) < SEARCH_LIMIT:
            break
        searched_ms = math.floor(predictions[KEEP - 1]["duration_ms"])
        traces = search_from(f"{searched_ms}ms")
        predictions = rows(traces)
    complete = not isinstance(traces, BackendError) and len(traces) < SEARCH_LIMIT
    models = [] if isinstance(operations, BackendError) else sorted(
        op.removeprefix("predict ") for op in operations if op.startswith("predict "))
    if not isinstance(exemplars, BackendError):
        exemplars = [{"trace_id": e.labels["trace_id"], "at": e.at, "duration_ms": e.value * 1e3,
                      "model": e.series.get(contract.MODEL, "")} for e in exemplars if "trace_id" in e.labels]
    return Slow(models, predictions, exemplars, below_minimum, searched_ms, complete)


@st.cache_data(ttl=300, show_spinner=False)
def trace(trace_id: str) -> list[spans.Span]:
    """The spans of ``trace_id`` in tree order. Raises TraceMissing (not cached: it may arrive in a
    few seconds) or BackendError."""
    found = clients.run(lambda c: c.jaeger.trace(trace_id))
    if found is None or not found.get("spans"):
        raise TraceMissing(
            f"Jaeger has no trace {trace_id}. Either the collector's tail sampler did not keep it: it keeps "
            f"errors, predictions slower than {settings.slow_prediction_ms:g} ms and "
            f"{settings.trace_sampling_percent:g}% of the rest, so most fast successful predictions are dropped; "
            "or it is not in Jaeger yet: the sampler decides about 5 s after the trace's first span, then "
            "batches, so a trace that just finished shows up after a few seconds: try again then.")
    return spans.spans(found)
