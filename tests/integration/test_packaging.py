"""The library installs alone: its wheel, pip-installed into a fresh venv from PyPI, brings
OpenTelemetry and nothing of the services, and no wheel of the workspace puts a generic
top-level package (``instrumentation``, ``ml_api``, ...) into site-packages."""

import json
import subprocess
import sys
import time
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

from harness.processes import ROOT

pytestmark = pytest.mark.integration

UV = ROOT / ".build" / "uv" / "bin" / "uv"
PACKAGES = {"mlotel_contract", "mlotel", "mlotel_native", "mlotel_backends", "mlotel_service_kit", "mlotel_model_server", "mlotel_alerting",
            "mlotel_console"}
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
    # Every entry point the project declares, the instrumentors of other people's libraries and servers included.
    declared = tomllib.loads((ROOT / "instrumentation" / "pyproject.toml").read_text())["project"]["entry-points"]
    expected = {value for group in declared.values() for value in group.values()}
    assert {"mlotel.instrumentor:MlotelInstrumentor", "mlotel.distro:MlotelDistro", "mlotel.distro:MlotelConfigurator"} <= expected
    probe = f"""
import importlib.metadata, importlib.util
import mlotel, mlotel.distro, mlotel.instrumentor, mlotel_contract
points = {{ep.value for group in ("opentelemetry_instrumentor", "opentelemetry_distro", "opentelemetry_configurator")
          for ep in importlib.metadata.entry_points(group=group) if ep.value.startswith("mlotel")}}
assert points == set({sorted(expected)!r}), points
for generic in ("instrumentation", "ml_api", "alerting", "backends", "service_kit", "console", "fastapi"):
    assert importlib.util.find_spec(generic) is None, generic
"""
    # Outside the repository, so nothing of the working tree is on sys.path.
    subprocess.run([str(python), "-c", probe], cwd=tmp_path, check=True)


@pytest.mark.parametrize(("wheel_name", "probe"), [
    ("mlotel_alerting", "import mlotel_alerting.main; mlotel_alerting.main.create_app()"),
    ("mlotel_console", "import mlotel_console.clients, mlotel_console.model_data"),
])
def test_the_alert_rule_service_and_the_console_install_without_the_sdk(wheels, tmp_path, wheel_name, probe):
    """They read names from the contract, not the library: neither the SDK nor mlotel comes along,
    and what they import at start loads no SDK module."""
    (wheel,) = wheels.glob(f"{wheel_name}-*.whl")
    env = tmp_path / "venv"
    subprocess.run([str(UV), "venv", "-q", "--python", sys.executable, str(env)], check=True)
    python = env / "bin" / "python"
    subprocess.run([str(UV), "pip", "install", "-q", "--python", str(python), "--find-links", str(wheels), str(wheel)],
                   check=True)
    listed = subprocess.run([str(UV), "pip", "list", "--format", "json", "--python", str(python)],
                            check=True, capture_output=True, text=True).stdout
    installed = {item["name"].lower().replace("_", "-") for item in json.loads(listed)}
    assert "opentelemetry-sdk" not in installed and "mlotel" not in installed
    assert "mlotel-contract" in installed
    check = f"import sys; {probe}; assert not [m for m in sys.modules if m.startswith('opentelemetry.sdk')]"
    subprocess.run([str(python), "-c", check], cwd=tmp_path, check=True)
