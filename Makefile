# carecircle — `make run` starts the bot, `make test` runs every check. Both set up .venv first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck pytest migrate bench lock clean

# The virtualenv holds exactly the locked versions, hash-checked (requirements-dev.lock: the
# bot's own, which requirements.lock and the image use, plus tests and benchmarks); carecircle
# itself is then installed without resolving anything again, and `pip check` proves the lock
# still satisfies pyproject.toml.
$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot

migrate: $(STAMP)
	$(BIN)/python -m bot migrate

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench

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

# After changing dependencies in pyproject.toml: pin them again (from PyPI, with hashes, for
# every platform and Python >= 3.11). Pins already in the lock files stay unless UPGRADE=1.
# requirements-dev.lock is constrained by requirements.lock, so the two agree on every pin.
LOCK_FLAGS = --quiet --custom-compile-command "make lock" --universal --python-version 3.11 --generate-hashes $(if $(UPGRADE),--upgrade)

lock:
	test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet uv; }
	$(BIN)/uv pip compile $(LOCK_FLAGS) pyproject.toml -o requirements.lock
	$(BIN)/uv pip compile $(LOCK_FLAGS) pyproject.toml --extra test --extra bench \
		-c requirements.lock -o requirements-dev.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
