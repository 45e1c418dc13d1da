"""Migrations: committed for every model change (CI also runs makemigrations --check) and reversible unless a
migration says it is irreversible on purpose (``irreversible_on_purpose = "why"`` on the Migration class)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

PROJECT_APPS = {"lims", "formulations", "cells", "measurements"}


@pytest.mark.django_db
def test_every_project_migration_is_reversible_or_says_why_not():
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    checked, problems = 0, []
    for (app, name), migration in loader.disk_migrations.items():
        if app not in PROJECT_APPS:
            continue
        checked += 1
        if getattr(migration, "irreversible_on_purpose", ""):
            continue
        for op in migration.operations:
            if not op.reversible:
                problems.append(f"{app}.{name}: {op.describe()}")
    print(f"\nmigrations checked: {checked}, irreversible without a reason: {len(problems)}")
    assert checked > 0
    assert problems == []
