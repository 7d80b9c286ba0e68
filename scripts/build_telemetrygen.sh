#!/usr/bin/env bash
# Installs OpenTelemetry's load generator telemetrygen (collector-contrib
# cmd/telemetrygen) through the Go module proxy to .build/bin/telemetrygen, for
# `make bench-collector`. Cached outside the clone by version, like the collector.
# v0.149.0: the proxy serves it (v0.128.0, the collector's own pin, it does not).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=v0.149.0
cache="${MLOTEL_CACHE:-$HOME/.cache/mlotel}/telemetrygen-$VERSION"
mkdir -p .build/bin
if [ ! -x "$cache/telemetrygen" ]; then
  echo "installing telemetrygen $VERSION; cached at $cache"
  mkdir -p "$cache"
  GOBIN="$cache" go install "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@$VERSION"
fi
ln -sf "$cache/telemetrygen" .build/bin/telemetrygen
