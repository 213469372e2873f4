# The two commands of the README: `make demo` and `make test`. Both set up a virtual
# environment in .venv on first use (and again when pyproject.toml changes), with the test
# tools. On a server, `make install` (docs/going-live.md) installs only what `meedoen run` needs.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test test-sqlite test-postgresql lint catalogs install

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# For a server: Meedoen and its dependencies in .venv, without the test extra (pytest,
# hypothesis, ...). pip installs a local folder anew every time, so this also upgrades.
install:
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet .

# `make demo PORT=9000` serves the demo on another port.
demo: $(VENV)/.installed
	$(VENV)/bin/meedoen demo $(if $(PORT),--port $(PORT))

# Node tools the tests use (prism, a validating proxy for Twilio's OpenAPI description; see
# package.json), installed from package-lock.json into ./node_modules.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Lint (ruff) and type-check (mypy, files and strictness in pyproject.toml) first: either stops
# the run with its own report before the slower pytest. Then the whole suite on SQLite, and
# again, every test that touches the database, on a private PostgreSQL server started by the
# tests (tests/postgres_server.py; skipped with one line saying how to enable it when
# PostgreSQL is not installed). The two passes run side by side (most of a test's time is
# waiting for a server, a browser or a subprocess, not the processor), each printing its report
# when it ends. `make test-sqlite` or `make test-postgresql` runs one pass.
test: lint
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgresql

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# The tests that ask for PostgreSQL itself (marked `postgres`) are left to the second pass.
test-sqlite: $(VENV)/.installed node_modules/.installed
	$(PY) -m pytest -m "not postgres"

test-postgresql: $(VENV)/.installed node_modules/.installed
	MEEDOEN_TEST_DATABASE=postgresql $(PY) -m pytest

# Re-extract user-facing strings and merge them into every catalog (see README).
# `pybabel update` keeps each catalog's own Plural-Forms header (checked with Babel 2.18), so the
# GNU rule in locales/ar (babel issue #816) survives it; tests/test_catalogs.py fails if it is lost.
catalogs: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F babel.cfg -o locales/messages.pot --no-location --sort-output .
	$(VENV)/bin/pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching --ignore-obsolete
	$(VENV)/bin/meedoen translations status
