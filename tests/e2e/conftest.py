"""The native stack for end-to-end tests: reused if `make up` runs it, else started and stopped here."""

import os
import subprocess
import sys

import httpx
import pytest

from harness.native_stack import API, STACK_ENV
from harness.processes import ROOT
from scripts import stack


@pytest.fixture(scope="session")
def native_stack():
    previous = {k: os.environ.get(k) for k in STACK_ENV}
    os.environ.update(STACK_ENV)
    started = stack.up()
    yield stack
    for service in reversed(started):
        stack.stop(service)
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def traffic(native_stack):
    """A minute of mixed traffic with feedback, one refused request, and time for two scrapes of the result."""
    # Half the predictions get their actual label back a second later, 20% of them wrong: accuracy 80%.
    subprocess.run([sys.executable, "-m", "mlotel_model_server.loadgen", "--rate", "15", "--duration", "60", "--quiet", "--json",
                    "--feedback-share", "0.5", "--feedback-delay", "1", "--label-noise", "0.2"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    httpx.post(f"{API}/predict", json={"model": "iris", "instances": [[1.0]]}, timeout=10)
    httpx.post("http://127.0.0.1:9090/-/reload", timeout=10)  # a reused stack picks up new scrape targets
