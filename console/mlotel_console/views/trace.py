"""One trace (``/trace?trace_id=<32 hex>``): its waterfall, the prediction's summary and
stage breakdown, and each span's attributes and events (exceptions first)."""

import re

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from mlotel_backends.errors import BackendError
from mlotel_console import spans, tables, trace_data, ui

TRACE_ID = re.compile(r"[0-9a-f]{32}")
COLOURS = {"error": "#d62728", "ok": "#2ca02c", "unset": "#1f77b4"}


def _waterfall(trace_spans: list[spans.Span]) -> None:
    # Indented names keep the tree visible on the axis; span ids keep equal names apart.
    labels = [f"{'   ' * s.depth}{s.name} ·{s.span_id[:4]}" for s in trace_spans]
    figure = go.Figure(go.Bar(
        y=labels, x=[max(s.duration_ms, 0.001) for s in trace_spans], base=[s.offset_ms for s in trace_spans],
        orientation="h", marker_color=[COLOURS.get(s.status, COLOURS["unset"]) for s in trace_spans],
        text=[f"{s.duration_ms:.1f} ms" for s in trace_spans], textposition="auto",
        hovertext=[f"{s.name} ({s.kind}, {s.status}): starts at {s.offset_ms:.1f} ms, takes {s.duration_ms:.1f} ms"
                   for s in trace_spans], hoverinfo="text"))
    figure.update_yaxes(autorange="reversed", tickfont={"family": "monospace"})
    figure.update_layout(height=90 + 32 * len(trace_spans), margin={"t": 30, "b": 10, "l": 10},
                         xaxis_title="ms since the trace started")
    st.plotly_chart(figure)
    tables.show(pd.DataFrame([{"span": f"{'  ' * s.depth}{s.name}", "kind": s.kind, "status": s.status,
                                "start ms": s.offset_ms, "duration ms": s.duration_ms, "service": s.service}
                               for s in trace_spans]), column_config={c: st.column_config.NumberColumn(c, format="%.2f")
                                                 for c in ("start ms", "duration ms")})


def _metrics(values: dict[str, str]) -> None:
    """One row of metrics, three or four wide so labels and values (a 12-character version) are not cut."""
    for column, (label, value) in zip(st.columns(max(len(values), 3)), values.items()):
        column.metric(label, value)


def _prediction(predict: spans.Span) -> None:
    st.subheader(f"Prediction: {predict.name}")
    summary = {label: f"{value:.3f}" if isinstance(value, float) else str(value)
               for label, value in spans.summary(predict).items()}
    _metrics(dict(list(summary.items())[:3]))
    _metrics(dict(list(summary.items())[3:]))
    stages = spans.stages(predict)
    share = {name: f" ({ms / predict.duration_ms:.0%})" if predict.duration_ms else "" for name, ms in stages.items()}
    _metrics({"predict ms": f"{predict.duration_ms:.1f}",
              **{f"{name} ms{share[name]}": f"{ms:.1f}" for name, ms in stages.items()}})


def _details(trace_spans: list[spans.Span]) -> None:
    st.subheader("Spans")
    for span in trace_spans:
        events = [e for e in span.events if e["name"] == "exception"]
        with st.expander(f"{span.name} · {span.kind} · {span.status} · {span.duration_ms:.1f} ms",
                         expanded=bool(events) or span.status == "error"):
            for event in events:
                st.error(f"{event['attributes'].get('exception.type', 'exception')}: "
                         f"{event['attributes'].get('exception.message', '')}")
                if trace := event["attributes"].get("exception.stacktrace"):
                    st.code(trace, language="text")
            tables.show(pd.DataFrame({"attribute": list(span.attributes), "value": map(str, span.attributes.values())}))
            for event in span.events:
                if event["name"] != "exception":
                    st.caption(f"event {event['name']} at {event['offset_ms']:.1f} ms: {event['attributes']}")


st.title("Trace")
trace_id = st.text_input("Trace ID", st.query_params.get("trace_id", ""),
                         placeholder="32 hex characters: a /predict response's trace_id").strip().lower()
if trace_id != st.query_params.get("trace_id", ""):
    st.query_params["trace_id"] = trace_id
if not trace_id:
    st.info("Enter a trace id, or open one from the slow predictions or an exemplar.")
elif not TRACE_ID.fullmatch(trace_id):
    # The value is not repeated: a link can carry anything, and the page shows it in the box above.
    st.error("That is not a trace id: a trace id is 32 hexadecimal characters "
             "(the trace_id of a /predict response, or the middle part of its traceresponse header).")
else:
    try:
        trace_spans = trace_data.trace(trace_id)
    except trace_data.TraceMissing as missing:
        st.warning(str(missing), icon=":material/search_off:")
    except BackendError as error:
        ui.backend_down(error)
    else:
        root = trace_spans[0]
        st.caption(f"{root.name} · {root.service} · {root.duration_ms:.1f} ms · {len(trace_spans)} spans · "
                   f"{sum(s.status == 'error' for s in trace_spans)} with errors")
        _waterfall(trace_spans)
        if predict := spans.predict_span(trace_spans):
            _prediction(predict)
        _details(trace_spans)
