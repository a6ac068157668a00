# carecircle — `make run` starts the bot (or, without a token, the playground), `make test` runs
# every check. Both set up .venv first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The browser tests drive the system's Chromium; Playwright must never download one.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: run demo test lint typecheck pytest migrate bench lock clean

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

# With a token (BOT_TOKEN in the environment or in .env; a token starts with digits) the bot
# runs on Telegram; without one, the playground: the same bot against a simulated Telegram.
HAS_TOKEN = [ -n "$$BOT_TOKEN" ] || grep -Eqs '^[[:space:]]*(export[[:space:]]+)?BOT_TOKEN[[:space:]]*=[[:space:]]*.?[0-9]' .env

run: $(STAMP)
	@if $(HAS_TOKEN); then $(BIN)/python -m bot; else $(BIN)/python -m playground; fi

# The playground, token or not: the page shows everyone's chats with the bot side by side.
demo: $(STAMP)
	$(BIN)/python -m playground

migrate: $(STAMP)
	$(BIN)/python -m bot migrate

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench playground
	$(BIN)/ruff format --check bot tests bench playground

typecheck: $(STAMP)
	$(BIN)/mypy

# Most tests run in parallel (the end-to-end ones spend their time waiting on the clock);
# those that measure wall-clock timing then run on their own, a few at a time, each with
# its own bot and fake server, so the machine is never busy enough to skew them. `--dist
# load` hands out one test at a time, longest first (tests/conftest.py), so a long test
# never starts last and never waits behind another long one.
PYTEST_WORKERS ?= 8
# Five: one each for the five that wait longest on the wall clock (both outage runs, the fuzz
# run, the browser outage, a medication minute); mostly asleep, they leave the machine idle.
TIMING_WORKERS ?= 5

pytest: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist load -m "not timing" $(PYTEST_ARGS)
	$(BIN)/python -m pytest -n $(TIMING_WORKERS) --dist load -m timing $(PYTEST_ARGS)

# Every benchmark, full sizes (about 90 minutes; see bench/README.md). BENCH_ARGS=--quick for
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
