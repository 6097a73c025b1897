# Unified Command. `make run` and `make test` do all the set-up themselves.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PROTOS := $(shell find protos -name '*.proto' | sort)
GENERATED := emergency/.generated
# The console's front-end packages (npm, exact versions in the lock file), copied into
# the git-ignored web/vendor/ that the edge serves: installed only when the lock changes.
CONSOLE := services/edge/console
CONSOLE_MODULES := $(CONSOLE)/node_modules/.installed
CONSOLE_ASSETS := $(CONSOLE)/web/vendor/.built
# The deployment checks' npm packages (the operators' CRD schemas), from their lock file.
DEPLOY_CHECKS := tests/deploy
DEPLOY_MODULES := $(DEPLOY_CHECKS)/node_modules/.installed

# Another jurisdiction: `make run JURISDICTION=san-francisco` runs on
# services/config/jurisdiction/san-francisco.yaml, with its stores in var/san-francisco
# (so the demo city's stay apart). The same as setting UC_JURISDICTION_FILE and UC_DATA_DIR.
JURISDICTION ?=
ifneq ($(JURISDICTION),)
export UC_JURISDICTION_FILE := services/config/jurisdiction/$(JURISDICTION).yaml
export UC_DATA_DIR ?= var/$(JURISDICTION)
endif

# PostgreSQL for the production-store tests (trust auth on this project's machines).
export UC_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test test-fast test-deploy proto bench lint fmt clean browser console

run: $(GENERATED) $(CONSOLE_ASSETS)
	$(PY) -m services.cli run

test: $(GENERATED) $(CONSOLE_ASSETS) $(DEPLOY_MODULES) browser
	$(PY) -m pytest

test-fast: $(GENERATED)
	$(PY) -m pytest tests/unit

# The deployment files alone (Dockerfile, compose, Kubernetes, the documented settings).
test-deploy: $(GENERATED) $(DEPLOY_MODULES)
	$(PY) -m pytest tests/deploy

proto: $(GENERATED)

# `make bench` runs every suite; `make bench intake` (or any suites named after it) those.
BENCH_SUITES := eventstore alerts recommend intake replay console clients
bench: $(GENERATED) $(CONSOLE_ASSETS) browser
	$(PY) -m bench $(filter $(BENCH_SUITES),$(MAKECMDGOALS))

# Suite names after `make bench` are arguments, not targets (console is one already).
ifneq ($(filter bench,$(MAKECMDGOALS)),)
eventstore alerts recommend intake replay clients:
	@:
endif

console: $(CONSOLE_ASSETS)

$(CONSOLE_MODULES): $(CONSOLE)/package.json $(CONSOLE)/package-lock.json
	cd $(CONSOLE) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

$(DEPLOY_MODULES): $(DEPLOY_CHECKS)/package.json $(DEPLOY_CHECKS)/package-lock.json
	cd $(DEPLOY_CHECKS) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

$(CONSOLE_ASSETS): $(CONSOLE_MODULES) $(CONSOLE)/build.py
	$(PYTHON) $(CONSOLE)/build.py
	touch $@

lint: $(GENERATED)
	$(PY) -m ruff check services tools bench tests
	$(PY) -m ruff format --check services tools bench tests
	$(PY) -m mypy

fmt: $(INSTALLED)
	$(PY) -m ruff format services tools bench tests
	$(PY) -m ruff check --fix services tools bench tests

$(INSTALLED): pyproject.toml constraints.txt setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# Editable: the build (setup.py) generates emergency/ first, so it is installed with
	# services/ and both import however the code is started.
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

# Generated code is built here, never committed: `emergency/` is git-ignored.
$(GENERATED): $(PROTOS) $(INSTALLED)
	rm -rf emergency
	$(PY) -m grpc_tools.protoc -Iprotos --python_out=. --grpc_python_out=. \
	    --plugin=protoc-gen-mypy=$(VENV)/bin/protoc-gen-mypy --mypy_out=quiet:. \
	    --plugin=protoc-gen-mypy_grpc=$(VENV)/bin/protoc-gen-mypy_grpc --mypy_grpc_out=quiet:. \
	    $(PROTOS)
	touch emergency/__init__.py emergency/v1/__init__.py
	touch $@

# The browser tests drive Debian's chromium through Playwright (Playwright's own browser
# download cannot work here): install it with apt when it is missing.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf $(VENV) emergency var .pytest_cache .ruff_cache $(CONSOLE)/node_modules \
	  $(CONSOLE)/web/vendor $(DEPLOY_CHECKS)/node_modules test-artifacts
