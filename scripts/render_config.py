"""Fills a config template from the environment, for tools that cannot (Alertmanager).

``${VAR}`` becomes the variable's value or its default below; a block between
``# if VAR`` and ``# end`` is kept only when VAR is set and not empty.
``python scripts/render_config.py TEMPLATE OUTPUT``
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from string import Template

DEFAULTS = {
    "ALERT_WEBHOOK_URL": "http://127.0.0.1:8080/notifications",
    "SLACK_CHANNEL": "#ml-alerts",
    "SMTP_SMARTHOST": "127.0.0.1:25",
    "SMTP_FROM": "alertmanager@localhost",
    "SMTP_REQUIRE_TLS": "true",
}


def render(template: str, environ: Mapping[str, str]) -> str:
    values = {**DEFAULTS, **{k: v for k, v in environ.items() if v}}
    kept, keep = [], [True]
    for line in template.splitlines(keepends=True):
        if match := re.fullmatch(r"# if (\w+)\s*", line):
            keep.append(keep[-1] and bool(values.get(match.group(1))))
        elif re.fullmatch(r"# end\s*", line):
            keep.pop()
        elif keep[-1]:
            kept.append(line)
    if len(keep) != 1:
        raise ValueError("unbalanced '# if' / '# end' in template")
    return Template("".join(kept)).substitute(values)


if __name__ == "__main__":
    source, target = sys.argv[1:3]
    with open(source) as src, open(target, "w") as out:
        out.write(render(src.read(), os.environ))
