"""mlotel's stand-ins for SDK internals on the request path, behind ``MLOTEL_FASTPATH``.

Each module here does what a public SDK API does, for less CPU per request,
by reaching into the SDK's private names. They are tested against the SDK
release range that ``instrumentation/pyproject.toml`` allows
(``scripts/test_sdk_range.sh`` runs their differential tests at both ends);
an SDK outside it may move those names. ``MLOTEL_FASTPATH=false`` switches
all of them off: nothing here is then imported, and mlotel uses public SDK
APIs only. On by default because it is what makes telemetry cost ~0.85 of
telemetry off rather than ~0.71-0.76 (README, "What telemetry costs").

- :mod:`~mlotel.fastpath.lean_spans` replaces the SDK tracer's ``start_span``
  and ``Span``: a ``ReadableSpan`` subclass that keeps plain attribute values
  as given and is handed to the processors without a copy. Touches
  ``ReadableSpan``'s private fields ``_name``, ``_context``, ``_parent``,
  ``_attributes``, ``_events``, ``_links``, ``_status``, ``_start_time``,
  ``_end_time`` (written) and the SDK tracer's ``_span_limits`` and
  ``_is_enabled`` (read; a release without them gives the SDK's own spans),
  and, to decide without asking the SDK's always-on/off samplers, alone or
  under ``ParentBased``, ``StaticSampler._decision`` and ``ParentBased``'s
  ``_root`` and ``_*_parent_*sampled`` delegates (read).
- :mod:`~mlotel.fastpath.span_encoding` replaces the SDK's OTLP span encoder
  (``encode_spans``) in the gRPC exporter by overriding its private
  ``_translate_data``.
- :mod:`~mlotel.fastpath.measurements` replaces recording each measurement in
  place: a queue drained by one thread, which passes each measurement's
  context to the public ``record``/``add``. No private SDK names; here because
  it changes when and in which thread the SDK records.
- :mod:`~mlotel.fastpath.histogram_batches` replaces the SDK's ``record()``
  of each queued histogram measurement: a batch of one attribute set is
  added to the aggregation at once (private names: its module docstring).
- :mod:`~mlotel.fastpath.sdk_metrics` replaces switching on every SDK
  self-metric (``OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED``) with switching on
  only the batch processor's and exporter's, by swapping their private
  ``_metrics`` (and reading ``_batch_processor``, ``_max_queue_size``,
  ``_endpoint``, ``_component_type``).
"""
