#!/usr/bin/env bash
# Builds Jaeger v2 (cmd/jaeger) at a pinned version through the Go module proxy,
# to .build/bin/jaeger, cached outside the clone and reused while the pin holds.
#
# v1.76.0 is commit 63b27e1810a710ac54dc4522da0538e540bdc545, tagged v2.13.0 as
# well: Jaeger's go.mod has no /v2, so v2 releases resolve only by their v1 tag
# or commit. `go install pkg@version` refuses the module because its go.mod has a
# replace directive, so the module is downloaded from the proxy at the pin and
# built as the main module, where that directive applies.
set -euo pipefail
cd "$(dirname "$0")/.."

JAEGER_VERSION=v1.76.0
key=$(cat "$0" | sha256sum | cut -c1-16)
cache="${MLOTEL_CACHE:-$HOME/.cache/mlotel}/jaeger-$key"
mkdir -p .build/bin

if [ ! -x "$cache/jaeger" ]; then
  echo "building Jaeger $JAEGER_VERSION (v2.13.0); cached at $cache"
  start=$(date +%s)
  mkdir -p "$cache"
  src=$(go mod download -json "github.com/jaegertracing/jaeger@$JAEGER_VERSION" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
  (cd "$src" && go build -trimpath -ldflags="-s -w" -o "$cache/jaeger.tmp" ./cmd/jaeger)
  mv "$cache/jaeger.tmp" "$cache/jaeger"
  echo "jaeger built in $(( $(date +%s) - start )) s"
fi
ln -sf "$cache/jaeger" .build/bin/jaeger
