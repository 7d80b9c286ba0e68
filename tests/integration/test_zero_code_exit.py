"""A batch job under ``opentelemetry-instrument`` exports what it measured when it ends, however it ends:
at its own exit, and stopped by SIGTERM (as a supervisor or Kubernetes stops it), exported to a real
OTLP receiver long before the next periodic export would have been due."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.otlp_receiver import OtlpReceiver
from harness.processes import ROOT, poll_until
from mlotel_contract import PREDICTIONS

pytestmark = pytest.mark.integration

JOB = '''
import sys, time
from mlotel import PredictionRecorder

recorder = PredictionRecorder()
with recorder.predict("toy", "1", batch_size=2) as prediction:
    prediction.set_results(["yes", "no"], [0.9, 0.4])
print("predicted", flush=True)
if sys.argv[1:] == ["wait"]:
    time.sleep(120)  # until stopped
'''
HOST_METRICS = ("process.cpu.time", "process.memory.usage", "system.memory.usage")


def _run_job(tmp_path: Path, receiver: OtlpReceiver, *args: str, stop: bool) -> tuple[int, str]:
    (tmp_path / "job.py").write_text(textwrap.dedent(JOB))
    launcher = Path(sys.executable).with_name("opentelemetry-instrument")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint("grpc"),
        "OTEL_METRIC_EXPORT_INTERVAL": "600000",  # no periodic export during the test: only the final one
    }
    env.pop("OTEL_SERVICE_NAME", None)
    process = subprocess.Popen([str(launcher), sys.executable, "job.py", *args], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    if stop:
        assert process.stdout.readline().strip() == "predicted"
        process.send_signal(signal.SIGTERM)
    output = process.stdout.read()
    return process.wait(timeout=60), output


def test_sigterm_exports_the_metrics_since_the_last_export(tmp_path):
    with OtlpReceiver() as receiver:
        code, output = _run_job(tmp_path, receiver, "wait", stop=True)
        # Ended as by the signal (128 + 15), after the final export.
        assert code == 128 + signal.SIGTERM, output
        exported = poll_until(lambda: receiver.metrics(PREDICTIONS), timeout=10)
        assert sum(p.as_int for _, _, metric in exported for p in metric.sum.data_points) == 2
        assert poll_until(lambda: receiver.spans(), timeout=10)
    assert "Traceback" not in output, output


def test_a_short_process_exports_its_process_and_host_metrics_and_says_no_service_name(tmp_path):
    with OtlpReceiver() as receiver:
        code, output = _run_job(tmp_path, receiver, stop=False)
        assert code == 0, output
        for name in HOST_METRICS:
            assert poll_until(lambda name=name: receiver.metrics(name), timeout=10), name
        ((_, resource, _), *_) = receiver.metrics(PREDICTIONS)
        # Without OTEL_SERVICE_NAME the SDK's default, as docs/getting-started.md says.
        assert resource["service.name"] == "unknown_service"
