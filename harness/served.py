"""A model server from PyPI (harness/model_servers.py) run under ``opentelemetry-instrument``,
exporting to a real OTLP receiver; and what every server's test asserts on what it received."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import mlotel_contract as contract
from harness.model_servers import SERVERS, Served, running
from harness.otlp_receiver import OtlpReceiver, attributes
from harness.processes import poll_until
from harness.throwaway_venvs import installed_version, points

SERVER_KIND = 2  # OTLP's SPAN_KIND_SERVER


# MLServer 1.7 races itself at shutdown removing its metrics files (mlserver/metrics/prometheus.py,
# stop_metrics: FileNotFoundError for a .metrics/*.db already gone): its own, not mlotel's, and not every time.
_UPSTREAM_SHUTDOWN_RACE = re.compile(
    r"Traceback \(most recent call last\):\n(?:[ \t][^\n]*\n)*?(?=[^\n]*mlserver/metrics/)(?:[ \t][^\n]*\n)*?"
    r"FileNotFoundError: [^\n]*/\.metrics/[^\n]*\.db'\n"
)


@contextmanager
def served(server: str, venv: Path, workdir: Path, env: dict[str, str] | None = None) -> Iterator[tuple[OtlpReceiver, str, Served]]:
    """The server running, exporting to the receiver yielded with its base URL and launch."""
    print(f"{server} {installed_version(venv, server)}")
    launch = SERVERS[server](venv, workdir)
    with OtlpReceiver() as receiver:
        exporting = {"OTEL_SERVICE_NAME": "served-model", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint("grpc"),
                     "OTEL_METRIC_EXPORT_INTERVAL": "300", **(env or {})}
        with running(venv, launch, workdir, exporting) as base:
            yield receiver, base, launch
    assert "Traceback" not in _UPSTREAM_SHUTDOWN_RACE.sub("", (workdir / "server.log").read_text())


@dataclass
class Received:
    server: object
    predict: object


def predictions(receiver: OtlpReceiver, model: str, requests: int) -> list[Received]:
    """Each traced request's server span and its one ``predict <model>`` span, once all ``requests`` are in."""

    def complete():
        by_trace: dict[bytes, list] = {}
        for _, _, span in receiver.spans():
            by_trace.setdefault(span.trace_id, []).append(span)
        found = [spans for spans in by_trace.values() if any(s.name == f"predict {model}" for s in spans)]
        return found if len(found) >= requests and all(any(s.kind == SERVER_KIND for s in spans) for spans in found) else None

    received = []
    for spans in poll_until(complete, timeout=60):
        (server,) = [s for s in spans if s.kind == SERVER_KIND]
        (predict,) = [s for s in spans if s.name.startswith("predict ")]  # one prediction per request, not two
        received.append(Received(server, predict))
    # Nor one elsewhere: the model library's call adds to the server's prediction (or, in another process, is left alone).
    assert {s.name for _, _, s in receiver.spans() if s.name.startswith("predict ")} == {f"predict {model}"}
    return received


def metric_points(receiver: OtlpReceiver, name: str, model: str) -> list:
    """The last export's points of ``name`` for ``model`` (cumulative temporality: the last is the total)."""
    return [p for found, p in points(receiver, name) if found.get("ml.model.name") == model]


def assert_ml_metrics(receiver: OtlpReceiver, model: str, version: str, requests: int, instances: int, labels: set[str]) -> None:
    """The recorder's metrics, exactly: one duration per request, one confidence and count per instance."""

    def all_in():
        durations = metric_points(receiver, contract.PREDICTION_DURATION, model)
        return durations if sum(p.count for p in durations) >= requests else None

    durations = poll_until(all_in, timeout=30)
    assert sum(p.count for p in durations) == requests
    assert {attributes(p.attributes)["ml.model.version"] for p in durations} == {version}
    assert {tuple(p.explicit_bounds) for p in durations} == {contract.DURATION_BUCKETS}

    batch = poll_until(lambda: metric_points(receiver, contract.BATCH_SIZE, model))
    assert sum(p.sum for p in batch) == instances and sum(p.count for p in batch) == requests

    confidence = poll_until(lambda: metric_points(receiver, contract.CONFIDENCE, model))
    assert {tuple(p.explicit_bounds) for p in confidence} == {contract.CONFIDENCE_BUCKETS}
    assert sum(p.count for p in confidence) == instances
    assert {attributes(p.attributes)["ml.prediction.label"] for p in confidence} == labels
    assert all(0 < p.sum / p.count <= 1 for p in confidence)

    counted = poll_until(lambda: metric_points(receiver, contract.PREDICTIONS, model))
    assert sum(p.as_int for p in counted) == instances
    assert {attributes(p.attributes)["ml.model.version"] for p in counted} == {version}


def assert_prediction_span(received: Received, model: str, version: str, batch_size: int) -> dict:
    """The predict span is the server span's child and names the model; returns its attributes."""
    assert received.predict.name == f"predict {model}"
    assert received.predict.parent_span_id == received.server.span_id
    assert received.predict.trace_id == received.server.trace_id
    found = attributes(received.predict.attributes)
    assert found["ml.model.name"] == model
    assert found["ml.model.version"] == version
    assert found["ml.batch.size"] == batch_size
    assert 0 < found["ml.prediction.confidence.min"] <= found["ml.prediction.confidence.max"] <= 1
    return found
