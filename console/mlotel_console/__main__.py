"""``mlotel-console`` (or ``python -m mlotel_console``): serve the console with Streamlit on CONSOLE_HOST:CONSOLE_PORT (127.0.0.1:8501).

Streamlit runs each page's script in the server's process, so whatever a page
imports is imported by the first visit, inside that visitor's wait: pandas,
Plotly and the console's clients take seconds on a busy host, and the links
alerts and ``make demo`` print often open a console nobody has visited yet.
This command imports them before the server serves (and builds one throwaway
chart, which loads Plotly's validators), then starts Streamlit's own CLI in the
same process.
"""

import argparse
import logging
import sys
from pathlib import Path

from mlotel_console.settings import settings

APP = Path(__file__).resolve().parent / "app.py"


def preload() -> None:
    """Import what the pages import, and what their first clients and chart import on first use."""
    import asyncio

    import plotly.express as px
    import streamlit.runtime.caching.cache_data_api as cache_data_api

    # Before the runtime exists, each st.cache_data warns that it has none: it finds the runtime's when called.
    quiet = logging.getLogger(cache_data_api.__name__)
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    from mlotel_console import alert_data, charts, clients, metrics_data, model_data, trace_data, ui  # noqa: F401

    quiet.setLevel(level)
    clients.run(lambda _: asyncio.sleep(0))  # httpx imports its transport (httpcore) with the first client

    px.scatter(x=[1.0], y=[1.0], log_y=True, render_mode="svg").add_hline(y=1.0).to_json()


def main() -> None:
    parser = argparse.ArgumentParser(prog="mlotel-console", description=__doc__.split(": ", 1)[1].split("\n")[0])
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    args = parser.parse_args()
    preload()
    # Streamlit's own CLI, so its server, caching and reruns are the well-kept ones.
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP),
                "--server.address", args.host, "--server.port", str(args.port), "--server.headless", "true",
                "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal",
                # Nobody edits the pages of a running console: no watcher to set up for each new session.
                "--server.fileWatcherType", "none"]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
