# 政务通 — the two commands: `make run` and `make test`.
# Python 3.11: python3.11, or python3 when that is 3.11 (Debian 12). Override with `make PYTHON=...`.
ifndef PYTHON
PYTHON := $(shell for p in python3.11 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; \
	then echo $$p; break; fi; done)
endif
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Extra pytest arguments for the test targets, e.g. `make test-sqlite ARGS="-x tests/chat"`.
ARGS ?=

.PHONY: run run-prod test test-sqlite test-units test-e2e test-e2e-beside-postgres test-postgres lint setup venv migrate demo static clean

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || test -n "$(PYTHON)" || { echo "需要 Python 3.11：找不到 python3.11，python3 也不是 3.11 / Python 3.11 is required"; exit 1; }
	@test -x $(PY) || $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
		echo "需要 venv 模块：apt-get install python3-venv / the venv module is missing: apt-get install python3-venv"; exit 1; }
	@echo "==> Installing requirements into $(VENV) (the first run takes a few minutes)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }
	$(PY) -m pip install --upgrade --disable-pip-version-check --progress-bar off pip
	$(PY) -m pip install --disable-pip-version-check --progress-bar off -r requirements.txt
	@touch $@

venv: $(VENV)/.installed

migrate: venv
	@echo "==> Migrating the database"
	$(PY) manage.py migrate --noinput

demo: migrate
	@echo "==> Loading demo data"
	$(PY) manage.py seed_demo

static: venv
	@echo "==> Collecting static files"
	$(PY) manage.py collectstatic --noinput -v0

setup: demo

run: setup
	@$(PY) manage.py demo_logins
	@echo "==> Serving http://$(HOST):$(PORT)/ with daphne (Ctrl-C stops)"
	$(VENV)/bin/daphne -b $(HOST) -p $(PORT) --ping-interval 50 --ping-timeout 30 portal.asgi:application

# The whole suite on SQLite, then the database tests again on a throwaway PostgreSQL (see docs/testing.md).
# Collected static files too: WhiteNoise warns in every request test when STATIC_ROOT does not exist.
test: setup static
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory test-units
	@$(MAKE) --no-print-directory test-e2e-beside-postgres
	@echo "==> All test stages passed"

# pytest-xdist workers for the SQLite tests without a browser (1: one process). On the 2-core machine two
# were faster there, and slower for the PostgreSQL stage, which runs in one process (docs/testing.md).
WORKERS ?= 2
XDIST = $(if $(filter-out 0 1,$(WORKERS)),-n $(WORKERS))

# In two runs: the e2e tests need a process of their own (Playwright's event loop must not meet
# pytest-asyncio's), and they share one live server. With ARGS, a run that selects nothing is no failure.
test-sqlite: test-units test-e2e

test-units: venv
	@echo "==> Test suite on SQLite: unit, view, consumer and service tests"
	$(PY) -m pytest -m "not e2e" $(XDIST) --durations=15 $(ARGS) || [ $$? -eq 5 -a -n "$(ARGS)" ]

test-e2e: venv
	@echo "==> End-to-end tests on SQLite: headless Chromium against a live daphne"
	$(PY) -m pytest -m e2e --durations=15 $(ARGS) || [ $$? -eq 5 -a -n "$(ARGS)" ]

# The browser tests and the PostgreSQL stage each keep about one core busy, so `make test` runs them side by
# side: the PostgreSQL stage's progress on the terminal, the browser tests' into var/test-e2e.log, shown
# when both are done (all of it if they failed).
test-e2e-beside-postgres: venv
	@mkdir -p var
	@echo "==> End-to-end tests in the background beside the PostgreSQL stage (progress: var/test-e2e.log)"
	@$(MAKE) --no-print-directory test-e2e > var/test-e2e.log 2>&1 & e2e=$$!; \
	$(MAKE) --no-print-directory test-postgres; postgres=$$?; \
	echo "==> Waiting for the end-to-end tests to finish"; wait $$e2e; browser=$$?; \
	if [ $$browser -eq 0 ]; then tail -n 22 var/test-e2e.log; else cat var/test-e2e.log; fi; \
	[ $$postgres -eq 0 ] && [ $$browser -eq 0 ]

# Outside CI, a machine without PostgreSQL gets a notice and this stage is skipped; in CI it fails.
# Tests marked engine_independent ran on SQLite already (docs/testing.md).
test-postgres: venv
	@echo "==> Database tests again on a throwaway PostgreSQL"
	$(PY) -m tests.services postgres -- $(PY) -m pytest -m "not e2e and not engine_independent" --db-tests-only \
		--durations=15 $(ARGS)

# The import direction between the apps (contracts in pyproject.toml), then ruff's lint rules.
lint: venv
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-shm db.sqlite3-wal staticfiles

# The production setup on loopback: PostgreSQL, Redis, K daphne processes behind nginx (docs/deploy.md).
# Needs Debian's postgresql, redis-server, nginx and openssl; e.g. `make run-prod ARGS="--daphnes 2"`.
run-prod: venv
	deploy/run-prod.sh $(ARGS)
