#!/usr/bin/env bash
# Back up the LIMS: the PostgreSQL database (pg_dump custom format) and the media folder (raw instrument files,
# Parquet data, attachments) into one timestamped directory.
#   DATABASE_URL=postgres://... MEDIA_ROOT=/data/media scripts/backup.sh /backups
set -euo pipefail
dest_root=${1:?usage: backup.sh DEST_DIR}
: "${DATABASE_URL:?DATABASE_URL must point at the PostgreSQL database}"
media=${MEDIA_ROOT:-var/media}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
dest="$dest_root/lims-$stamp"
mkdir -p "$dest"
pg_dump --format=custom --no-owner --file "$dest/db.dump" "$DATABASE_URL"
if [ -d "$media" ]; then tar -C "$media" -czf "$dest/media.tar.gz" .; else tar -czf "$dest/media.tar.gz" -T /dev/null; fi
( cd "$dest" && sha256sum db.dump media.tar.gz > SHA256SUMS )
echo "$dest"
