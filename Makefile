# carecircle — `make run` starts the bot, `make test` runs every check. Both set up .venv first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck pytest migrate bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot

migrate: $(STAMP)
	$(BIN)/python -m bot migrate

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench migrations/env.py
	$(BIN)/ruff format --check bot tests bench migrations/env.py

typecheck: $(STAMP)
	$(BIN)/mypy

# Most tests run in parallel (the end-to-end ones spend their time waiting on the clock);
# those that measure wall-clock timing then run on their own, a few at a time, each with
# its own bot and fake server, so the machine is never busy enough to skew them.
PYTEST_WORKERS ?= 8
TIMING_WORKERS ?= 3

pytest: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "not timing" $(PYTEST_ARGS)
	$(BIN)/python -m pytest -n $(TIMING_WORKERS) --dist worksteal -m timing $(PYTEST_ARGS)

# Every benchmark, full sizes (about 40 minutes; see bench/README.md). BENCH_ARGS=--quick for
# tiny sizes, e.g. BENCH_ARGS="--quick --only burst".
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
