"""Process and host metrics under the current semantic conventions' names.

The contrib system-metrics instrumentation (``opentelemetry-instrumentation-
system-metrics``, 0.66b0 and its main branch as of 2026-08) still labels its
points with the names semantic conventions replaced: ``state`` for what is now
``cpu.mode`` and ``system.memory.state``, ``direction`` for
``disk.io.direction``, ``type`` on ``process.cpu.time``, and it has no switch to
the new ones. mlotel reads the few metrics its console and dashboards use
with psutil (what the contrib instrumentation reads them with) and reports them
as observable instruments named and labelled from
``opentelemetry-semantic-conventions``:

- ``process.cpu.time`` (``cpu.mode``: user, system), ``process.cpu.utilization``
  (``cpu.mode``; the change in CPU time since the last collection over the
  elapsed time and the number of CPUs), ``process.memory.usage`` (resident),
  ``process.memory.virtual``, ``process.thread.count``;
- ``system.cpu.utilization`` (``cpu.mode``, ``cpu.logical_number``),
  ``system.memory.usage`` (``system.memory.state``: used, free, buffers,
  cached), ``system.disk.io`` (``disk.io.direction``, ``system.device``).

Switched off with ``system_metrics`` in ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS``.
Started once per process; where the contrib instrumentation is already
instrumented (another distro set it up), mlotel leaves the host to it rather
than report the same instruments twice (found with ``MLOTEL_FASTPATH`` only:
see :func:`contrib_instrumented`). They are observed at the providers' last
collection too, so a short process (a batch job) exports them at exit.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import psutil
from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.semconv._incubating.attributes.cpu_attributes import CPU_LOGICAL_NUMBER, CPU_MODE, CpuModeValues
from opentelemetry.semconv._incubating.attributes.disk_attributes import DISK_IO_DIRECTION, DiskIoDirectionValues
from opentelemetry.semconv._incubating.attributes.system_attributes import (
    SYSTEM_DEVICE,
    SYSTEM_MEMORY_STATE,
    SystemMemoryStateValues,
)
from opentelemetry.semconv._incubating.metrics.process_metrics import (
    PROCESS_CPU_TIME,
    PROCESS_MEMORY_USAGE,
    PROCESS_MEMORY_VIRTUAL,
    PROCESS_THREAD_COUNT,
    create_process_cpu_utilization,
)
from opentelemetry.semconv._incubating.metrics.system_metrics import (
    SYSTEM_DISK_IO,
    SYSTEM_MEMORY_USAGE,
    create_system_cpu_utilization,
)

from mlotel.semconv import SCHEMA_URL, __version__

SCOPE = "mlotel.system"
# psutil's names for the host's CPU time -> cpu.mode (irq and softirq are both "interrupt").
_HOST_CPU_MODES = {
    "user": CpuModeValues.USER.value,
    "nice": CpuModeValues.NICE.value,
    "system": CpuModeValues.SYSTEM.value,
    "idle": CpuModeValues.IDLE.value,
    "iowait": CpuModeValues.IOWAIT.value,
    "irq": CpuModeValues.INTERRUPT.value,
    "softirq": CpuModeValues.INTERRUPT.value,
    "steal": CpuModeValues.STEAL.value,
}
_PROCESS_CPU_MODES = {"user": CpuModeValues.USER.value, "system": CpuModeValues.SYSTEM.value}
_MEMORY_STATES = tuple(
    s.value for s in (SystemMemoryStateValues.USED, SystemMemoryStateValues.FREE, SystemMemoryStateValues.BUFFERS,
                      SystemMemoryStateValues.CACHED)
)
_DISK_DIRECTIONS = {"read_bytes": DiskIoDirectionValues.READ.value, "write_bytes": DiskIoDirectionValues.WRITE.value}

_started: SystemMetrics | None = None
_start_lock = threading.Lock()


def contrib_instrumented() -> bool:
    """Whether the contrib instrumentation reports them already (it is imported only if something used it).

    Read from its private shared instance (``BaseInstrumentor._instance``;
    constructing it would reconfigure it): asked only where private names are
    used at all, with :mod:`mlotel.fastpath` (``MLOTEL_FASTPATH`` on a tested SDK).
    """
    module = sys.modules.get("opentelemetry.instrumentation.system_metrics")
    instance = getattr(getattr(module, "SystemMetricsInstrumentor", None), "_instance", None)
    return instance is not None and instance.is_instrumented_by_opentelemetry


def start(meter_provider: metrics.MeterProvider, look_for_contrib: bool = True) -> Callable[[], None] | None:
    """Report the metrics through ``meter_provider``, once per process; the function that stops them, or None."""
    global _started
    with _start_lock:
        if _started is not None or (look_for_contrib and contrib_instrumented()):
            return None
        _started = SystemMetrics(meter_provider)
        return stop


def stop() -> None:
    """Stop reporting (the instruments stay registered, but observe nothing)."""
    global _started
    with _start_lock:
        if _started is not None:
            _started.stopped = True
            _started = None


class SystemMetrics:
    """The observable instruments and their callbacks; see the module docstring."""

    def __init__(self, meter_provider: metrics.MeterProvider) -> None:
        self.stopped = False
        self._process: psutil.Process | None = None
        self._pid = -1
        self._last_cpu: tuple[float, Any] | None = None  # (monotonic time, the process's cpu_times)
        meter = meter_provider.get_meter(SCOPE, __version__, schema_url=SCHEMA_URL)
        meter.create_observable_counter(
            PROCESS_CPU_TIME, [self._guarded(self._process_cpu_time)], unit="s",
            description="Total CPU seconds broken down by different CPU modes.",
        )
        create_process_cpu_utilization(meter, [self._guarded(self._process_cpu_utilization)])
        meter.create_observable_up_down_counter(
            PROCESS_MEMORY_USAGE, [self._guarded(self._process_memory("rss"))], unit="By",
            description="The amount of physical memory in use.",
        )
        meter.create_observable_up_down_counter(
            PROCESS_MEMORY_VIRTUAL, [self._guarded(self._process_memory("vms"))], unit="By",
            description="The amount of committed virtual memory.",
        )
        meter.create_observable_up_down_counter(
            PROCESS_THREAD_COUNT, [self._guarded(self._process_threads)], unit="{thread}", description="Process threads count.",
        )
        create_system_cpu_utilization(meter, [self._guarded(self._system_cpu_utilization)])
        meter.create_observable_up_down_counter(
            SYSTEM_MEMORY_USAGE, [self._guarded(self._system_memory)], unit="By", description="Reports memory in use by state.",
        )
        meter.create_observable_counter(
            SYSTEM_DISK_IO, [self._guarded(self._system_disk_io)], unit="By", description="Disk bytes transferred.",
        )

    def _guarded(self, callback: Callable[[], Iterable[Observation]]) -> Callable[[CallbackOptions], Iterator[Observation]]:
        def observe(options: CallbackOptions) -> Iterator[Observation]:
            if not self.stopped:
                yield from callback()

        return observe

    def _me(self) -> psutil.Process:
        # After a fork the child is another process: measure that one.
        pid = os.getpid()
        if self._process is None or pid != self._pid:
            self._process, self._pid, self._last_cpu = psutil.Process(pid), pid, None
        return self._process

    def _process_cpu_time(self) -> Iterator[Observation]:
        times = self._me().cpu_times()
        for field, mode in _PROCESS_CPU_MODES.items():
            yield Observation(getattr(times, field), {CPU_MODE: mode})

    def _process_cpu_utilization(self) -> Iterator[Observation]:
        process = self._me()
        now, times = time.monotonic(), process.cpu_times()
        last, self._last_cpu = self._last_cpu, (now, times)
        if last is None:
            return  # the first collection has nothing to compare with
        elapsed = (now - last[0]) * (psutil.cpu_count() or 1)
        if elapsed <= 0:
            return
        for field, mode in _PROCESS_CPU_MODES.items():
            # CPU time advances in clock ticks (10 ms): over a short interval one tick can exceed the
            # elapsed time, so the share is clamped to what utilization can be.
            used = max(0.0, getattr(times, field) - getattr(last[1], field))
            yield Observation(min(1.0, used / elapsed), {CPU_MODE: mode})

    def _process_memory(self, field: str) -> Callable[[], Iterator[Observation]]:
        def observe() -> Iterator[Observation]:
            yield Observation(getattr(self._me().memory_info(), field))

        return observe

    def _process_threads(self) -> Iterator[Observation]:
        yield Observation(self._me().num_threads())

    def _system_cpu_utilization(self) -> Iterator[Observation]:
        for number, times in enumerate(psutil.cpu_times_percent(percpu=True)):
            by_mode: dict[str, float] = {}
            for field, mode in _HOST_CPU_MODES.items():
                if hasattr(times, field):
                    by_mode[mode] = by_mode.get(mode, 0.0) + getattr(times, field) / 100
            for mode, value in by_mode.items():
                yield Observation(value, {CPU_MODE: mode, CPU_LOGICAL_NUMBER: number})

    def _system_memory(self) -> Iterator[Observation]:
        memory = psutil.virtual_memory()
        for state in _MEMORY_STATES:
            if hasattr(memory, state):
                yield Observation(getattr(memory, state), {SYSTEM_MEMORY_STATE: state})

    def _system_disk_io(self) -> Iterator[Observation]:
        for device, counters in (psutil.disk_io_counters(perdisk=True) or {}).items():
            for field, direction in _DISK_DIRECTIONS.items():
                yield Observation(getattr(counters, field), {DISK_IO_DIRECTION: direction, SYSTEM_DEVICE: device})
