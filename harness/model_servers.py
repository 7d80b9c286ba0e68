"""KServe, MLServer and BentoML from PyPI, each serving the iris model as its users serve one,
started under ``opentelemetry-instrument`` from a throwaway venv on free ports of 127.0.0.1: for
tests/integrations (telemetry to an OTLP receiver) and scripts/screenshot_model_servers.py (to
the stack's collector). The programs and model files are in harness/model_server_apps/."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.processes import free_port, stop, wait_healthy

APPS = Path(__file__).parent / "model_server_apps"
# The iris rows each request sends: one of each class, so that the labels differ.
IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [7.7, 3.0, 6.1, 2.3]]


@dataclass
class Served:
    """A server's command and environment, where it is ready, and how to ask it for one prediction."""

    args: list[str]
    env: dict[str, str]
    ready_path: str
    predict: Callable[[str, dict[str, str]], httpx.Response]  # (base URL, headers) -> response
    model: str  # the model name the server knows
    version: str  # and its version


def kserve(venv: Path, workdir: Path) -> Served:
    port = free_port()
    return Served(
        ["python", str(APPS / "kserve_iris.py"), "--http_port", str(port), "--grpc_port", str(free_port())],
        {"MLOTEL_MODEL_VERSION": "2026-12"},  # as a KServe user gives it: KServe has no model versions
        f":{port}/v1/models/iris",
        lambda base, headers: httpx.post(f"{base}/v1/models/iris:predict", json={"instances": IRIS_ROWS}, headers=headers, timeout=30),
        "iris", "2026-12",
    )


def mlserver(venv: Path, workdir: Path) -> Served:
    models = workdir / "models"
    shutil.copytree(APPS / "mlserver_models", models)
    subprocess.run([str(venv / "bin" / "python"), str(APPS / "train_iris.py"), str(models / "iris")], check=True)
    port = free_port()
    request = {
        "inputs": [{"name": "features", "shape": [len(IRIS_ROWS), 4], "datatype": "FP64", "data": sum(IRIS_ROWS, [])}],
        "outputs": [{"name": "predict_proba"}],
    }
    return Served(
        ["mlserver", "start", str(models)],
        {"MLSERVER_HTTP_PORT": str(port), "MLSERVER_GRPC_PORT": str(free_port()), "MLSERVER_METRICS_PORT": str(free_port())},
        f":{port}/v2/models/iris/ready",
        lambda base, headers: httpx.post(f"{base}/v2/models/iris/infer", json=request, headers=headers, timeout=30),
        "iris", "v1",  # model-settings.json's
    )


def bentoml(venv: Path, workdir: Path) -> Served:
    env = {"BENTOML_HOME": str(workdir / "bentoml"), "BENTOML_DO_NOT_TRACK": "true"}
    saved = subprocess.run([str(venv / "bin" / "python"), str(APPS / "bentoml_save.py")], cwd=APPS,
                           env={**os.environ, **env}, check=True, capture_output=True, text=True)
    name, version = saved.stdout.strip().splitlines()[-1].split(":")
    port = free_port()
    return Served(
        ["bentoml", "serve", "bentoml_service:IrisClassifier", "--working-dir", str(APPS), "--host", "127.0.0.1", "--port", str(port)],
        env,
        f":{port}/readyz",
        lambda base, headers: httpx.post(f"{base}/classify", json={"instances": IRIS_ROWS}, headers=headers, timeout=30),
        name, version,  # the model store's tag
    )


SERVERS: dict[str, Callable[[Path, Path], Served]] = {"kserve": kserve, "mlserver": mlserver, "bentoml": bentoml}


@contextmanager
def running(venv: Path, served: Served, workdir: Path, env: dict[str, str]) -> Iterator[str]:
    """The server under ``opentelemetry-instrument`` until the block ends; yields its base URL."""
    inherited = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH") and not k.startswith(("OTEL_", "MLOTEL_"))}
    full_env = {**inherited, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", **served.env, **env}
    port = served.ready_path.split("/", 1)[0]
    base = f"http://127.0.0.1{port}"
    with open(workdir / "server.log", "w") as log:
        process = subprocess.Popen([str(venv / "bin" / "opentelemetry-instrument"), *served.args], cwd=workdir, env=full_env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_healthy(f"http://127.0.0.1{served.ready_path}", timeout=180, process=process)
            yield base
        finally:
            stop(process)
