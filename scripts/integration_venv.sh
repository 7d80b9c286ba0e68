#!/usr/bin/env bash
# A venv with one model server from PyPI at a pinned version, mlotel installed
# as its users install it (from ./instrumentation, editable, so that the tests
# run the working tree), for tests/integrations. Prints the venv's path.
#
#   scripts/integration_venv.sh kserve-newest
#
# Built under .build/integrations/<name> and reused while its requirements are
# the same (uv's cache makes a rebuild take seconds); needs PyPI, so run it
# outside a network namespace: `make test-integrations` builds every venv
# first, then runs the servers inside one.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-.build/uv/bin/uv}
PYTHON=${PYTHON:-python3}

# The ends of each server's supported range (the instrumentors' _instruments)
# that resolve next to mlotel's OpenTelemetry pins, with the model library it serves.
# uvloop for MLServer: its parallel worker calls asyncio.get_event_loop() before
# any loop is set, which uvloop 0.22+ refuses (the worker dies, no model loads).
declare -A REQUIREMENTS=(
  [kserve-oldest]="kserve==0.17.0 scikit-learn==1.9.1"
  [kserve-newest]="kserve==0.21.0 scikit-learn==1.9.1"
  [mlserver-oldest]="mlserver==1.6.1 mlserver-sklearn==1.6.1 scikit-learn==1.9.1 uvloop==0.21.0"
  [mlserver-newest]="mlserver==1.7.1 mlserver-sklearn==1.7.1 scikit-learn==1.9.1 uvloop==0.21.0"
  [bentoml-oldest]="bentoml==1.4.0 scikit-learn==1.9.1"
  [bentoml-newest]="bentoml==1.4.40 scikit-learn==1.9.1"
)
name=${1:?usage: $0 <server>-<oldest|newest> (${!REQUIREMENTS[*]})}
requirements=${REQUIREMENTS[$name]:?unknown: $name (${!REQUIREMENTS[*]})}
venv=.build/integrations/$name
wanted="$requirements -e ./contract -e ./instrumentation"
# The entry points are written at install time: a change to them is a new venv.
stamp="$wanted $(sha256sum instrumentation/pyproject.toml | cut -c1-12)"
if [ "$(cat "$venv/.requirements" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$venv"
  "$UV" venv -q --python "$PYTHON" "$venv" >&2
  # shellcheck disable=SC2086  # one word per requirement
  VIRTUAL_ENV="$venv" "$UV" pip install -q $wanted >&2
  echo "$stamp" >"$venv/.requirements"
fi
echo "$PWD/$venv"
