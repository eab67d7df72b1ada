# Two commands for a fresh machine: `make demo` and `make test`. Everything installs into .venv
# from the pinned versions in constraints.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9

.PHONY: install lint test demo bench sandbox lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --quiet --python $(BIN)/python -c constraints.txt -e ".[dev]"
	touch $@

install: $(VENV)/.installed

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

demo: install
	$(BIN)/python -m sandbox.demo

bench: install
	$(BIN)/python -m benchmarks

sandbox: install
	$(BIN)/python -m sandbox

# Re-resolve the pinned versions after changing dependencies in pyproject.toml.
lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip compile --quiet --extra dev --python-version 3.10 pyproject.toml -o constraints.txt

clean:
	rm -rf $(VENV) .airflow .pytest_cache .mypy_cache .ruff_cache
