# The two commands of the README: `make demo` (the main job) and `make test` (every test tier).
# Both set up what is missing (virtualenv, packages, generated contracts, local infrastructure)
# and reuse what is there. `make down` stops what they started.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROTOS := $(shell find protos -name '*.proto')
GENERATED := kim/common/v1/event_pb2.py
# The portal's npm packages (KERN UX, axe-core) from its lockfile; npm writes this file last.
PORTAL := services/portal
PORTAL_ASSETS := $(PORTAL)/node_modules/.package-lock.json

.PHONY: demo test down bench bench-store setup tools infra-up infra-status logs lint typecheck unit integration e2e compose-check protos-check clean

demo: setup infra-up
	$(BIN)/kim demo

test: setup infra-up tools lint typecheck protos-check compose-check
	$(BIN)/pytest tests/unit tests/integration tests/e2e

down:
	-@test -x $(BIN)/kim && $(BIN)/kim node down
	scripts/infra.sh stop

setup: $(STAMP) $(GENERATED) $(PORTAL_ASSETS)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: install Python 3.11 or 3.12 (or make PYTHON=python3.12)"; exit 1; }
	@test -x $(BIN)/python || { echo "[setup] creating virtualenv $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "[setup] installing the project and its dependencies into $(VENV)"
	$(BIN)/pip install --progress-bar on -q --upgrade "pip>=24"
	set -o pipefail; $(BIN)/pip install --progress-bar on -e '.[dev]' | grep -v '^Requirement already satisfied'
	@touch $@

# The editable install maps the top-level packages that exist when it runs; the generated
# package `kim` does not exist before the first generation, so the project is installed again
# (no dependencies, seconds) for processes started outside the checkout (`kim node api`, workers).
$(GENERATED): $(STAMP) $(PROTOS)
	$(BIN)/kim protos generate
	$(BIN)/pip install -q --no-deps -e .

$(PORTAL_ASSETS): $(PORTAL)/package.json $(PORTAL)/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found: install Node.js 18 or newer (Debian: apt-get install npm)"; exit 1; }
	@echo "[setup] installing the portal's assets (KERN UX, axe-core) with npm ci"
	cd $(PORTAL) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

infra-up:
	scripts/infra.sh start

tools:
	scripts/infra.sh tools

infra-status:
	scripts/infra.sh status

logs:
	@for c in rabbitmq ferretdb keycloak; do echo "== $$c"; scripts/infra.sh logs $$c | tail -n 20; done

lint:
	@echo "[test] ruff"
	$(BIN)/ruff check .

typecheck:
	@echo "[test] mypy (strict: kimnetz, kimctl, every service, bench, the fakes)"
	$(BIN)/mypy

# buf lints the contracts and compares them with the main branch (its commit; the checkout's
# own commit where there is no main): a change that breaks other organisations' nodes fails.
protos-check: tools
	$(BIN)/kim protos check
	@echo "[test] buf lint (buf.yaml)"
	"$$(scripts/infra.sh buf)" lint
	@echo "[test] buf breaking against $$(git rev-parse --verify -q main >/dev/null && echo main || echo HEAD)"
	"$$(scripts/infra.sh buf)" breaking --against "$$(git rev-parse --git-common-dir)#ref=$$(git rev-parse --verify -q main || git rev-parse HEAD)"

compose-check:
	@echo "[test] compose.yaml against the Compose specification schema"
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec compose.yaml

bench: setup infra-up
	$(BIN)/python -m bench

# The two FerretDB backends compared at 10,000 cases (docs/benchmarks.md); servers of its own.
bench-store: setup infra-up
	$(BIN)/python -m bench --only store

unit: setup
	$(BIN)/pytest tests/unit

integration: setup infra-up
	$(BIN)/pytest tests/integration

e2e: setup infra-up
	$(BIN)/pytest tests/e2e

clean: down
	rm -rf .kim $(VENV)
