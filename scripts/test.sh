#!/usr/bin/env bash
# The test command (make test): lint, types, migrations, then the suite.
# Uses PostgreSQL and Redis on 127.0.0.1 when they answer (CI always has them); otherwise the tests that need
# them skip with a reason and the rest run on SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."

port_open() { python - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(1)
try:
    s.connect((sys.argv[1], int(sys.argv[2]))); print("yes")
except OSError:
    print("no")
PY
}

if [ -z "${DATABASE_URL:-}" ] && [ "$(port_open 127.0.0.1 5432)" = yes ]; then
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/lims"
fi
if [ -z "${LIMS_TEST_REDIS_URL:-}" ] && [ "$(port_open 127.0.0.1 6379)" = yes ]; then
  export LIMS_TEST_REDIS_URL="redis://127.0.0.1:6379/15"
fi
echo "database: ${DATABASE_URL:-SQLite (PostgreSQL tests skip)}  redis: ${LIMS_TEST_REDIS_URL:-none (worker tests skip)}"

ruff check .
ruff format --check .
mypy .
# model changes without a migration; against an in-memory SQLite database (the consistency check of the migration
# history would otherwise warn that the PostgreSQL database "lims" does not exist: the tests use test_lims)
DATABASE_URL="sqlite:///:memory:" python manage.py makemigrations --check --dry-run
python -m pytest "$@"
