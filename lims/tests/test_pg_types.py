"""lims/pg_types.py: timestamps read through psycopg's C parser must be the values Django's own loader returns."""

from __future__ import annotations

import datetime
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.pq import Format

from lims.pg_types import tz_loader

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL loader"),
]

VALUES = [
    "2026-12-06 10:11:16.123456+00",
    "2026-12-06 10:11:16+05:30",
    "2026-03-29 01:30:00+01",
    "0001-01-03 00:00:00+00",
    "9999-12-29 23:59:59.999999+00",
    "1970-01-01 00:00:00.5-08",
]


def _read(zone: str, register_django: bool) -> list[datetime.datetime]:
    with connection.cursor() as cursor:
        cursor.execute(f"SET TIME ZONE '{zone}'")
        try:
            raw = cursor.cursor
            if register_django:
                register_tzloader(connection.timezone, raw)  # Django's loader, on this cursor only
            rows = []
            for text in VALUES:
                cursor.execute("SELECT %s::timestamptz", [text])
                rows.append(cursor.fetchone()[0])
            return rows
        finally:
            cursor.execute("SET TIME ZONE 'UTC'")


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "Asia/Kolkata", "America/Los_Angeles"])
def test_the_values_are_djangos(zone: str) -> None:
    ours = _read(zone, register_django=False)
    django = _read(zone, register_django=True)
    assert ours == django
    assert [v.tzinfo for v in ours] == [v.tzinfo for v in django]
    assert [v.isoformat() for v in ours] == [v.isoformat() for v in django]


def test_every_connection_uses_it() -> None:
    connection.ensure_connection()
    oid = psycopg.adapters.types["timestamptz"].oid
    loader: Any = connection.connection.adapters.get_loader(oid, Format.TEXT)
    assert loader.timezone == connection.timezone  # so Django's cursor registers nothing more
    assert loader is tz_loader(connection.timezone)
    with connection.cursor() as cursor:
        cursor.execute("SELECT '2026-12-06 10:11:16+00'::timestamptz")
        value = cursor.fetchone()[0]
    assert value == datetime.datetime(2026, 12, 6, 10, 11, 16, tzinfo=datetime.UTC)


def test_it_parses_in_c_where_psycopg_has_its_c_implementation() -> None:
    loader: Any = tz_loader(datetime.UTC)(psycopg.adapters.types["timestamptz"].oid, None)
    expected = "psycopg_binary" if psycopg.pq.__impl__ == "binary" else "psycopg.types.datetime"
    assert type(loader._parse.__self__).__module__.startswith(expected)


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin"])
def test_the_parse_alone_loads_only_where_replace_changes_nothing(zone: str) -> None:
    """In a session whose TimeZone is Django's zone (UTC, as Django sets it) the C parser's times already carry
    Django's tzinfo, so the loader is the parser itself; in any other zone it replaces the tzinfo as Django's
    loader does (the values are compared with Django's in every zone above)."""
    connection.ensure_connection()
    raw = connection.connection
    oid = psycopg.adapters.types["timestamptz"].oid
    with connection.cursor() as cursor:
        cursor.execute(f"SET TIME ZONE '{zone}'")
        try:
            loader: Any = tz_loader(connection.timezone)(oid, raw)
            value = loader.load(b"2026-03-04 05:06:07.891011+01")
        finally:
            cursor.execute("SET TIME ZONE 'UTC'")
    if zone == "UTC":
        assert value == datetime.datetime(2026, 3, 4, 4, 6, 7, 891011, tzinfo=datetime.UTC)
    assert value.tzinfo is connection.timezone
    assert (loader.load == loader._parse) is (zone == "UTC")
