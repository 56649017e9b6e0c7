# The two commands of the README: `make run` and `make test`. Each installs what it needs.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.edgedock-installed

.PHONY: run test lint typecheck system-packages postgres clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[server,agent,dev]'
	touch $(STAMP)

## Set everything up and run the server on its embedded default (SQLite and a key under ./var/).
run: $(STAMP)
	$(BIN)/edgedock serve

## Set everything up and run the whole suite, on SQLite and on PostgreSQL.
test: $(STAMP) system-packages postgres lint typecheck
	$(BIN)/pytest

system-packages:
	bash scripts/install-system-packages.sh

postgres:
	bash scripts/ensure-postgres.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .coverage screenshots
