"""Small httpx clients for the stack's backends (Prometheus, Alertmanager,
Jaeger, the alert-rule service), shared by the alert-rule service and the
console so that neither depends on the other."""
