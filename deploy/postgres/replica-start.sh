#!/usr/bin/env bash
# The read replica: on first start copy the primary with pg_basebackup (-R writes standby.signal and the
# primary_conninfo), then run as a hot standby that follows the primary's WAL.
set -euo pipefail
PGDATA=/var/lib/postgresql/data
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_basebackup -h postgres -U replicator -D "$PGDATA" -R -X stream -P; do
    echo "waiting for the primary ..."; sleep 2
  done
  chmod 700 "$PGDATA"
fi
exec postgres -D "$PGDATA" -c hot_standby=on -c max_connections=300
