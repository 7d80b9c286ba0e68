"""The library installs alone: its wheel, pip-installed into a fresh venv from PyPI, brings
OpenTelemetry and nothing of the services, and no wheel of the workspace puts a generic
top-level package (``instrumentation``, ``ml_api``, ...) into site-packages."""

import json
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path

import pytest

from harness.processes import ROOT

pytestmark = pytest.mark.integration

UV = ROOT / ".build" / "uv" / "bin" / "uv"
PACKAGES = {"mlotel_contract", "mlotel", "mlotel_backends", "mlotel_service_kit", "mlotel_model_server", "mlotel_alerting", "mlotel_console"}
# What the services need and the library must not pull in.
SERVICE_ONLY = {"scikit-learn", "numpy", "jinja2", "promql-parser", "prometheus-client", "tqdm", "joblib",
                "streamlit", "plotly", "pandas", "fastapi", "starlette", "uvicorn", "httpx", "pydantic-settings",
                "fastapi-offline", "pyyaml"}


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run([str(UV), "build", "--all-packages", "--wheel", "--out-dir", str(out)], cwd=ROOT, check=True,
                   capture_output=True)
    return out


def _top_level(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name.split("/")[0] for name in archive.namelist() if ".dist-info/" not in name}


def test_every_wheel_holds_only_its_namespaced_package(wheels):
    tops = {wheel.name.split("-")[0]: _top_level(wheel) for wheel in wheels.glob("*.whl")}
    assert set(tops) == PACKAGES
    for distribution, top in tops.items():
        assert top == {distribution}, distribution


def test_the_library_installs_alone_with_opentelemetry_only(wheels, tmp_path):
    (wheel,) = wheels.glob("mlotel-*.whl")
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    started = time.monotonic()
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--find-links", str(wheels), str(wheel)], check=True)
    seconds = time.monotonic() - started
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format", "json", "--disable-pip-version-check"],
                            check=True, capture_output=True, text=True).stdout
    installed = {item["name"].lower().replace("_", "-") for item in json.loads(listed)}
    print(f"\nmlotel wheel {wheel.stat().st_size / 1024:.0f} KiB, installed alone in {seconds:.1f} s: "
          f"{len(installed)} distributions: {', '.join(sorted(installed))}", file=sys.stderr)
    assert not installed & SERVICE_ONLY
    assert {name for name in installed if name.startswith("mlotel")} == {"mlotel", "mlotel-contract"}
    probe = """
import importlib.metadata, importlib.util
import mlotel, mlotel.distro, mlotel.instrumentor, mlotel_contract
points = {ep.value for group in ("opentelemetry_instrumentor", "opentelemetry_distro", "opentelemetry_configurator")
          for ep in importlib.metadata.entry_points(group=group) if ep.value.startswith("mlotel")}
assert points == {"mlotel.instrumentor:MlotelInstrumentor", "mlotel.distro:MlotelDistro",
                  "mlotel.distro:MlotelConfigurator"}, points
for generic in ("instrumentation", "ml_api", "alerting", "backends", "service_kit", "console", "fastapi"):
    assert importlib.util.find_spec(generic) is None, generic
"""
    # Outside the repository, so nothing of the working tree is on sys.path.
    subprocess.run([str(python), "-c", probe], cwd=tmp_path, check=True)
