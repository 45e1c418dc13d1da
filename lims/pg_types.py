"""PostgreSQL's ``timestamptz`` read by psycopg's C parser, with Django's time zone handling.

Django registers its own loader for ``timestamptz`` on every PostgreSQL connection
(``django.db.backends.postgresql.psycopg_any.BaseTzLoader``: parse, then ``replace(tzinfo=<the connection's zone>)``).
It subclasses psycopg's pure-Python loader, so with psycopg's C implementation installed (``psycopg[binary]``)
every timestamp was still parsed in Python: 3.7 us each, 7% of the cell page's processing time (about 100 of them)
and 4% of an upload status's. psycopg's C loader cannot be subclassed; ``tz_loader`` wraps it: the C parse, then
the same ``replace`` (1.2 us), or, when the parser answers in Django's zone already (the session's TimeZone is
UTC, as Django sets it, and Django's zone is UTC), the parse alone (0.15 us). ``install`` registers it on each new connection (``connection_created``); it keeps
the ``timezone`` attribute Django's cursor compares, so Django sees its own zone and registers nothing more.
Without the C implementation it wraps the Python parser: the same values, Django's speed.
``lims/tests/test_pg_types.py`` compares the values with Django's loader's, in several session time zones.
"""

from __future__ import annotations

import functools
from typing import Any

import psycopg
from django.db.backends.signals import connection_created
from psycopg.adapt import Loader
from psycopg.types.datetime import TimestamptzLoader as PythonTimestamptzLoader


def _parser_class() -> Any:
    if psycopg.pq.__impl__ == "binary":
        from psycopg_binary._psycopg import TimestamptzLoader  # type: ignore[attr-defined]

        return TimestamptzLoader
    return PythonTimestamptzLoader


#: a time the parser reads when a loader is made, to see in which zone it answers
_PROBE = b"2000-01-01 00:00:00+00"


@functools.cache
def tz_loader(zone: Any) -> type[Loader]:
    """A ``timestamptz`` text loader that returns what Django's loader for ``zone`` returns."""
    parser_class = _parser_class()

    class TzLoader(Loader):
        timezone = zone  # what Django's create_cursor compares with the connection's zone

        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self._parse = parse = parser_class(oid, context).load
            if parse(_PROBE).tzinfo is zone:
                # the parser's times are in Django's zone already (the session's TimeZone is that zone, as Django
                # sets it): replace() would change nothing, so the C parser is the loader (0.8 -> 0.15 us)
                self.load = parse  # type: ignore[method-assign]

        def load(self, data: Any) -> Any:
            return self._parse(data).replace(tzinfo=zone)

    return TzLoader


def _register(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "postgresql":
        connection.connection.adapters.register_loader("timestamptz", tz_loader(connection.timezone))


def install() -> None:
    connection_created.connect(_register, dispatch_uid="lims.pg_types")
