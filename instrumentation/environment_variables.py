"""Environment variables that mlotel reads, each with its meaning and default.

Only the names live here; :mod:`instrumentation.config` parses them. The
standard ``OTEL_*`` variables that the OpenTelemetry SDK and its exporters read
themselves (endpoint, headers, timeouts, sampler, batch sizes, export interval)
are listed in the README; the ones mlotel interprets on its own are below.
"""

OTEL_SDK_DISABLED = "OTEL_SDK_DISABLED"
"""``true`` switches all telemetry off: no middleware, no providers, no
background threads; responses carry ``"trace_id": null``. Default ``false``."""

OTEL_TRACES_EXPORTER = "OTEL_TRACES_EXPORTER"
"""``otlp`` (default), ``console`` or ``none``. ``none`` switches traces off:
no spans are created or exported; metrics and logs are untouched."""

OTEL_METRICS_EXPORTER = "OTEL_METRICS_EXPORTER"
"""``otlp`` (default), ``console`` or ``none``. ``none`` switches metrics off:
no instruments record and no reader thread runs; traces are untouched."""

OTEL_LOGS_EXPORTER = "OTEL_LOGS_EXPORTER"
"""``otlp``, ``console`` or ``none`` (default). Anything but ``none`` ships
Python log records (through the ``logging`` instrumentation), with their
trace and span ids."""

OTEL_EXPORTER_OTLP_PROTOCOL = "OTEL_EXPORTER_OTLP_PROTOCOL"
"""``grpc`` (default) or ``http/protobuf``; per signal through
``OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_PROTOCOL``."""

OTEL_PYTHON_DISABLED_INSTRUMENTATIONS = "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"
"""Comma-separated parts to leave off although telemetry is on: ``fastapi``
(the HTTP server span and ``http.server.request.duration``),
``system_metrics`` (process and system resources), ``logging`` (trace ids on
log records, and their shipping when a logs exporter is on), ``mlotel`` (the prediction spans and ML metrics). Default empty."""

OTEL_PYTHON_FASTAPI_EXCLUDED_URLS = "OTEL_PYTHON_FASTAPI_EXCLUDED_URLS"
"""Comma-separated regular expressions; a request whose path matches one of
them in full is neither traced nor measured. ``/health`` excludes only
``/health``; write ``/docs.*`` for a prefix. Default
``/health,/docs.*,/redoc.*,/openapi.json,/favicon.ico``."""

MLOTEL_ML_METRICS_ENABLED = "MLOTEL_ML_METRICS_ENABLED"
"""``false`` stops the ML metrics (``ml.prediction.*``, ``ml.predictions``,
``ml.batch.size``) while prediction spans go on. Default ``true``."""

MLOTEL_LOW_CONFIDENCE_THRESHOLD = "MLOTEL_LOW_CONFIDENCE_THRESHOLD"
"""Predictions whose confidence is below this are counted as low-confidence
and marked on the predict span (``ml.prediction.low_confidence_count``).
A number in [0, 1]. Default ``0.5``."""

MLOTEL_STAGE_SPAN_THRESHOLD_MS = "MLOTEL_STAGE_SPAN_THRESHOLD_MS"
"""Predictions that take at least this many milliseconds (or fail) get their
stages (preprocess, inference, postprocess) as child spans, with their real
start and end times. Every predict span carries the stage durations as
``ml.stage.<name>.duration_ms`` whatever the threshold. ``0`` gives child
spans to every prediction, at the price of three more spans per request.
Default ``10``."""

MLOTEL_CAPTURE_REQUEST_CONTENT = "MLOTEL_CAPTURE_REQUEST_CONTENT"
"""``true`` puts the first instance's feature values on the predict span as
``ml.request.features``. Off by default: no feature values reach any
telemetry unless this is switched on."""

MLOTEL_SDK_METRICS_ENABLED = "MLOTEL_SDK_METRICS_ENABLED"
"""``true`` (default) turns on the SDK's own metrics for the span pipeline:
``otel.sdk.processor.span.processed`` (with ``error.type=queue_full`` for
spans dropped because the queue was full) and
``otel.sdk.exporter.span.exported`` (with ``error.type`` for failed exports),
so that nothing is dropped silently. The SDK's per-span counters are left
off (they cost ~10% of a request). ``OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED``,
when set, wins and applies to every SDK component."""
