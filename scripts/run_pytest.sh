#!/usr/bin/env bash
# Runs pytest and treats "no tests collected" (exit 5) as the failure it is.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest "$@"
status=$?
if [ $status -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit $status
