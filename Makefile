# LXC Manager — the commands a newcomer needs. Everything is installed into .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DEV_INSTALLED := $(VENV)/.installed-dev
# The Proxmox VE simulator is its own distribution (simulator/), not part of the product.
SIM_INSTALLED := $(VENV)/.installed-simulator
PYTEST := $(BIN)/python -m pytest

export REFLEX_TELEMETRY_ENABLED := false
export REFLEX_CHECK_LATEST_VERSION := false

.PHONY: help install run demo test test-python test-e2e test-real lint format bench clean

help:
	@echo "make run    install what is missing, migrate, build the frontend if needed, serve on http://127.0.0.1:3000"
	@echo "make test   install test needs, run the whole suite (unit, integration, browser, real containers)"
	@echo "make demo   the app plus a seeded Proxmox VE simulator (installs simulator/ too)"
	@echo "make lint   ruff + mypy;  make bench   benchmarks (print figures)"

$(BIN)/python:
	@echo "==> creating $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet pip

$(INSTALLED): pyproject.toml | $(BIN)/python
	@echo "==> installing LXC Manager and its dependencies (first time: a few minutes)"
	$(BIN)/python -m pip install --progress-bar off -e .
	@touch $@

$(DEV_INSTALLED): pyproject.toml $(INSTALLED)
	@echo "==> installing test and lint tools"
	$(BIN)/python -m pip install --progress-bar off -e ".[dev]"
	@touch $@

$(SIM_INSTALLED): simulator/pyproject.toml $(INSTALLED)
	@echo "==> installing the Proxmox VE simulator (simulator/)"
	$(BIN)/python -m pip install --progress-bar off -e ./simulator
	@touch $@

install: $(INSTALLED)

run: $(INSTALLED)
	@scripts/check-toolchain
	$(BIN)/lxc-manager migrate
	$(BIN)/lxc-manager build
	exec $(BIN)/lxc-manager serve --no-build

demo: $(INSTALLED) $(SIM_INSTALLED)
	@scripts/check-toolchain
	exec $(BIN)/lxc-manager demo

test: $(DEV_INSTALLED) $(SIM_INSTALLED)
	@scripts/install-test-deps
	@mkdir -p test-output
	$(PYTEST) tests/unit tests/integration
	$(PYTEST) tests/e2e
	@$(MAKE) --no-print-directory test-real

# Real LXC containers behind the simulator (root, lxc, debootstrap; skipped elsewhere with
# the reason). The rootfs cache is built once per machine; both times are printed.
test-real: $(DEV_INSTALLED) $(SIM_INSTALLED)
	@scripts/install-test-deps
	@rc=0; $(BIN)/python -m lxc_manager_simulator.real rootfs || rc=$$?; \
	  [ $$rc = 0 ] || [ $$rc = 2 ] || exit $$rc  # 2: this machine cannot run LXC (tests say why)
	@start=$$(date +%s); $(PYTEST) tests/real; status=$$?; \
	  echo "real-container suite: $$(( $$(date +%s) - start )) s"; exit $$status

test-python: $(DEV_INSTALLED) $(SIM_INSTALLED)
	$(PYTEST) tests/unit tests/integration

test-e2e: $(DEV_INSTALLED) $(SIM_INSTALLED)
	$(PYTEST) tests/e2e

lint: $(DEV_INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy lxc_manager/settings.py lxc_manager/db lxc_manager/security lxc_manager/redis_client.py lxc_manager/process.py lxc_manager/embedded_redis.py lxc_manager/supervisor.py lxc_manager/frontend.py lxc_manager/worker.py lxc_manager/healthcheck.py lxc_manager/scheduled.py lxc_manager/http_routes.py lxc_manager/signin lxc_manager/proxmox lxc_manager/ssh lxc_manager/nodes lxc_manager/containers lxc_manager/templates lxc_manager/provisioning lxc_manager/operations lxc_manager/backups lxc_manager/cloning lxc_manager/console lxc_manager/console_routes.py lxc_manager/state lxc_manager/routes.py lxc_manager/api lxc_manager/cli_api.py lxc_manager/cli_api_backups.py $(wildcard lxc_manager/pages/*/state.py)

format: $(DEV_INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(DEV_INSTALLED) $(SIM_INSTALLED)
	@for b in benchmarks/bench_*.py; do echo "==> $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf .web .web-builds .web-node test-output .pytest_cache .ruff_cache .mypy_cache
