#!/usr/bin/env bash
# The fast path's differential tests (mlotel.fastpath against the SDK's own
# spans, encoder and recording) on the oldest and on the newest OpenTelemetry
# SDK that instrumentation/pyproject.toml allows, each in a throwaway venv:
# mlotel.fastpath reaches into private SDK names, and this is what proves the
# range it declares. Oldest: the lower bounds there, exactly; newest: what
# uv resolves from PyPI within the bounds.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-.build/uv/bin/uv}
PYTHON=${PYTHON:-python3}
TESTS=(tests/unit/instrumentation/fastpath tests/unit/instrumentation/test_setup.py)
# The packages released with the SDK (1.x) and with contrib (0.xxb), as the library requires them.
SDK_PACKAGES=(opentelemetry-api opentelemetry-sdk opentelemetry-proto opentelemetry-exporter-otlp-proto-grpc
              opentelemetry-exporter-otlp-proto-http)
CONTRIB_PACKAGES=(opentelemetry-instrumentation opentelemetry-instrumentation-asgi
                  opentelemetry-instrumentation-logging
                  opentelemetry-semantic-conventions opentelemetry-util-http opentelemetry-test-utils)

lower_bound() {  # the ">=" of a requirement in instrumentation/pyproject.toml
  sed -nE "s/^ *\"$1>=([^,\"]+).*/\1/p" instrumentation/pyproject.toml
}

work=$(mktemp -d /tmp/mlotel-sdk-range.XXXXXX)
trap 'rm -rf "$work"' EXIT
sdk_oldest=$(lower_bound opentelemetry-sdk)
contrib_oldest=$(lower_bound opentelemetry-instrumentation)
{
  for p in "${SDK_PACKAGES[@]}"; do echo "$p==$sdk_oldest"; done
  for p in "${CONTRIB_PACKAGES[@]}"; do echo "$p==$contrib_oldest"; done
} >"$work/oldest.txt"
: >"$work/newest.txt"

status=0
for end in ${ENDS:-oldest newest}; do
  venv="$work/$end"
  "$UV" venv -q --python "$PYTHON" "$venv"
  # The ML API and its service kit too: the switch tests serve a prediction through it.
  VIRTUAL_ENV="$venv" "$UV" pip install -q -c "$work/$end.txt" \
    ./contract ./instrumentation"[fastapi]" ./service_kit ./ml_api pytest pytest-timeout opentelemetry-test-utils
  versions=$("$venv/bin/python" -c 'import importlib.metadata as m; print(" ".join(f"{p}=={m.version(p)}" for p in ("opentelemetry-sdk", "opentelemetry-instrumentation")))')
  echo "== $end: $versions"
  # From the repository's root, so that tests/ and harness/ import; mlotel is the installed one.
  if ! "$venv/bin/python" -m pytest -q -p no:cacheprovider "${TESTS[@]}"; then
    echo "== $end ($versions): FAILED" >&2
    status=1
  fi
done
exit $status
