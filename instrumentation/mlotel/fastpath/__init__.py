"""mlotel's stand-ins for SDK internals on the request path, behind ``MLOTEL_FASTPATH``.

Each module here does what a public SDK API does, for less CPU per request,
by reaching into the SDK's private names. They are used only on the SDK
releases in :data:`TESTED_WITH` (``scripts/test_sdk_range.sh`` runs their
differential tests there); another release may move those names, so on it
mlotel logs one warning and uses public SDK APIs only, as with
``MLOTEL_FASTPATH=false``: the library itself allows a wider range
(``instrumentation/pyproject.toml``). Either way nothing under this package
is then imported. On by default because with it a fast model server keeps
0.82 of its throughput with telemetry off, against 0.63 without it, and its
p99 is 1.33× off's against 4.13× (README, "What telemetry costs").

- :mod:`~mlotel.fastpath.lean_spans` replaces the SDK tracer's ``start_span``
  and ``Span``: a ``ReadableSpan`` subclass that keeps plain attribute values
  as given and is handed to the processors without a copy. Touches
  ``ReadableSpan``'s private fields ``_name``, ``_context``, ``_kind``, ``_parent``,
  ``_resource``, ``_instrumentation_info``, ``_instrumentation_scope``,
  ``_attributes``, ``_events``, ``_links``, ``_status``, ``_start_time``,
  ``_end_time`` (written, in place of calling its constructor), ``SpanContext``'s
  tuple layout (built without its constructor, and read by place) and the SDK tracer's ``_span_limits``,
  ``_is_enabled`` and ``_tracer_config`` (read; a release without them gives the SDK's own spans),
  and, to decide without asking the SDK's always-on/off samplers, alone or
  under ``ParentBased``, ``StaticSampler._decision`` and ``ParentBased``'s
  ``_root`` and ``_*_parent_*sampled`` delegates (read). The span itself is
  :mod:`~mlotel.fastpath.lean_span`; the fields most spans never change are
  class attributes until set. :mod:`~mlotel.fastpath.span_processing` reads
  ``SynchronousMultiSpanProcessor._span_processors`` and
  ``BatchSpanProcessor._batch_processor``, and at a span's end puts it on
  that ``BatchProcessor``'s ``_queue`` as its ``emit`` does (reading
  ``_shutdown``, ``_max_queue_size``, ``_max_export_batch_size``,
  ``_worker_awaken``), in place of the three calls that lead there; anything
  else: the provider's processor, as in the SDK.
- :mod:`~mlotel.fastpath.contexts` reads the current context straight from
  the API's ``_RUNTIME_CONTEXT._current_context`` where that is the default
  ``ContextVarsRuntimeContext`` (for lean spans,
  :mod:`~mlotel.fastpath.measurements` and the middleware's look for a
  server span already current), and the span in it under
  ``opentelemetry.trace.propagation._SPAN_KEY``; sets it there too
  (``attach_span``: a request's span, and the recorder's prediction, made
  current with one ``Context`` built instead of two).
- :mod:`~mlotel.fastpath.span_encoding` replaces the SDK's OTLP span encoder
  (``encode_spans``) in the gRPC exporter by overriding its private
  ``_translate_data``, with a request written in protobuf's wire format
  (:mod:`~mlotel.fastpath.span_request`, :mod:`~mlotel.fastpath.span_attributes`,
  :mod:`~mlotel.fastpath.otlp_wire`), which it hands to a stub without a
  serializer (the exporter's private ``_stub``, ``_client``, ``_channel``).
  The encoder reads a ``LeanSpan``'s ``ReadableSpan`` private fields (listed
  above) and a ``SpanContext`` as the tuple it is. Where ``mlotel_native``
  is installed (``mlotel[native]``, Rust, built from source by ``make
  install``) and ``MLOTEL_NATIVE`` is not ``false``, it writes the plain
  ``LeanSpan`` s itself, reading the same fields, and hands every other span
  to the Python encoder, which stays the reference (the same bytes, tested
  on both); without it, the Python encoder alone.
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
- :mod:`~mlotel.fastpath.log_export` ships Python log records
  (``OTEL_LOGS_EXPORTER``) through the SDK's logs API, which is still private
  (``opentelemetry.sdk._logs``); not a saving, here for the same reason as
  the others: where this package is not used, neither is that API.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version

from packaging.specifiers import SpecifierSet

_logger = logging.getLogger(__name__)

# The releases whose private names the modules here are tested against: the SDK (spans,
# span processors), the OTLP exporters' shared code (self-metrics) and the gRPC exporter (encoder).
TESTED_WITH: dict[str, SpecifierSet] = {
    "opentelemetry-sdk": SpecifierSet("~=1.45.0"),
    "opentelemetry-exporter-otlp-proto-common": SpecifierSet("~=1.45.0"),
    "opentelemetry-exporter-otlp-proto-grpc": SpecifierSet("~=1.45.0"),
}


def untested(installed: Mapping[str, str | None]) -> dict[str, str | None]:
    """The distributions of ``installed`` (name -> version, None if absent) outside :data:`TESTED_WITH`."""
    return {
        name: found for name, found in installed.items()
        if name in TESTED_WITH and (found is None or not TESTED_WITH[name].contains(found, prereleases=True))
    }


def _installed() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in TESTED_WITH:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


@functools.cache
def supported() -> bool:
    """Whether the installed SDK is one the fast path is tested with; says once, in a warning, when not."""
    outside = untested(_installed())
    if outside:
        _logger.warning(
            "mlotel: MLOTEL_FASTPATH is on but %s %s not among the releases it is tested with (%s); "
            "using the SDK's public APIs instead",
            ", ".join(f"{name} {found or '(absent)'}" for name, found in outside.items()),
            "is" if len(outside) == 1 else "are",
            ", ".join(f"{name}{spec}" for name, spec in TESTED_WITH.items() if name in outside),
        )
    return not outside
