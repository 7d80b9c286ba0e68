"""The test harness: one home for what tests and benchmarks use to run the
project's parts for real and read back what they emitted.

It sits at the top level, beside ``tests/`` and ``benchmarks/``, because both
use it and neither should import the other: a benchmark starts the same model
server and OTLP receiver a test does. Nothing here is a test, and no service
imports it.

| module | holds |
|---|---|
| ``processes`` | the repository root, ``free_port``, ``poll_until`` (deadlines instead of sleeps), ``wait_healthy``, ``stop`` |
| ``model_server`` | the model server as a real process (``running_api``) |
| ``alerting_service`` | the alert-rule service as a real process (``running_alerting``) |
| ``alerting_fakes`` | Prometheus and Alertmanager as httpx mock transports, for the service's unit tests |
| ``alerting_backends`` | real Prometheus and Alertmanager on free ports, a metrics target, a webhook receiver |
| ``notification_receivers`` | Slack, SMTP and the service's webhook as Alertmanager's receivers |
| ``collectors`` | gateway and sidecar collectors and Jaeger as child processes |
| ``model_servers`` | KServe, MLServer and BentoML from PyPI, launched in a throwaway venv |
| ``served`` | one of them run under ``opentelemetry-instrument`` against a real OTLP receiver, and what every server's test asserts |
| ``throwaway_venvs`` | a venv holding mlotel and someone else's package from PyPI, and a program run in it under ``opentelemetry-instrument`` |
| ``otlp_receiver`` | a real OTLP receiver (gRPC and HTTP); ``python -m harness.otlp_receiver`` runs one |
| ``telemetry_reading`` | what the SDK's in-memory exporter and reader hold, for assertions |
| ``hostile_request`` | one hostile request sent while ``/health`` is probed |
| ``native_stack`` | the native stack (``make up``) for end-to-end tests: its URLs, queries, the tests' settings |
| ``browser`` | Debian's Chromium, headless, for the console's pages |
| ``console`` | the console's pages through Streamlit's AppTest against recorded backend answers |

Global OpenTelemetry providers are reset between tests with
``opentelemetry-test-utils`` (``tests/conftest.py``).
"""
