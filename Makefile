# dub-mock: `make serve` runs the mock, `make test` runs every check. Both bootstrap .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8787
HOST   ?= 127.0.0.1
SEED   ?= examples/seed.yaml
TS_SDK := tests/sdk_ts/node_modules/.installed-stamp
PYTEST_ARGS ?= -n 2

.DEFAULT_GOAL := help
.PHONY: help venv serve test lint format typecheck unit bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# Dub's TypeScript SDK for tests/core/test_sdk_ts.py, pinned by its lock file; without npm the
# tests skip and say why (CI installs Node.js first).
$(TS_SDK): tests/sdk_ts/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix tests/sdk_ts --no-audit --no-fund --loglevel=error && touch $(TS_SDK); \
	else echo "npm not found: the TypeScript SDK tests will skip"; fi

venv: $(STAMP) ## create .venv with the package and its test extras

serve: $(STAMP) ## run the mock on 127.0.0.1:8787 seeded from examples/seed.yaml (PORT=9000, SEED= to change)
	$(BIN)/dub-mock serve --host $(HOST) --port $(PORT) $(if $(SEED),--seed $(SEED))

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP) ## mypy (strict) on the package
	$(BIN)/mypy

unit: $(STAMP) $(TS_SDK) ## the pytest suite alone
	$(BIN)/pytest -q $(PYTEST_ARGS)

test: lint typecheck unit ## everything CI runs

bench: $(STAMP) ## benchmarks against Prism (outside CI; see benchmarks/)
	bash benchmarks/run.sh

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) tests/sdk_ts/node_modules build dist *.egg-info .mypy_cache .ruff_cache
