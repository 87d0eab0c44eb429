# Two commands do all the set-up on a fresh machine (each reuses an existing environment):
#   make demo   create .venv if needed, then run `mmd-any demo`
#   make test   create .venv if needed, then ruff and the test suite (what .ci/run runs)
#   make docs   the documentation site in docs/_build/html (warnings are errors)
# The environment is rebuilt only when pyproject.toml changes (or with `make clean`).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# the CPU build on this machine's disk; never an unpinned torch
TORCH := torch==2.13.0
EXTRAS := test,jax,dask,dev,peers

.PHONY: env demo test lint docs clean

env: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	$(BIN)/python -m pip list 2>/dev/null | grep -iE "^(numpy|torch|torchmetrics|geomloss|jax|jaxlib|dask|array.api|hypothesis|pytest) " || true
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mmd-any demo

lint: $(STAMP)
	$(BIN)/ruff check mmd_any tests benchmarks examples docs

test: lint
	$(BIN)/python -m pytest

# the documentation site: API reference, user guide, examples run at build time
docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV)
