"""The command line of a generator of checked-in files: write them, or with
``--check`` write nothing and exit 1 if a file in the repo is stale (what the
tests run)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def write_or_check(description: str, files: dict[Path, Callable[[], str]], command: str) -> None:
    """Each file's text from its builder, written, or compared with ``--check``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    check = parser.parse_args().check
    stale = []
    for path, build in files.items():
        text = build()
        if not check:
            path.write_text(text)
        elif not path.exists() or path.read_text() != text:
            stale.append(path.name)
    if stale:
        sys.exit(f"stale generated files (run {command}): {', '.join(stale)}")
