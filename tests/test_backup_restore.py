"""Backup and restore (scripts/backup.sh, scripts/restore.sh): a dump restored into a fresh database finds every
record and every file."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

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


def test_a_backup_restored_into_a_fresh_database_has_every_record_and_file(tmp_path, settings, researcher):
    from django.contrib.contenttypes.models import ContentType

    team = Team.objects.get(slug="ssb")
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
            (name,) = conn.execute("SELECT file FROM lims_attachment").fetchone()  # type: ignore[misc]
        assert (restored_media / name).read_bytes() == b"a photo of the glovebox"
        print(
            f"\nbackup/restore: {len(counts)} tables, {sum(counts.values())} rows and 1 file restored identically"
        )
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
