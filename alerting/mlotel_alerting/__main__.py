"""``mlotel-alerting`` (or ``python -m mlotel_alerting``): serve the alert-rule service (settings from the environment).

``mlotel-alerting check [DIR]``: validate a rules directory and exit
(non-zero, with file, rule and field, if a rule is wrong).
"""

import argparse
import sys
from pathlib import Path

import uvicorn

from mlotel_alerting.main import create_app
from mlotel_alerting.rules import RuleError, load_directory
from mlotel_alerting.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="mlotel-alerting", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", choices=["serve", "check"], default="serve")
    parser.add_argument("rules_dir", nargs="?", type=Path, help="for check: the directory (default ALERTING_RULES_DIR)")
    args = parser.parse_args()
    settings = Settings()
    directory = args.rules_dir or settings.rules_dir
    try:
        rules = load_directory(directory)
    except RuleError as error:
        sys.exit(f"alerting: {error}")
    if args.command == "check":
        print(f"{directory}: {len(rules)} rules, all valid")
        return
    if settings.api_token is None:
        print("alerting: ALERTING_API_TOKEN is not set: the API is read-only", file=sys.stderr)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    main()
