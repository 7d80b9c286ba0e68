"""Where the native stack keeps things: the checkout and its built binaries, and the run
directory (``MLOTEL_RUN_DIR``, default ``.run/``) holding supervisord's config and socket,
the rendered configs, the services' data and every log.

Read as ``paths.RUN`` at call time, so a test can point a stack of its own elsewhere."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".build" / "bin"
RUN = Path(os.environ.get("MLOTEL_RUN_DIR", ROOT / ".run"))
SUPERVISORD_CONF = RUN / "supervisord.conf"
SOCKET = RUN / "supervisor.sock"
