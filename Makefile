# SkinGuard: `make run` starts the whole system locally, `make test` runs every test.
# Both set up everything they need on a fresh machine with Python 3.11 (no Docker).

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test test-unit lint bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# The environment: every workspace package plus dev tools, pinned by uv.lock.
install: $(UV)
	$(UV) sync --frozen --all-packages --python 3.11

run: install
	$(BIN)/skinguard-dev run

test: install
	$(BIN)/pytest

test-unit: install
	$(BIN)/pytest -m "not integration"

lint: install
	$(BIN)/ruff check services tests bench

bench: install
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .ruff_cache
