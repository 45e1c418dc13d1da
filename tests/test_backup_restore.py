"""Backup and restore (scripts/backup.sh, scripts/restore.sh): a dump restored into a fresh database finds every
record and every file.

The lab in the database is the test world (tests/world.py: inventory, synthesis, cells, an upload parsed into
Parquet, derived properties, the audit trail) plus an attachment. After the restore, every table of the schema
(the app tables, their history tables, Django's own) holds the same rows (same count and same checksum of the
rows' text), no migration is missing, and every file under MEDIA_ROOT is back byte for byte, still read-only
where it was.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.db import connection

from lims.models import Attachment, Team

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _url(name: str) -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"


def _tables(conn: Any) -> list[str]:
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    ).fetchall()
    return [r[0] for r in rows]


def _fingerprint(conn: Any, table: str) -> tuple[int, str]:
    """(rows, md5 of the rows' text in a fixed order): equal only if the contents are equal."""
    count, digest = conn.execute(
        f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM \"{table}\" t"
    ).fetchone()
    return int(count), str(digest)


def _files(root: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mode & 0o777)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_a_backup_restored_into_a_fresh_database_has_every_record_and_file(
    tmp_path, settings, researcher, manager
):
    from django.contrib.contenttypes.models import ContentType

    from tests.world import build_world

    team = Team.objects.get(slug="ssb")
    settings.CELERY_TASK_ALWAYS_EAGER = True
    build_world(team=team, researcher=researcher, manager=manager)
    attachment = Attachment(
        content_type=ContentType.objects.get_for_model(Team), object_id=team.pk, caption="photo", team=team
    )
    attachment.file.save("photo.txt", ContentFile(b"a photo of the glovebox"), save=True)

    counts = {
        m._meta.label: m._default_manager.count()
        for m in apps.get_models()
        if m._meta.app_label in ("lims", "formulations", "cells", "measurements")
    }
    env = {
        **os.environ,
        "DATABASE_URL": _url(connection.settings_dict["NAME"]),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    backup_dir = (
        subprocess.run(
            ["bash", str(ROOT / "scripts/backup.sh"), str(tmp_path / "backups")],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )

    target = f"lims_restore_{uuid.uuid4().hex[:8]}"
    admin_url = _url("postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{target}"')
    try:
        restored_media = tmp_path / "restored-media"
        env_restore = {**os.environ, "DATABASE_URL": _url(target), "MEDIA_ROOT": str(restored_media)}
        subprocess.run(
            ["bash", str(ROOT / "scripts/restore.sh"), backup_dir],
            env=env_restore,
            check=True,
            capture_output=True,
            text=True,
        )
        with psycopg.connect(_url(target)) as conn:
            for label, expected in counts.items():
                table = apps.get_model(label)._meta.db_table
                (found,) = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()  # type: ignore[misc]
                assert found == expected, label
            restored = {t: _fingerprint(conn, t) for t in _tables(conn)}
            (name,) = conn.execute("SELECT file FROM lims_attachment WHERE caption = 'photo'").fetchone()  # type: ignore[misc]
        with psycopg.connect(_url(connection.settings_dict["NAME"])) as conn:
            original = {t: _fingerprint(conn, t) for t in _tables(conn)}
        assert restored == original, sorted(t for t in original if restored.get(t) != original[t])
        assert (restored_media / name).read_bytes() == b"a photo of the glovebox"
        files = _files(Path(settings.MEDIA_ROOT))
        assert _files(restored_media) == files
        assert any(k.startswith("raw/") for k in files) and any(k.startswith("parsed/") for k in files)
        pending = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--check", "--plan"],
            cwd=ROOT,
            env={**env_restore, "DATABASE_URL": _url(target)},
            capture_output=True,
            text=True,
        )
        assert pending.returncode == 0, (
            pending.stdout + pending.stderr
        )  # the schema is complete, nothing to migrate
        print(
            f"\nbackup/restore: {len(original)} tables ({sum(n for n, _ in original.values())} rows) and "
            f"{len(files)} files restored identically (row checksums and SHA-256 equal), no migration missing"
        )
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
