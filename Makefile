# smpc-bench developer commands. Needs only python3 (>= 3.11) and access to PyPI.
# The virtual environment is built once; it is rebuilt only when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LINT_PATHS := $(wildcard src tests benchmarks protocols examples)

.PHONY: demo test bench lint clean distclean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

$(VENV)/.installed-dev: $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(STAMP)
	$(BIN)/smpc-bench demo

test: $(STAMP)
	$(BIN)/python -m pytest

# Scaling table of sum, mean, quartiles and ranks (3 and 5 local parties, n = 100 ... 100,000):
# benchmarks/results/scaling.md and scaling.png.  The pytest-benchmark suite of the core:
# `.venv/bin/python -m pytest benchmarks --benchmark-only` (see benchmarks/README.md).
bench: $(STAMP)
	$(BIN)/python benchmarks/scaling.py

# ruff, mypy --strict on src/ and the import contracts (pyproject's [tool.importlinter]).
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/mypy --strict
	$(BIN)/lint-imports

clean:
	rm -rf build dist .pytest_cache .ruff_cache .mypy_cache .hypothesis .benchmarks smpc-bench-demo
	rm -f party*.log
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o -name '*.egg-info' -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
