# Two commands for a fresh machine: `make demo` and `make test`. Everything installs into virtual
# environments from the pinned versions in constraints.txt (newest supported Airflow) and
# constraints-oldest.txt (oldest supported Airflow, resolved as of its release).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OLDEST := .venv-oldest
UV_VERSION := 0.13.9
OLDEST_AIRFLOW := 3.0.6
OLDEST_CUTOFF := 2025-09-10
UV_INSTALL := pip install --quiet "uv==$(UV_VERSION)"

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install lint test test-newest test-oldest chromium demo bench sandbox lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m $(UV_INSTALL)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -c constraints.txt -e ".[dev]"
	touch $@

$(OLDEST)/.installed: pyproject.toml constraints-oldest.txt
	$(PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m $(UV_INSTALL)
	$(OLDEST)/bin/uv pip install --quiet --python $(OLDEST)/bin/python -c constraints-oldest.txt \
		-e ".[dev]" "apache-airflow==$(OLDEST_AIRFLOW)"
	touch $@

install: $(VENV)/.installed

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The whole suite on the newest Airflow, then what depends on Airflow on the oldest one.
test: lint test-newest test-oldest

test-newest: install chromium
	$(BIN)/pytest

# The browser tests drive Debian's Chromium (a test tool's own browser download is not used).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

test-oldest: $(OLDEST)/.installed
	$(OLDEST)/bin/pytest tests/unit tests/integration -m "not deployment"

demo: install
	$(BIN)/python -m sandbox.demo

bench: install
	$(BIN)/python -m benchmarks

sandbox: install
	$(BIN)/python -m sandbox

# Re-resolve the pinned versions after changing dependencies in pyproject.toml.
lock: $(BIN)/python
	$(BIN)/python -m $(UV_INSTALL)
	$(BIN)/uv pip compile --quiet --extra dev --python-version 3.10 pyproject.toml -o constraints.txt
	echo "apache-airflow==$(OLDEST_AIRFLOW)" | $(BIN)/uv pip compile --quiet --extra dev --python-version 3.10 \
		--exclude-newer $(OLDEST_CUTOFF) --exclude-newer-package hrflow=2026-12-01 \
		--exclude-newer-package pycountry=2026-12-01 pyproject.toml - -o constraints-oldest.txt

clean:
	rm -rf $(VENV) $(OLDEST) .airflow .pytest_cache .mypy_cache .ruff_cache
