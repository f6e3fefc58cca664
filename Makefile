# The Trinity Beast — every target bootstraps ./.venv from the pinned lock on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: run replay test test-unit lint typecheck bench fmt clean

$(STAMP): requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

## run: serve live prices on the embedded defaults (SQLite under ./var, in-process cache/queue)
run: $(STAMP)
	$(BIN)/beast serve

## replay: serve prices from the bundled recorded-frame replay exchange (offline)
replay: $(STAMP)
	$(BIN)/beast serve --replay

## test: the whole suite (needs PostgreSQL and Redis on 127.0.0.1; CI=true makes them mandatory)
test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

LINT_PATHS := src tests $(wildcard bench scripts)

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff check --fix $(LINT_PATHS)

$(BENCH_STAMP): requirements-bench.lock $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-bench.lock
	@touch $(BENCH_STAMP)

## bench: side-by-side benchmarks (loopback only, bounded); results go to bench/results/
bench: $(BENCH_STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
