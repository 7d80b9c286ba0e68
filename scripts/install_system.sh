#!/usr/bin/env bash
# Installs the Debian packages the stack and the tests use, when missing:
# Prometheus 2.42 and Alertmanager 0.25 (the backends), VictoriaMetrics 1.79
# (the long-term metrics store, `make up LONG_TERM_METRICS=1`), docker-compose (to
# validate the compose files, never to run them), wrk (the benchmark's load),
# valgrind (the instruction-count benchmark), chromium and chromium-driver (the
# console's browser tests).
set -euo pipefail
need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
command -v victoria-metrics >/dev/null || need+=(victoria-metrics)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v wrk >/dev/null || need+=(wrk)
command -v valgrind >/dev/null || need+=(valgrind)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing ${need[*]}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
