"""The images of docs/model-servers.md: each model server's prediction in the console's trace page.

    TRACE_SAMPLING_PERCENT=100 make up     # the native stack, every trace kept
    .venv/bin/python scripts/screenshot_model_servers.py [kserve mlserver bentoml]

Each server (harness/model_servers.py, newest tested version, in a venv under
.build/model-server-venvs) runs under ``opentelemetry-instrument`` exporting to
the stack's collector, answers requests sent with a known trace id, and the
console's ``/trace`` page of the last one is saved as docs/images/<server>-trace.png
once Jaeger has it.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.browser import chromium, exceptions, open_rendered, screenshot  # noqa: E402
from harness.model_servers import SERVERS, running  # noqa: E402
from harness.processes import ROOT, poll_until  # noqa: E402
from harness.throwaway_venvs import make_venv  # noqa: E402
from tests.integrations import test_bentoml, test_kserve, test_mlserver  # noqa: E402

NEWEST = {"kserve": test_kserve.ENDS["newest"], "mlserver": test_mlserver.ENDS["newest"], "bentoml": test_bentoml.ENDS["newest"]}
COLLECTOR = "http://127.0.0.1:4317"
JAEGER = "http://127.0.0.1:16686"
CONSOLE = "http://127.0.0.1:8501"
REQUESTS = 5


def traced_request(server: str) -> str:
    """Run the server, send REQUESTS requests, return the last one's trace id once Jaeger has it."""
    venv = make_venv(ROOT / ".build" / "model-server-venvs", NEWEST[server])
    with tempfile.TemporaryDirectory() as workdir:
        launch = SERVERS[server](venv, Path(workdir))
        env = {"OTEL_SERVICE_NAME": server, "OTEL_EXPORTER_OTLP_ENDPOINT": COLLECTOR}
        with running(venv, launch, Path(workdir), env) as base:
            for _ in range(REQUESTS):
                trace_id = secrets.token_hex(16)
                response = launch.predict(base, {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})
                response.raise_for_status()
            poll_until(lambda: httpx.get(f"{JAEGER}/api/traces/{trace_id}").status_code == 200, timeout=60)
    return trace_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("servers", nargs="*", default=list(SERVERS))
    driver = chromium()
    try:
        for server in parser.parse_args().servers:
            trace_id = traced_request(server)
            open_rendered(driver, f"{CONSOLE}/trace?trace_id={trace_id}")
            assert not exceptions(driver), exceptions(driver)
            image = ROOT / "docs" / "images" / f"{server}-trace.png"
            shutil.copy(screenshot(driver, f"{server}-trace"), image)
            print(f"{server}: trace {trace_id} -> {image.relative_to(ROOT)}")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
