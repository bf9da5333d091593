# Ocean Explorer: `make run` serves the demo, `make test` runs every test. Both set up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5006

.PHONY: help setup run test lint format bench loadtest chromium lock clean

help:
	@echo "make run    set up and serve the app on the demo ocean at http://localhost:$(PORT)"
	@echo "make test   set up and run all tests (lint, unit, servers, real browser)"
	@echo "make bench  side-by-side performance runs (not part of the tests)"
	@echo "make loadtest  25 concurrent sessions and 500 open/close cycles on one server"

# The virtual environment, pinned by requirements.lock (regenerate with `make lock`).
$(BIN)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test,cmems]'
	# Panel's Jupyter preview extension has an open advisory (GHSA-4jp4-79rh-q63h): a Jupyter
	# server started from this environment leaves it off (the last file of the folder wins)
	mkdir -p $(VENV)/etc/jupyter/jupyter_server_config.d $(VENV)/etc/jupyter/jupyter_notebook_config.d
	echo '{"ServerApp": {"jpserver_extensions": {"panel.io.jupyter_server_extension": false}}}' \
	  > $(VENV)/etc/jupyter/jupyter_server_config.d/zz-ocean-explorer.json
	echo '{"NotebookApp": {"nbserver_extensions": {"panel.io.jupyter_server_extension": false}}}' \
	  > $(VENV)/etc/jupyter/jupyter_notebook_config.d/zz-ocean-explorer.json
	touch $@

# Demo land mask and offline coastlines, built once into the cache (~/.cache/ocean-explorer).
setup: $(BIN)/.installed
	$(BIN)/python -m app.prepare

run: setup
	$(BIN)/ocean-explorer serve --port $(PORT)

# Debian's Chromium for the real-browser tests (Playwright never downloads a browser here).
chromium:
	@command -v chromium >/dev/null || command -v /usr/bin/chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "install Debian's chromium (sudo apt-get install chromium)"; exit 1; fi; }

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: setup chromium lint
	$(BIN)/python -m pytest

# The peers (xpublish-wms, ...) come with the `bench` extra; Chromium drives the browser runs.
bench: setup chromium
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[bench]'
	$(BIN)/python -m benchmarks

# The load and leak tests at full size (CI runs them at a reduced size in `make test`).
loadtest: setup
	OCEAN_EXPLORER_LOAD_SESSIONS=25 OCEAN_EXPLORER_LOAD_CYCLES=500 \
	  $(BIN)/python -m pytest -s -p no:cacheprovider tests/app/test_load.py

lock: $(BIN)/.installed
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^ocean-explorer' > requirements.lock

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
