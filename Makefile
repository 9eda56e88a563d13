# 政务通 — the two commands: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup venv migrate demo static clean

$(VENV)/.installed: requirements.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "需要 Python 3.11：找不到 $(PYTHON)"; exit 1; }
	@echo "==> Creating $(VENV) and installing requirements (first run takes a few minutes)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --disable-pip-version-check --progress-bar on pip
	$(PY) -m pip install --disable-pip-version-check --progress-bar on -r requirements.txt
	@touch $@

venv: $(VENV)/.installed

migrate: venv
	@echo "==> Migrating the database"
	$(PY) manage.py migrate --noinput

demo: migrate
	@echo "==> Loading demo data"
	$(PY) manage.py seed_demo

static: venv
	$(PY) manage.py collectstatic --noinput -v0

setup: demo

run: setup
	@$(PY) manage.py demo_logins
	@echo "==> Serving http://$(HOST):$(PORT)/ with daphne (Ctrl-C stops)"
	$(VENV)/bin/daphne -b $(HOST) -p $(PORT) portal.asgi:application

test: setup
	@echo "==> Running the test suite"
	$(PY) -m pytest

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-shm db.sqlite3-wal staticfiles
