"""Throwaway virtual environments holding mlotel and someone else's package from PyPI,
and a program run in one under ``opentelemetry-instrument``, its telemetry sent to a real
OTLP receiver. Made with uv (its cache makes a second environment seconds), as
``scripts/test_sdk_range.sh`` makes its own; needs PyPI, so never inside a network namespace.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

import mlotel_contract as contract
from harness.otlp_receiver import OtlpReceiver, attributes
from harness.processes import ROOT

UV = os.environ.get("UV", str(ROOT / ".build" / "uv" / "bin" / "uv"))
PYTHON = os.environ.get("PYTHON", "python3")


def make_venv(parent: Path, requirements: tuple[str, ...]) -> Path:
    """A venv with mlotel (from this checkout) and the requirements; made once per requirement set."""
    venv = parent / hashlib.sha256(json.dumps(requirements).encode()).hexdigest()[:12]
    if not (venv / ".complete").exists():
        subprocess.run([UV, "venv", "-q", "--python", PYTHON, str(venv)], check=True)
        install = [UV, "pip", "install", "-q", str(ROOT / "contract"), str(ROOT / "instrumentation"), *requirements]
        subprocess.run(install, check=True, env={**os.environ, "VIRTUAL_ENV": str(venv)})
        (venv / ".complete").touch()
    return venv


def installed_version(venv: Path, distribution: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({distribution!r}))"
    return subprocess.run([str(venv / "bin" / "python"), "-c", code], check=True, capture_output=True, text=True).stdout.strip()


def run_instrumented(venv: Path, program: str, receiver: OtlpReceiver, workdir: Path, **env: str) -> str:
    """Run ``program`` under ``opentelemetry-instrument`` to its end (mlotel's distro flushes at exit); its stdout."""
    (workdir / "program.py").write_text(textwrap.dedent(program))
    environment = {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", str(workdir)),
        "OTEL_SERVICE_NAME": "model-library-test",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint("grpc"),
        "OTEL_METRIC_EXPORT_INTERVAL": "60000",  # one export, the final one: counts are the whole run's
        **env,
    }
    command = [str(venv / "bin" / "opentelemetry-instrument"), str(venv / "bin" / "python"), "program.py"]
    done = subprocess.run(command, cwd=workdir, env=environment, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return done.stdout


def predict_spans(receiver: OtlpReceiver) -> list[tuple[str, dict]]:
    """(name, attributes) of every prediction span received, in order."""
    return [(span.name, attributes(span.attributes)) for _, _, span in receiver.spans() if span.name.startswith("predict ")]


def points(receiver: OtlpReceiver, name: str) -> list[tuple[dict, object]]:
    """(attributes, point) of a metric's data points, histogram or sum, in the last export (cumulative)."""
    found = []
    for _, _, metric in receiver.metrics(name)[-1:]:
        data = getattr(metric, metric.WhichOneof("data"))
        found.extend((attributes(p.attributes), p) for p in data.data_points)
    return found


@dataclass
class Emitted:
    """What a program printed, and the prediction spans and ML metric points a receiver got from it."""

    stdout: str
    spans: list[tuple[str, dict]]
    points: dict[str, list[tuple[dict, object]]]


ML_METRICS = (contract.CONFIDENCE, contract.PREDICTIONS, contract.PREDICTION_DURATION, contract.BATCH_SIZE)


def emitted_by(venv: Path, program: str, workdir: Path, **env: str) -> Emitted:
    """Run ``program`` under ``opentelemetry-instrument`` against a receiver of its own, to its end."""
    with OtlpReceiver() as receiver:
        stdout = run_instrumented(venv, program, receiver, workdir, **env)
        return Emitted(stdout, predict_spans(receiver), {name: points(receiver, name) for name in ML_METRICS})
