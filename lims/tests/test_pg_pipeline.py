"""Statements pipelined straight through libpq (lims/pg_pipeline.py): the rows a Django cursor fetches, for every
kind of value the LIMS stores, with server- and client-side binding, prepared or not; Django's errors, with the
connection usable after them; the query log and execute wrappers still see every statement (then Django's
cursors run them); one round trip."""

from __future__ import annotations

import contextlib
import datetime
import decimal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, DataError, connection, transaction
from django.test.utils import CaptureQueriesContext

from lims import pg_pipeline
from lims.compiled import Statement, run_together
from lims.tests.protocol import traced

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="libpq's pipeline: PostgreSQL only"),
]

MOMENT = datetime.datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=datetime.UTC)

#: (SQL, parameters): every kind of column and parameter the LIMS reads, NULLs, several rows, a command
STATEMENTS: list[tuple[str, list[Any]]] = [
    (
        "SELECT %s::int, %s::bigint, %s::text, %s::varchar, %s::boolean",
        [7, 2**40, "Zwölf ' \" %", "ab", True],
    ),
    (
        "SELECT %s::timestamptz, %s::date, now() - now(), %s::numeric, %s::float8",
        [
            MOMENT,
            datetime.date(2026, 1, 2),
            decimal.Decimal("1.250"),
            0.1,
        ],
    ),
    (
        "SELECT %s::jsonb, '[1, 2]'::json, %s::uuid, %s::bigint[], '\\x00ff'::bytea",
        [
            '{"a": [1, "b"]}',
            uuid.UUID(int=5),
            [1, 2, 3],
        ],
    ),
    ("SELECT NULL::int, NULL::text, NULL::timestamptz, %s::text", [None]),
    ("SELECT g, g * 2.5 FROM generate_series(1, %s) AS g ORDER BY g", [5]),
    ("SELECT 1 WHERE false", []),
    ("SET LOCAL statement_timeout = 0", []),
    ("SELECT '100%%'::text, %s::text", ["%"]),
]


def _cursor_rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description is not None else []


def _pipelined(statements: list[tuple[str, list[Any]]]) -> list[tuple[list[tuple[Any, ...]], Any]]:
    _begin()
    read = pg_pipeline.read(connection, [(sql, params, False) for sql, params in statements])
    assert read is not None, "the libpq path applies to this connection"
    return read


def _begin() -> None:
    """Make the test's transaction begin (psycopg sends BEGIN on a transaction's first statement)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


@contextlib.contextmanager
def _binding(server_side: bool) -> Iterator[None]:
    """The connection's cursor class as Django makes it for either setting of ``server_side_binding`` (only
    server-side binding prepares statements)."""
    from django.db.backends.postgresql.base import Cursor, ServerBindingCursor

    connection.ensure_connection()
    raw = connection.connection
    kept = raw.cursor_factory
    raw.cursor_factory = ServerBindingCursor if server_side else Cursor
    try:
        yield
    finally:
        raw.cursor_factory = kept


@pytest.fixture(params=["server-side binding", "client-side binding"])
def binding(request: pytest.FixtureRequest) -> Iterator[str]:
    with _binding(request.param == "server-side binding"):
        yield request.param


@pytest.mark.parametrize("threshold", [None, 0, 2])
def test_the_rows_are_a_django_cursors(binding: str, threshold: int | None) -> None:
    """Each statement answers what a Django cursor fetches, every time (prepared on the first run, the third, or
    never), all of them together in one pipeline and each alone."""
    connection.ensure_connection()
    raw = connection.connection
    kept = raw.prepare_threshold
    raw.prepare_threshold = threshold
    try:
        expected = [_cursor_rows(sql, params) for sql, params in STATEMENTS]
        for _ in range(4):
            assert [rows for rows, _ in _pipelined(STATEMENTS)] == expected
        for (sql, params), rows in zip(STATEMENTS, expected, strict=True):
            assert _pipelined([(sql, params)]) == [(rows, None)]
        if threshold is not None and binding == "server-side binding":
            assert raw._prepared._names, "psycopg's cache holds the statements prepared"
    finally:
        raw.prepare_threshold = kept


def test_the_values_have_the_types_a_cursor_gives() -> None:
    (got,) = _pipelined(STATEMENTS[1:2])[0][0]
    (expected,) = _cursor_rows(*STATEMENTS[1])
    assert [type(v) for v in got] == [type(v) for v in expected]
    assert got[0] == MOMENT and got[0].tzinfo == expected[0].tzinfo
    assert got[3] == decimal.Decimal("1.250") and str(got[3]) == "1.250"


def test_column_names_are_given_when_asked() -> None:
    _begin()
    read = pg_pipeline.read(connection, [("SELECT 1 AS a, 2 AS b", [], True), ("SELECT 3 AS c", [], False)])
    assert read == [([(1, 2)], ["a", "b"]), ([(3,)], None)]


def test_an_error_is_djangos_and_the_connection_answers_after_it(binding: str) -> None:
    """The first failed statement's error, as Django raises it, after every result was read: the statements
    after it are not run, and the connection (in the test's transaction, rolled back to a savepoint) answers."""
    ok = ("SELECT %s::int", [1])
    with pytest.raises(DataError, match="division by zero"), transaction.atomic():
        _pipelined([ok, ("SELECT 1 / %s", [0]), ("SELECT 'never'::int", [])])
    with pytest.raises(DatabaseError, match="does_not_exist"), transaction.atomic():
        _pipelined([("SELECT * FROM does_not_exist", []), ok])
    assert _pipelined([ok]) == [([(1,)], None)]


@pytest.mark.django_db(transaction=True)
def test_a_statement_prepared_after_a_failure_is_prepared_again() -> None:
    """A statement psycopg would prepare on this run (its third) behind a failed one is not prepared: the
    failure aborts the rest of the pipeline. psycopg's cache must not then name it as prepared. In autocommit,
    as requests run (in a transaction, the rollback to its savepoint empties psycopg's cache anyway)."""
    connection.ensure_connection()
    raw = connection.connection
    kept = raw.prepare_threshold
    raw.prepare_threshold = 2
    statement = ("SELECT %s::int + 40", [2])
    try:
        with _binding(server_side=True):
            _pipelined([statement])
            _pipelined([statement])
            with pytest.raises(DataError):
                _pipelined([("SELECT 1 / %s", [0]), statement])  # the third run: its Prepare is aborted
            prepared = {query for query, _ in raw._prepared._names}
            assert b"SELECT $1::int + 40" not in prepared
            for _ in range(3):
                assert _pipelined([statement]) == [([(42,)], None)]
            assert b"SELECT $1::int + 40" in {query for query, _ in raw._prepared._names}, "prepared again"
    finally:
        raw.prepare_threshold = kept


def test_the_query_log_and_execute_wrappers_see_every_statement() -> None:
    """With queries logged or an execute wrapper installed, the libpq path does not apply: Django's cursors run
    the statements, so what the log and the wrappers saw before is what they see now."""
    statements = [Statement("default", sql, params, list) for sql, params in STATEMENTS[:3]]
    _begin()
    assert pg_pipeline.applies(connection)
    expected = [_cursor_rows(sql, params) for sql, params in STATEMENTS[:3]]
    with CaptureQueriesContext(connection) as ctx:
        assert not pg_pipeline.applies(connection)
        assert run_together(statements) == expected
    assert len(ctx.captured_queries) == 3

    seen: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        assert not pg_pipeline.applies(connection)
        run_together(statements)
    assert seen == [sql for sql, _ in STATEMENTS[:3]]


@pytest.mark.django_db(transaction=True)
def test_a_transaction_not_yet_begun_is_left_to_psycopg() -> None:
    """In autocommit the path applies; in a transaction, only once it has begun: before its first statement
    psycopg sends BEGIN, and that path is psycopg's."""
    connection.ensure_connection()
    assert connection.connection.autocommit and pg_pipeline.applies(connection)
    assert _pipelined_alone() == [([(1,)], None)]
    with transaction.atomic():
        assert not pg_pipeline.applies(connection)
        assert run_together([Statement("default", "SELECT %s::int", [1], list)]) == [[(1,)]]
        assert pg_pipeline.applies(connection)
        assert _pipelined_alone() == [([(1,)], None)]


def _pipelined_alone() -> Any:
    return pg_pipeline.read(connection, [("SELECT %s::int", [1], False)])


def test_one_round_trip(tmp_path: Path) -> None:
    """Every statement and the Sync in one write, one ReadyForQuery back (libpq's protocol trace)."""
    _begin()
    wanted = [(sql, params, False) for sql, params in STATEMENTS]
    read, kinds = traced(connection, lambda: pg_pipeline.read(connection, wanted), tmp_path)
    assert read is not None
    assert kinds.count("Sync") == 1
    assert kinds.count("ReadyForQuery") == 1
    assert kinds.count("Execute") == len(STATEMENTS)


def test_the_path_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """``LIMS_LIBPQ_PIPELINE=0``: Django's cursors run every statement, with the same rows."""
    statements = [Statement("default", sql, params, list) for sql, params in STATEMENTS]
    _begin()
    on = run_together(statements)
    monkeypatch.setattr(pg_pipeline, "ENABLED", False)
    assert not pg_pipeline.applies(connection)
    assert pg_pipeline.read(connection, [("SELECT 1", [], False)]) is None
    assert run_together(statements) == on
