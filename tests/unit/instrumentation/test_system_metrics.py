"""Process and host metrics under the current semantic conventions' names and attributes, once per process."""

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.semconv._incubating.attributes.cpu_attributes import CPU_LOGICAL_NUMBER, CPU_MODE, CpuModeValues
from opentelemetry.semconv._incubating.attributes.disk_attributes import DISK_IO_DIRECTION, DiskIoDirectionValues
from opentelemetry.semconv._incubating.attributes.system_attributes import (
    SYSTEM_DEVICE,
    SYSTEM_MEMORY_STATE,
    SystemMemoryStateValues,
)
from opentelemetry.semconv._incubating.metrics.process_metrics import (
    PROCESS_CPU_TIME,
    PROCESS_CPU_UTILIZATION,
    PROCESS_MEMORY_USAGE,
    PROCESS_MEMORY_VIRTUAL,
    PROCESS_THREAD_COUNT,
)
from opentelemetry.semconv._incubating.metrics.system_metrics import SYSTEM_CPU_UTILIZATION, SYSTEM_DISK_IO, SYSTEM_MEMORY_USAGE

import mlotel_contract as metrics_contract
from mlotel import TelemetryConfig, setup_telemetry, system_metrics


def _points(reader: InMemoryMetricReader) -> dict[str, list]:
    found: dict[str, list] = {}
    data = reader.get_metrics_data()  # None when nothing was recorded, on older SDKs
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


def _attribute_keys(points) -> set[tuple[str, ...]]:
    return {tuple(sorted(p.attributes)) for p in points}


def test_names_and_attributes_are_the_semantic_conventions():
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    stop = system_metrics.start(provider)
    try:
        reader.get_metrics_data()  # the first collection: process.cpu.utilization has nothing to compare with yet
        sum(range(200_000))  # some CPU time to measure
        points = _points(reader)
    finally:
        stop()
        provider.shutdown()
    assert set(points) == {PROCESS_CPU_TIME, PROCESS_CPU_UTILIZATION, PROCESS_MEMORY_USAGE, PROCESS_MEMORY_VIRTUAL,
                           PROCESS_THREAD_COUNT, SYSTEM_CPU_UTILIZATION, SYSTEM_MEMORY_USAGE, SYSTEM_DISK_IO} - (
        set() if points.get(SYSTEM_DISK_IO) else {SYSTEM_DISK_IO})  # a container may show no block device
    modes = {m.value for m in CpuModeValues}
    for name in (PROCESS_CPU_TIME, PROCESS_CPU_UTILIZATION):
        assert _attribute_keys(points[name]) == {(CPU_MODE,)}
        assert {p.attributes[CPU_MODE] for p in points[name]} == {"user", "system"}
    assert all(0 <= p.value <= 1 for p in points[PROCESS_CPU_UTILIZATION])
    assert sum(p.value for p in points[PROCESS_CPU_TIME]) > 0
    assert _attribute_keys(points[SYSTEM_CPU_UTILIZATION]) == {tuple(sorted((CPU_MODE, CPU_LOGICAL_NUMBER)))}
    assert {p.attributes[CPU_MODE] for p in points[SYSTEM_CPU_UTILIZATION]} <= modes
    assert {"user", "system", "idle"} <= {p.attributes[CPU_MODE] for p in points[SYSTEM_CPU_UTILIZATION]}
    assert _attribute_keys(points[SYSTEM_MEMORY_USAGE]) == {(SYSTEM_MEMORY_STATE,)}
    assert {p.attributes[SYSTEM_MEMORY_STATE] for p in points[SYSTEM_MEMORY_USAGE]} <= {s.value for s in SystemMemoryStateValues}
    for point in points.get(SYSTEM_DISK_IO, []):
        assert set(point.attributes) == {DISK_IO_DIRECTION, SYSTEM_DEVICE}
        assert point.attributes[DISK_IO_DIRECTION] in {d.value for d in DiskIoDirectionValues}
    (rss,) = points[PROCESS_MEMORY_USAGE]
    assert rss.value > 10 * 2**20 and not rss.attributes


def test_the_contracts_labels_are_the_attributes_as_prometheus_spells_them():
    assert metrics_contract.CPU_MODE == CPU_MODE.replace(".", "_")
    assert metrics_contract.MEMORY_STATE == SYSTEM_MEMORY_STATE.replace(".", "_")
    assert metrics_contract.DISK_DIRECTION == DISK_IO_DIRECTION.replace(".", "_")
    assert metrics_contract.PROM_SYSTEM_CPU == SYSTEM_CPU_UTILIZATION.replace(".", "_") + "_ratio"
    assert metrics_contract.PROM_PROCESS_CPU == PROCESS_CPU_UTILIZATION.replace(".", "_") + "_ratio"
    assert metrics_contract.PROM_SYSTEM_MEMORY == SYSTEM_MEMORY_USAGE.replace(".", "_") + "_bytes"
    assert metrics_contract.PROM_SYSTEM_DISK_IO == SYSTEM_DISK_IO.replace(".", "_") + "_bytes_total"
    assert metrics_contract.host_cpu() == 'avg by (cpu_mode) (system_cpu_utilization_ratio{job="ml-api"})'


def test_once_per_process():
    first = setup_telemetry(TelemetryConfig.from_env({}), span_processors=[], metric_readers=[reader := InMemoryMetricReader()])
    try:
        assert PROCESS_MEMORY_USAGE in _points(reader)
        assert system_metrics.start(MeterProvider()) is None  # already reporting
    finally:
        first.shutdown()
    assert system_metrics.start(MeterProvider()) is not None  # stopped with its telemetry
    system_metrics.stop()


def test_off_by_the_toggle():
    config = TelemetryConfig.from_env({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "system_metrics"})
    off = setup_telemetry(config, span_processors=[], metric_readers=[reader := InMemoryMetricReader()])
    try:
        off.meter_provider.get_meter("t").create_counter("collected").add(1)
        points = _points(reader)
        assert "collected" in points  # collected, and nothing of the host in it
        assert not any(name.startswith(("process.", "system.")) for name in points)
    finally:
        off.shutdown()
