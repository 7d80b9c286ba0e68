"""The native stack: Prometheus, Alertmanager, Jaeger, the collector, the alert-rule
service, the ML API and the console on loopback, each a program of one supervisord
(config, socket and logs under ``.run/``), which restarts what dies within seconds.

``python -m scripts.stack up [--sidecar [--gateways N]] [--long-term-metrics]``: start
supervisord and, in order, each service that is not running or not healthy, waiting
until it answers its health check; print the URLs. ``down`` stops every service and
supervisord; ``status`` shows each one's state and health; ``demo`` sends traffic and
prints where to look. ``make up`` and friends call it.

| module | holds |
|---|---|
| ``catalogue`` | which processes ``make up`` starts, in order, with what: ``services()``, the gateway pool |
| ``configs`` | the configs rendered into ``.run/``: Prometheus', Alertmanager's, supervisord's |
| ``control`` | supervisord through its XML-RPC API: start it, start or stop one service |
| ``api_token`` | the alert-rule service's token, and files only this user may read |
| ``paths`` | the checkout, its binaries and the run directory (``MLOTEL_RUN_DIR``) |
| ``commands`` | the command line: ``up``, ``down``, ``status``, ``demo`` |
"""

from scripts.stack import paths
from scripts.stack.api_token import alerting_token, write_private
from scripts.stack.catalogue import CONSOLE, MAX_GATEWAYS, VICTORIA, Gateway, Service, gateway_pool, long_term_store, services
from scripts.stack.commands import down, print_urls, running_shape, status, up
from scripts.stack.configs import prometheus_config, supervisord_config, write_prometheus_config
from scripts.stack.control import start, stop, supervisor, supervisor_running

__all__ = ["CONSOLE", "MAX_GATEWAYS", "VICTORIA", "Gateway", "Service", "alerting_token", "down", "gateway_pool",
           "long_term_store", "paths", "print_urls", "prometheus_config", "running_shape", "services", "start", "status",
           "stop", "supervisor", "supervisor_running", "supervisord_config", "up", "write_private", "write_prometheus_config"]
