# Two commands on a fresh machine with Python 3.11+, pip and make:
#   make run    install, migrate, load the demo, serve on http://127.0.0.1:8000 (SQLite, in-process tasks)
#   make test   install, then lint, type-check and run the whole test suite (PostgreSQL/Redis when reachable)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test lock worker bench
install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	touch $@

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py runserver 127.0.0.1:8000

test: install
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/test.sh

worker: install
	$(BIN)/celery -A lims worker -Q default,ingest -l info --concurrency 2

lock:
	$(BIN)/uv pip compile --quiet pyproject.toml --extra test --extra dev -o requirements.lock

bench: install
	for f in bench/bench_*.py; do $(BIN)/python $$f || exit 1; done
