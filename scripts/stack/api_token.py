"""The alert-rule service's API token, and files only this user may read (the token,
supervisord's config holding it, Alertmanager's with the Slack and SMTP settings)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from dotenv import dotenv_values

from scripts.stack import paths


def write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by this user only, also over a file an older run left readable to all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(text)


def alerting_token() -> str:
    """The alert-rule service's API token: ALERTING_API_TOKEN from the environment or
    ``.env``, else one generated once and kept in ``.run/alerting-api-token``."""
    token = os.environ.get("ALERTING_API_TOKEN") or dotenv_values(paths.ROOT / ".env").get("ALERTING_API_TOKEN")
    if token:
        return token
    path = paths.RUN / "alerting-api-token"
    if not path.exists():
        paths.RUN.mkdir(parents=True, exist_ok=True)
        write_private(path, secrets.token_urlsafe(24))
    return path.read_text().strip()
