"""The native stack's files that hold secrets (the rules API token, Slack and SMTP settings) are the user's alone."""

import stat

from scripts import stack


def test_a_private_file_is_readable_by_its_owner_only_even_over_an_older_open_one(tmp_path):
    path = tmp_path / "alertmanager.yml"
    path.write_text("an older run's, readable by all")
    path.chmod(0o644)
    stack.write_private(path, "slack_api_url: https://hooks.example/secret")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "slack_api_url: https://hooks.example/secret"
