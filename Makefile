# Two commands set everything up on a machine with Python 3.11 and make: `make demo`, `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed-stamp
# Runs started by `make demo` and `make dev` share one Dagster instance, so the UI shows both.
DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install lock demo test test-e2e check-ui screenshots dev docs clean-warehouse

# requirements.lock pins every package, not only the direct ones, so that a fresh clone installs what
# the tests passed with: a new patch release of a dependency changes nothing until `make lock`.
$(INSTALLED): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PYTHON=/path/to/python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	@touch $@

install: $(INSTALLED)

# After a change to the dependencies in pyproject.toml: resolve them afresh into requirements.lock, then `make test`.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet -e ".[dev]"
	(echo "# Every installed package at the version the test suite passed with (make lock regenerates it)."; \
	 .venv-lock/bin/python -m pip freeze --exclude-editable) > requirements.lock
	rm -rf .venv-lock

# One DuckDB writer at a time: the instance runs one refresh at a time and queues the others.
$(DAGSTER_HOME)/dagster.yaml:
	@mkdir -p $(DAGSTER_HOME)
	@printf 'run_queue:\n  max_concurrent_runs: 1\n' > $@

demo: $(INSTALLED) $(DAGSTER_HOME)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/regenheart refresh
	$(BIN)/regenheart submission
	@echo ""
	@echo "The warehouse is at $${REGENHEART_WAREHOUSE:-data/warehouse.duckdb}. A query to try:"
	@echo "  $(BIN)/regenheart query \"SELECT SITEID, EXTRACT_ID, STATUS, ROWS FROM marts.extract_log\""
	@echo "The study report: $$(dirname $${REGENHEART_WAREHOUSE:-data/warehouse.duckdb})/reports/study_report.html"
	@echo "Exports (Parquet, CSV, SAS XPT): $$(dirname $${REGENHEART_WAREHOUSE:-data/warehouse.duckdb})/exports/"
	@echo "The submission package (sdtm/ and adam/: XPT, Dataset-JSON, define.xml, define.html; checks in conformance.json): $$(dirname $${REGENHEART_WAREHOUSE:-data/warehouse.duckdb})/submission/"

test: $(INSTALLED)
	$(BIN)/python -m pytest

# Whole refreshes as an operator or an attacker meets them (kill -9 at any step, two at once, a reader
# during a refresh, hostile and fuzzed landings): minutes of their own, so not in `make test`; CI runs both.
test-e2e: $(INSTALLED)
	$(BIN)/python -m pytest -m e2e

# The Dagster UI end to end: dagster dev, every asset visible, a run launched through GraphQL.
check-ui: $(INSTALLED)
	$(BIN)/python scripts/check_dagster_ui.py

# docs/*.png: the study report and the Dagster asset graph, in headless Chromium (Debian's chromium).
screenshots: $(INSTALLED)
	REGENHEART_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/test_browser_report.py -n 0 -q
	$(BIN)/python scripts/screenshot_dagster_ui.py

# dbt's documentation site, offline, from the build database (built first by `make demo` if missing).
docs: $(INSTALLED)
	@test -e "$${REGENHEART_WAREHOUSE:-data/warehouse.duckdb}" || $(MAKE) --no-print-directory demo
	$(BIN)/regenheart docs --serve --port $${DOCS_PORT:-8080}

dev: $(INSTALLED) $(DAGSTER_HOME)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/dagster dev

clean-warehouse:
	rm -f data/warehouse.duckdb data/warehouse.build.duckdb data/warehouse.build.duckdb.wal
