#!/usr/bin/env bash
# mlotel's tests on the OpenTelemetry releases it claims, each in a throwaway venv:
#   oldest   the lower bounds of instrumentation/pyproject.toml, exactly: the public
#            path (MLOTEL_FASTPATH=false) and the differential tests, where "on" falls back;
#   fastpath the oldest release of mlotel.fastpath.TESTED_WITH: everything, the
#            fast path's own tests (marker fastpath) and its differential tests included;
#   newest   what uv resolves from PyPI within the bounds: the same, the fast path's
#            own tests only if that release is one it is tested with;
#   outside  the SDK release just below TESTED_WITH, MLOTEL_FASTPATH left on: the
#            fallback (tests/unit/test_fastpath_switch.py asserts its one warning and
#            the same telemetry as the public path).
# The native span encoder (native/, built from source: needs cargo) is installed on the
# ends where the fast path runs (fastpath, newest), so the encoder tests run on it and on
# the Python one; oldest and outside go without it, as a user without a compiler does.
# ENDS="oldest newest" runs a subset.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-.build/uv/bin/uv}
PYTHON=${PYTHON:-python3}
TESTS=(tests/unit/instrumentation tests/unit/ml_api/test_api_telemetry.py tests/unit/ml_api/test_health.py)
# The packages released with the SDK (1.x) and with contrib (0.xxb), as the library requires them.
SDK_PACKAGES=(opentelemetry-api opentelemetry-sdk opentelemetry-proto opentelemetry-exporter-otlp-proto-grpc
              opentelemetry-exporter-otlp-proto-http opentelemetry-exporter-otlp-proto-common)
CONTRIB_PACKAGES=(opentelemetry-instrumentation opentelemetry-instrumentation-asgi
                  opentelemetry-instrumentation-logging
                  opentelemetry-semantic-conventions opentelemetry-util-http
                  # what the tests use and compare mlotel with (the root pyproject's dev group)
                  opentelemetry-test-utils opentelemetry-instrumentation-fastapi
                  opentelemetry-instrumentation-system-metrics)

lower_bound() {  # the ">=" of a requirement in instrumentation/pyproject.toml
  sed -nE "s/^ *\"$1>=([^,\"]+).*/\1/p" instrumentation/pyproject.toml
}
fastpath_oldest() {  # the "~=" of the SDK in mlotel.fastpath.TESTED_WITH
  sed -nE 's/^ *"opentelemetry-sdk": SpecifierSet\("~=([0-9.]+)"\).*/\1/p' instrumentation/mlotel/fastpath/__init__.py
}
contrib_of() {  # contrib 0.(m+21)b0 is released with SDK 1.m.0, as since 1.27.0/0.48b0
  local minor; minor=$(cut -d. -f2 <<<"$1"); echo "0.$((minor + 21))b0"
}
pins() {  # SDK and contrib versions -> a constraints file
  for p in "${SDK_PACKAGES[@]}"; do echo "$p==$1"; done
  for p in "${CONTRIB_PACKAGES[@]}"; do echo "$p==$2"; done
}

work=$(mktemp -d /tmp/mlotel-sdk-range.XXXXXX)
trap 'rm -rf "$work"' EXIT
pins "$(lower_bound opentelemetry-sdk)" "$(lower_bound opentelemetry-instrumentation)" >"$work/oldest.txt"
fast=$(fastpath_oldest)
pins "$fast" "$(contrib_of "$fast")" >"$work/fastpath.txt"
below=$(cut -d. -f1 <<<"$fast").$(( $(cut -d. -f2 <<<"$fast") - 1 )).0
pins "$below" "$(contrib_of "$below")" >"$work/outside.txt"
: >"$work/newest.txt"  # unpinned: the newest uv finds

status=0
for end in ${ENDS:-oldest fastpath newest outside}; do
  venv="$work/$end"
  "$UV" venv -q --python "$PYTHON" "$venv"
  native=(); case $end in fastpath|newest) native=(./native) ;; esac
  # The ML API and its service kit too: the tests serve predictions through it.
  VIRTUAL_ENV="$venv" "$UV" pip install -q -c "$work/$end.txt" \
    ./contract ./instrumentation"[fastapi]" "${native[@]}" ./service_kit ./ml_api pytest pytest-timeout "${CONTRIB_PACKAGES[@]:5}"
  versions=$("$venv/bin/python" -c 'import importlib.metadata as m; print(" ".join(f"{p}=={m.version(p)}" for p in ("opentelemetry-sdk", "opentelemetry-instrumentation")))')
  supported=$("$venv/bin/python" -c 'import logging; logging.disable(); from mlotel import fastpath; print(fastpath.supported())')
  marker=(); [ "$supported" = True ] || marker=(-m "not fastpath")
  switch=(); [ "$end" = oldest ] && switch=(MLOTEL_FASTPATH=false)
  # Installed, it must import (or its tests would quietly run on the Python encoder alone).
  encoder=python; [ ${#native[@]} -eq 0 ] || encoder=$("$venv/bin/python" -c 'import mlotel_native; print("native and python")')
  echo "== $end: $versions (fast path tested with it: $supported; span encoders: $encoder) ${switch[*]} ${marker[*]}"
  if [ "$supported" != True ] && [ ${#switch[@]} -eq 0 ]; then  # the fallback's one line, as a user sees it
    "$venv/bin/python" -c 'from mlotel import TelemetryConfig; TelemetryConfig.from_env({}); TelemetryConfig.from_env({})'
  fi
  # From the repository's root, so that tests/ and harness/ import; mlotel is the installed one.
  if ! env "${switch[@]}" "$venv/bin/python" -m pytest -q -p no:cacheprovider "${marker[@]}" "${TESTS[@]}"; then
    echo "== $end ($versions): FAILED" >&2
    status=1
  fi
done
exit $status
