# Two commands: `make up` runs the whole system, `make test` runs the suite.
# Both create .venv and install from the lock file on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test test-fast lint lock bench clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv>=0.13.8"
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

up: $(STAMP)
	$(BIN)/paystream up

# `make test SERVICE=<name>` runs one service's suite (tests/service_suites.py).
test: $(STAMP)
ifdef SERVICE
	@paths="$$($(BIN)/python -m tests.service_suites $(SERVICE))" && $(BIN)/pytest $$paths
else
	$(BIN)/pytest
endif

# Unit and in-process API tests only: no PostgreSQL, no NATS, well under a minute.
test-fast: $(STAMP)
	$(BIN)/pytest -n 0 tests/unit tests/api

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

lock:
	$(BIN)/uv pip compile --quiet --python-version 3.11 --extra dev pyproject.toml -o requirements.lock

bench: $(STAMP)
	$(BIN)/paystream bench commands

clean:
	rm -rf $(VENV) .paystream
