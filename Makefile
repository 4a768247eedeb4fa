# herald — the same targets for people and CI.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install install-dev demo run test lint typecheck check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'

# Quick start 1: install, then run herald on the embedded default against a local demo site.
demo: install
	$(BIN)/herald demo

run: install
	$(BIN)/herald run

# Quick start 2: install with test extras, start Redis if needed, run the whole suite.
test: install-dev
	./scripts/services
	$(BIN)/python -m pytest -q

lint: install-dev
	$(BIN)/ruff format --check worker tests bench
	$(BIN)/ruff check worker tests bench

typecheck: install-dev
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) herald-demo .pytest_cache .mypy_cache .ruff_cache
