#!/usr/bin/env bash
# Restore a backup made by backup.sh into an EMPTY database and media folder.
#   DATABASE_URL=postgres://.../lims_restored MEDIA_ROOT=/data/media-restored scripts/restore.sh /backups/lims-...
set -euo pipefail
src=${1:?usage: restore.sh BACKUP_DIR}
: "${DATABASE_URL:?DATABASE_URL must point at the (empty) target database}"
media=${MEDIA_ROOT:?MEDIA_ROOT must name the (empty) target media folder}
( cd "$src" && sha256sum --check --quiet SHA256SUMS )
pg_restore --no-owner --exit-on-error --dbname "$DATABASE_URL" "$src/db.dump"
mkdir -p "$media"
tar -C "$media" -xzf "$src/media.tar.gz"
echo "restored $src"
