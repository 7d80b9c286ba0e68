"""The mlotel alert-rule service: ML rules evaluated against Prometheus, alerts delivered to
Alertmanager, notifications received back. ``python -m mlotel_alerting`` starts it.

It exports no telemetry of its own and installs without the OpenTelemetry SDK (FastAPI
brings only the API, whose calls do nothing without an SDK): its own state is on
``GET /metrics``, which Prometheus scrapes.
"""
