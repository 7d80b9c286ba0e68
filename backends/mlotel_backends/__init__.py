"""Small httpx clients for the stack's backends (Prometheus, Alertmanager,
Jaeger, the alert-rule service) and where trace links open (``trace_links``),
shared by the alert-rule service and the console so that neither depends on
the other."""
