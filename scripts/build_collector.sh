#!/usr/bin/env bash
# Builds the mlotel collector distribution from otel-collector/builder-config.yaml
# with the OpenTelemetry Collector Builder, through the Go module proxy, to
# .build/bin/otelcol-mlotel. The binary is cached outside the clone, keyed by
# the manifest and this script, and reused while neither changes.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILDER_VERSION=v0.128.0
manifest=otel-collector/builder-config.yaml
key=$(cat "$manifest" "$0" | sha256sum | cut -c1-16)
cache="${MLOTEL_CACHE:-$HOME/.cache/mlotel}/otelcol-$key"
mkdir -p .build/bin

if [ ! -x "$cache/otelcol-mlotel" ]; then
  echo "building the collector (builder $BUILDER_VERSION); cached at $cache"
  start=$(date +%s)
  mkdir -p "$cache"
  # The checksum database the proxy serves has no entry for this builder release;
  # everything the collector itself is built from is still verified.
  GONOSUMDB=go.opentelemetry.io/collector/cmd/builder GOBIN="$cache" \
    go install "go.opentelemetry.io/collector/cmd/builder@$BUILDER_VERSION"
  rm -rf .build/otelcol-src
  # --skip-get-modules: the builder's `go mod tidy` also resolves the components'
  # test-only dependencies, some of which the proxy does not serve; `go build
  # -mod=mod` resolves just what the binary needs.
  GOFLAGS=-mod=mod "$cache/builder" --config="$manifest" --skip-get-modules
  mv .build/otelcol-src/otelcol-mlotel "$cache/otelcol-mlotel.tmp"
  mv "$cache/otelcol-mlotel.tmp" "$cache/otelcol-mlotel"
  echo "collector built in $(( $(date +%s) - start )) s: $(du -h "$cache/otelcol-mlotel" | cut -f1)"
fi
ln -sf "$cache/otelcol-mlotel" .build/bin/otelcol-mlotel
