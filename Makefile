# mlotel: the few commands a user needs. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .build/uv/bin/uv
VENV_PY := .venv/bin/python

.DEFAULT_GOAL := help
.PHONY: help install system collector jaeger telemetrygen up down status demo lint test test-unit test-sdk-range test-integrations test-browser test-fault bench bench-instructions bench-parts bench-collector

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t20

$(UV):
	$(PYTHON) -m venv .build/uv
	.build/uv/bin/pip install -q "uv==$(UV_VERSION)"

MEMBERS := contract instrumentation native backends service_kit ml_api alerting console
# native/ is built by cargo, which rustup puts in ~/.cargo/bin: a non-login shell's PATH may lack it.
export PATH := $(HOME)/.cargo/bin:$(PATH)
# Without cargo, everything but mlotel-native: mlotel then uses its pure-Python span encoder and id signer.
NO_CARGO := $(if $(shell command -v cargo),,--no-install-package mlotel-native)

.venv/.synced: pyproject.toml $(MEMBERS:%=%/pyproject.toml) native/Cargo.lock $(wildcard native/src/*.rs) uv.lock | $(UV)
	$(if $(NO_CARGO),@echo "make install: cargo not found: mlotel-native is left out (Rust 1.88+ from rustup builds it)" >&2)
	$(UV) sync --locked --python $(PYTHON) $(NO_CARGO)
	touch $@

install: .venv/.synced  ## the Python environment (.venv), from uv.lock

system:  ## Debian packages: prometheus, alertmanager, victoria-metrics, docker-compose, wrk, valgrind, chromium
	scripts/install_system.sh

collector:  ## build the collector from otel-collector/builder-config.yaml (cached)
	scripts/build_collector.sh

jaeger:  ## build Jaeger v2 at its pinned version (cached)
	scripts/build_jaeger.sh

telemetrygen:  ## OpenTelemetry's load generator, for bench-collector (cached)
	scripts/build_telemetrygen.sh

up: install system collector jaeger  ## start the whole stack natively (SIDECAR=1: a sidecar in front; GATEWAYS=N: a pool behind it; LONG_TERM_METRICS=1: VictoriaMetrics), wait until healthy, print the URLs
	$(VENV_PY) -m scripts.stack up $(if $(SIDECAR),--sidecar) $(if $(GATEWAYS),--gateways $(GATEWAYS)) $(if $(LONG_TERM_METRICS),--long-term-metrics)

down:  ## stop the whole stack, supervisord included
	$(VENV_PY) -m scripts.stack down

status:  ## each component's state (supervisord) and health
	$(VENV_PY) -m scripts.stack status

demo: up  ## drive traffic through the stack and print where to look
	$(VENV_PY) -m scripts.stack demo

lint: install  ## ruff (style, imports, bugs) and mypy (types), configured in pyproject.toml
	$(VENV_PY) -m ruff check .
	$(VENV_PY) -m mypy

test: lint test-sdk-range system collector jaeger  ## lint, then the whole suite, unit to end-to-end
	scripts/run_pytest.sh tests

test-unit: install  ## unit tests only (no servers, no builds)
	scripts/run_pytest.sh tests/unit

test-sdk-range: $(UV)  ## the tests on the oldest and newest OpenTelemetry releases the library allows, the fast path's oldest, and one outside its tested set (four throwaway venvs: about 1 min on a quiet 2-core machine, 17 at load 20)
	UV=$(UV) PYTHON=$(PYTHON) scripts/test_sdk_range.sh

test-integrations: install $(UV)  ## other people's model libraries and servers from PyPI, real, in throwaway venvs, under opentelemetry-instrument (needs PyPI)
	UV=$(UV) PYTHON=$(PYTHON) scripts/run_pytest.sh -m integrations tests/integrations

test-browser: install system collector jaeger  ## the console in headless Chromium on the native stack (screenshots in .run/artifacts/console)
	scripts/run_pytest.sh -m browser tests/e2e

test-fault: install system collector jaeger  ## the fault tests alone: components killed or stopped, on the native stack under load and in the notification tests (a few minutes; -s prints the figures)
	scripts/run_pytest.sh -s -m fault tests

bench: install system  ## the telemetry overhead benchmark, then drift binning's cost per batch (a few minutes)
	$(VENV_PY) -m benchmarks.overhead
	$(VENV_PY) -m benchmarks.drift_binning

bench-instructions: install system  ## telemetry's cost in instructions per request, repeatable to ~0.5% (a few minutes)
	$(VENV_PY) -m benchmarks.instructions

bench-parts: install system  ## each part of telemetry timed in the running server under wrk, CPU µs a call (~2 minutes)
	$(VENV_PY) -m benchmarks.part_costs

bench-collector: install collector jaeger telemetrygen  ## gateway capacity: telemetrygen at rising rates against one gateway, then two, ABBA (~9 minutes)
	$(VENV_PY) -m benchmarks.collector
