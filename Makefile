# The Trinity Beast — every target bootstraps ./.venv from the pinned lock on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
COMPILED := $(VENV)/.compiled-$(if $(BEAST_PURE_PYTHON),pure,mypyc)
SOURCES := $(shell find src -name '*.py' -not -path '*/migrations/*')

.PHONY: run replay test test-unit lint typecheck bench fmt clean

$(STAMP): requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	BEAST_PURE_PYTHON=1 $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# The request hot path compiled with mypyc next to its sources (docs/compiled.md), rebuilt when
# any source changes. BEAST_PURE_PYTHON=1 removes the compiled modules instead.
$(COMPILED): $(STAMP) $(SOURCES) setup.py
ifeq ($(BEAST_PURE_PYTHON),)
	@echo "compiling the hot path with mypyc (about two minutes) ..."
	@find src -name '*.so' -delete
	@$(BIN)/python setup.py --quiet build_ext --inplace > $(VENV)/compile.log 2>&1 \
		|| { tail -20 $(VENV)/compile.log; find src -name '*.so' -delete; \
		     echo "WARNING: could not compile the hot path (no C compiler or Python headers?);"; \
		     echo "WARNING: running it interpreted, slower. Details: $(VENV)/compile.log"; }
	@find src -name '*.so' -exec touch {} +  # the build copies them with their old times
else
	find src -name '*.so' -delete
endif
	@rm -f $(VENV)/.compiled-*
	@touch $@

## run: serve live prices on the embedded defaults (SQLite under ./var, in-process cache/queue)
run: $(COMPILED)
	$(BIN)/beast serve

## replay: serve prices from the bundled recorded-frame replay exchange (offline)
replay: $(COMPILED)
	$(BIN)/beast serve --replay

## test: the whole suite (needs PostgreSQL and Redis on 127.0.0.1; CI=true makes them mandatory)
test: $(COMPILED)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

LINT_PATHS := setup.py src tests $(wildcard bench scripts)

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff check --fix $(LINT_PATHS)

$(BENCH_STAMP): requirements-bench.lock $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-bench.lock
	@touch $(BENCH_STAMP)

## bench: side-by-side benchmarks (loopback only, bounded); results go to bench/results/
bench: $(BENCH_STAMP) $(COMPILED)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build
	find src -name '*.so' -delete
