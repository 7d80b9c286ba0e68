"""Environment variables that mlotel reads, each with its meaning and default.

Only the names live here; :mod:`mlotel.config` parses them, once.
The standard variables that mlotel interprets itself are taken by the names
their OpenTelemetry packages declare (imported below; what each means in
mlotel is in ``docs/configuration.md``). The rest of the standard ``OTEL_*``
variables (endpoint, headers, timeouts, sampler, attribute and event counts)
are read by the SDK and its exporters themselves; the attribute value length
limits (``OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT``,
``OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT``) are read by mlotel, under the
SDK's names, because mlotel's default differs from the SDK's "no limit"; mlotel's own are declared below.
"""

from opentelemetry.environment_variables import OTEL_LOGS_EXPORTER, OTEL_METRICS_EXPORTER, OTEL_TRACES_EXPORTER
from opentelemetry.instrumentation.environment_variables import OTEL_PYTHON_DISABLED_INSTRUMENTATIONS
from opentelemetry.sdk.environment_variables import OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_SDK_DISABLED

OTEL_PYTHON_FASTAPI_EXCLUDED_URLS = "OTEL_PYTHON_FASTAPI_EXCLUDED_URLS"
"""Comma-separated regular expressions; a request whose path matches one of
them in full is neither traced nor measured. ``/health`` excludes only
``/health``; write ``/docs.*`` for a prefix. Default
``/health,/health/live,/health/ready,/docs.*,/redoc.*,/openapi.json,/favicon.ico``."""

OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS = "OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS"
"""Comma-separated, case-sensitive HTTP methods that the server span and
``http.server.request.duration`` name as they are; any other method becomes
``_OTHER`` (span name ``HTTP``), with the method as sent in
``http.request.method_original``. Default: the methods of RFC 9110 and
``PATCH``, as the HTTP semantic conventions define them. No OpenTelemetry
package declares this standard name, hence here."""

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
off (they cost ~10% of a request). This takes ``MLOTEL_FASTPATH``; without
it only ``OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED`` turns them on. ``OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED``,
when set, wins and applies to every SDK component."""

MLOTEL_FASTPATH = "MLOTEL_FASTPATH"
"""``true`` (default) uses :mod:`mlotel.fastpath` on the request path: mlotel's
own spans, OTLP/gRPC span encoder and queued measurements, which stand in
for SDK internals and are tested on the SDK releases that mlotel's
requirements allow. ``false`` uses the SDK's public APIs only (its tracer,
its exporter's encoding, measurements recorded in place), at ~0.75 instead of
~0.85 of the throughput without telemetry."""

MLOTEL_NATIVE = "MLOTEL_NATIVE"
"""``true`` (default) encodes span export requests with mlotel's native
encoder (the ``native`` extra, ``mlotel-native``: Rust, built from source)
where it is installed, for 0.4 of the Python encoder's instructions, and signs
prediction ids natively, for about half; the same bytes and ids either way.
``false`` uses the Python encoder and signer even where it is installed. The
encoder takes ``MLOTEL_FASTPATH`` and OTLP over gRPC; without the extra, the
Python code is used, and nothing is said."""

MLOTEL_SPAN_EXPORT_MAX_BYTES = "MLOTEL_SPAN_EXPORT_MAX_BYTES"
"""The most bytes one span export request may carry: a batch whose encoding
could be larger is sent as several requests, each under this, so that a
receiver's message limit (the collector's OTLP/gRPC receiver refuses more than
4 MiB by default) never costs a whole batch. A single span over it is sent
alone. Default ``3145728`` (3 MiB)."""

MLOTEL_MODEL_NAME = "MLOTEL_MODEL_NAME"
"""The ``ml.model.name`` of every prediction that a model-library
instrumentor (:mod:`mlotel.instrumentors`) records, in place of its default
(the model's class name; see there). A model's own ``mlotel_model_name``
attribute wins over this. Default: unset."""

MLOTEL_MODEL_VERSION = "MLOTEL_MODEL_VERSION"
"""The ``ml.model.version`` of every prediction that a model-library
instrumentor records, in place of its default (a fingerprint of the fitted
model, 12 hex digits). A model's own ``mlotel_model_version`` attribute wins
over this. Default: unset."""

MLOTEL_FEEDBACK_KEY = "MLOTEL_FEEDBACK_KEY"
"""The key that signs prediction ids (:mod:`mlotel.prediction_ids`); every
replica and worker that should score each other's feedback needs the same.
Unset: a random key per process, with a warning (``mlotel-model-server``
makes one for its workers before starting them)."""

MLOTEL_FEEDBACK_WINDOW_SECONDS = "MLOTEL_FEEDBACK_WINDOW_SECONDS"
"""The join window: feedback for a prediction older than this is refused as
``expired_id``, and the same feedback sent twice within it counts once (per
process, see ``MLOTEL_FEEDBACK_DEDUPE_MAX``). Default ``604800`` (7 days)."""

MLOTEL_FEEDBACK_DEDUPE_MAX = "MLOTEL_FEEDBACK_DEDUPE_MAX"
"""The most scored predictions a process remembers to recognise repeated
feedback (~115 bytes each, measured in docs/model-correctness.md). The oldest
falls out when full and is counted in ``ml.feedback.dedupe.evicted``.
Default ``100000``."""

MLOTEL_FEEDBACK_MAX_BATCH = "MLOTEL_FEEDBACK_MAX_BATCH"
"""The most outcomes one feedback call may carry; more is refused whole
(``batch_too_large``). Default ``1000``."""
MLOTEL_DRIFT_FEATURES = "MLOTEL_DRIFT_FEATURES"
"""How many features per model are binned for drift (``mlotel.feature_drift``):
the first ones that vary in the reference. Each costs one series per bin and
model version, twice (counts and the reference's shares). Default ``8``."""

MLOTEL_DRIFT_BINS = "MLOTEL_DRIFT_BINS"
"""Bins per feature, cut at the reference's quantiles (fewer where the
reference has fewer distinct values). Default ``10``."""
