"""A trace in Jaeger's JSON model, made into what the console shows: spans in
tree order with offsets and depths, and a prediction's summary (model,
version, batch size, confidence, stage durations) from its ``predict`` span."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import mlotel_contract as mc

STAGES = ("preprocess", "inference", "postprocess")
# Attributes of the predict span shown as its summary (instrumentation/mlotel/recorder.py sets them).
SUMMARY = {"model": mc.ATTR_MODEL_NAME, "version": mc.ATTR_MODEL_VERSION, "batch size": mc.ATTR_BATCH_SIZE,
           "confidence min": mc.ATTR_CONFIDENCE_MIN, "confidence mean": mc.ATTR_CONFIDENCE_MEAN,
           "confidence max": mc.ATTR_CONFIDENCE_MAX, "low confidence": mc.ATTR_LOW_CONFIDENCE_COUNT}


@dataclass(frozen=True)
class Span:
    span_id: str
    name: str
    service: str
    kind: str
    status: str  # "error", "ok" or "unset", as OpenTelemetry's status code
    offset_ms: float  # from the start of the trace's first span
    duration_ms: float
    depth: int
    attributes: dict
    events: list[dict]  # each {"name", "offset_ms", "attributes"}


def _tags(items: list[dict] | None) -> dict:
    return {item["key"]: item["value"] for item in items or []}


def _status(tags: dict) -> str:
    code = str(tags.pop("otel.status_code", "")).lower()
    return "error" if code == "error" or tags.pop("error", False) is True else code or "unset"


def spans(trace: dict) -> list[Span]:
    """The trace's spans in tree order: each parent before its children, siblings by start time.
    A span whose parent Jaeger does not have is shown as a root rather than left out."""
    raw = trace.get("spans") or []
    if not raw:
        return []
    start = min(span["startTime"] for span in raw)
    ids = {span["spanID"] for span in raw}
    children: dict[str | None, list[dict]] = defaultdict(list)
    for span in sorted(raw, key=lambda s: s["startTime"]):
        parent = next((ref["spanID"] for ref in span.get("references") or []
                       if ref.get("refType") == "CHILD_OF" and ref["spanID"] in ids), None)
        children[parent].append(span)
    processes = trace.get("processes") or {}
    ordered: list[Span] = []

    def walk(parent: str | None, depth: int) -> None:
        for span in children[parent]:
            tags = _tags(span.get("tags"))
            events = [{"name": fields.pop("event", "event"), "offset_ms": (log["timestamp"] - start) / 1e3,
                       "attributes": fields}
                      for log in span.get("logs") or [] for fields in [_tags(log.get("fields"))]]
            ordered.append(Span(
                span["spanID"], span["operationName"], processes.get(span.get("processID"), {}).get("serviceName", ""),
                str(tags.pop("span.kind", "internal")), _status(tags), (span["startTime"] - start) / 1e3,
                span["duration"] / 1e3, depth, tags, events))
            walk(span["spanID"], depth + 1)

    walk(None, 0)
    return ordered


def predict_span(trace_spans: list[Span]) -> Span | None:
    """The ``predict <model>`` span, where the prediction's own attributes are."""
    return next((span for span in trace_spans if span.name.startswith("predict ")), None)


def stages(span: Span) -> dict[str, float]:
    """Milliseconds per stage, from the predict span's ``ml.stage.<name>.duration_ms`` attributes
    (set on every prediction; the stage child spans exist only for slow or failed ones)."""
    return {name: float(span.attributes[key]) for name in STAGES
            if (key := mc.stage_duration_attribute(name)) in span.attributes}


def summary(span: Span) -> dict[str, object]:
    """The prediction's model, version, batch size and confidence summary, as far as the span has them."""
    return {label: span.attributes[key] for label, key in SUMMARY.items() if key in span.attributes}
