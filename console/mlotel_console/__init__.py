"""The mlotel console: a Streamlit app to see the model server, its
predictions, its slow traces and its alerts, on the native stack or anywhere
its backends are reachable. ``python -m mlotel_console`` starts it on 127.0.0.1:8501.

Pages (each a stable, linkable URL; state lives in the query string):
``/`` overview, ``/models?model=&version=``, ``/slow?model=&min_ms=&since=``,
``/trace?trace_id=<32 hex>``, ``/alerts``, ``/resources``.

It exports no telemetry of its own and installs without the OpenTelemetry SDK.
"""
