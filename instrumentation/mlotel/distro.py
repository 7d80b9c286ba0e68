"""mlotel as the distro and configurator of ``opentelemetry-instrument``.

Usage::

    opentelemetry-instrument python -m my_model_server

With mlotel installed, the launcher finds :class:`MlotelDistro` (entry point
``opentelemetry_distro``) and :class:`MlotelConfigurator`
(``opentelemetry_configurator``), both named ``mlotel``, and mlotel's
instrumentor (``opentelemetry_instrumentor``, ``mlotel_http``). The configurator
installs mlotel's providers, exactly as :func:`~mlotel.setup_telemetry`
does from the same ``OTEL_*`` and ``MLOTEL_*`` variables (mlotel's batching,
Views, measurement queue, system metrics and logging), before any
instrumentor runs and before the app's code; an app that calls
``setup_telemetry`` itself then reuses them. The distro loads the other
instrumentors as the launcher would, except:

- ``fastapi`` (opentelemetry-instrumentation-fastapi): mlotel's own
  instrumentor (:mod:`mlotel.instrumentor`) gives each request its
  one server span and ``http.server.request.duration``; a second server
  span per request would split traces and double the HTTP metrics.
- ``system_metrics`` (opentelemetry-instrumentation-system-metrics): mlotel
  reports the process and host metrics itself, under the current semantic
  conventions' attribute names (:mod:`mlotel.system_metrics`); contrib's would
  report the same instruments again under the old ones.
- an instrumentor that the configurator already instrumented (``logging``):
  constructing it again re-runs its ``__init__`` on the shared instance,
  which replaces the configuration it was set up with.

The configurator registers the final export (flush and shut down) at exit,
and makes SIGTERM such an exit where the program has no handler of its own.

``OTEL_PYTHON_DISTRO`` / ``OTEL_PYTHON_CONFIGURATOR`` choose another distro
or configurator where several are installed; mlotel's middleware then finds
that distro's server span active and adds its attributes to it instead of
starting another.
"""

from __future__ import annotations

import atexit
import logging
import signal
from importlib.metadata import EntryPoint
from types import FrameType
from typing import Any

from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]  # not in its __all__

from mlotel.instrumentor import MlotelInstrumentor
from mlotel.setup import instrumented_by_mlotel, setup_telemetry
from mlotel.system_metrics import SystemMetrics

_logger = logging.getLogger(__name__)
# Contrib instrumentors whose part mlotel does itself: its instrumentor, its system metrics.
REPLACED: dict[str, type] = {"fastapi": MlotelInstrumentor, "system_metrics": SystemMetrics}


class MlotelDistro(BaseDistro):
    """Loads the launcher's instrumentors, leaving out what mlotel does itself."""

    def _configure(self, **kwargs: Any) -> None:
        pass  # no defaults to set: mlotel's are in its TelemetryConfig, and the environment is left alone

    def load_instrumentor(self, entry_point: EntryPoint, **kwargs: Any) -> None:
        if entry_point.name in REPLACED:
            _logger.debug("%s left out: mlotel's %s does its part", entry_point.value, REPLACED[entry_point.name].__name__)
            return
        instrumentor = entry_point.load()
        if instrumented_by_mlotel(instrumentor):
            _logger.debug("%s left out: already instrumented", entry_point.value)
            return
        instrumentor().instrument(**kwargs)


class MlotelConfigurator:
    """Installs mlotel's providers for ``opentelemetry-instrument``.

    Not a subclass of the SDK's ``_BaseConfigurator`` (private): the launcher
    only calls ``configure(**kwargs)`` on what the entry point names.
    """

    def configure(self, **kwargs: Any) -> None:
        telemetry = setup_telemetry()
        atexit.register(telemetry.shutdown)  # the queued measurements, the last spans and metrics
        _exit_on_sigterm()


def _exit_on_sigterm() -> None:
    """Make SIGTERM an exit that runs ``atexit`` (the final export), where nothing else handles it.

    Python's default for SIGTERM ends the process at once, atexit unrun: a batch
    job or a plain server stopped by its supervisor would lose every metric since
    the last export. An app that installs its own handler later (uvicorn does)
    replaces this one and exits cleanly itself, which runs atexit too.
    """
    try:
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _raise_exit)
    except ValueError:  # not the main thread: signals are not ours to set
        pass


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # as the shell reports a process ended by the signal
