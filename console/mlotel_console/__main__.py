"""``mlotel-console`` (or ``python -m mlotel_console``): serve the console with Streamlit on CONSOLE_HOST:CONSOLE_PORT (127.0.0.1:8501)."""

import argparse
import os
import sys
from pathlib import Path

from mlotel_console.settings import settings

APP = Path(__file__).resolve().parent / "app.py"


def main() -> None:
    parser = argparse.ArgumentParser(prog="mlotel-console", description=__doc__.split(": ", 1)[1])
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    args = parser.parse_args()
    # Streamlit's own CLI, so its server, caching and reruns are the well-kept ones.
    os.execv(sys.executable, [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", args.host, "--server.port", str(args.port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal",
    ])


if __name__ == "__main__":
    main()
