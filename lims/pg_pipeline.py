"""Statements sent to PostgreSQL in one pipeline straight through libpq: what ``lims.compiled.run_together`` did
with psycopg's ``Connection.pipeline()`` and a Django cursor per statement, with the bookkeeping of neither.

psycopg's pipeline serves every use (cursors kept for later, ``executemany``, nested pipelines, results read
while commands are still being sent): each ``execute`` in it runs a generator that waits for the socket (a
``poll``), sends its one command (a ``send`` of its own, so PostgreSQL wakes up for each) and looks for results;
each result is then matched to its cursor. For the dozen reads of a cell page that was ~290 µs of CPU in the
worker before a row was loaded, and Django's cursor per statement (its wrapper, its time zone check, its error
wrapper) added ~10 µs more each. Here every statement is converted by psycopg exactly as the connection's cursor
class converts it (``_convert_query``: server- or client-side binding as Django configured), prepared as that
cursor would prepare it (the connection's own prepared-statement cache, so psycopg and this share names and
limits), written to libpq's buffer, and sent with the Sync in one write; the results come back in order and are
loaded by the cursor's transformer (the connection's loaders: ``lims.pg_types``). One round trip, as before.

``read(connection, statements)`` returns, per statement, its rows (``fetchall()``'s tuples; none for a command)
and, when asked, its column names; or None when this path does not apply and the caller must use Django's cursor:

- Django must see every statement: with an execute wrapper installed (``connection.execute_wrapper``,
  django-zeal, the query-count tests' capture) or queries logged (``DEBUG``, ``assertNumQueries``), the caller's
  cursor path runs, so the query log and the wrappers see exactly what they saw before;
- a connection psycopg itself is using in a pipeline, one that is not healthy, or one in a transaction that
  has not begun yet (psycopg would send ``BEGIN`` first: left to psycopg).

A database error is raised as Django raises it (``connection.wrap_database_errors`` over psycopg's error for the
first failed statement), after every result up to the Sync has been read, so the connection stays usable.
``lims/tests/test_pg_pipeline.py`` compares the rows with a Django cursor's for every type the LIMS stores, both
bindings, prepared and not, and the errors.
"""

from __future__ import annotations

import os
from typing import Any

try:
    from psycopg import errors as pg_errors
    from psycopg import pq
    from psycopg._encodings import conn_encoding
    from psycopg._preparing import Prepare
    from psycopg._queries import PostgresClientQuery
    from psycopg.adapt import Transformer
    from psycopg.generators import fetch_many, send

    _OK = pq.ConnStatus.OK
    _INTRANS = pq.TransactionStatus.INTRANS
    _IDLE = pq.TransactionStatus.IDLE
    _PIPELINE_OFF = pq.PipelineStatus.OFF
    _TUPLES_OK = pq.ExecStatus.TUPLES_OK
    _COMMAND_OK = pq.ExecStatus.COMMAND_OK
    _FATAL_ERROR = pq.ExecStatus.FATAL_ERROR
    _PIPELINE_SYNC = pq.ExecStatus.PIPELINE_SYNC
    _TEXT = pq.Format.TEXT
except ImportError:  # no psycopg (SQLite only): never used
    pq = None  # type: ignore[assignment]


#: switched off with LIMS_LIBPQ_PIPELINE=0
ENABLED = os.environ.get("LIMS_LIBPQ_PIPELINE", "1") != "0"


def applies(connection: Any) -> bool:
    """Whether ``read`` may run on this Django connection now (see the module docstring)."""
    if (
        not ENABLED
        or pq is None
        or connection.vendor != "postgresql"
        or connection.execute_wrappers
        or connection.queries_logged
    ):
        return False
    raw = connection.connection
    if raw is None or not hasattr(raw, "pgconn") or getattr(raw, "_pipeline", None) is not None:
        return False
    pgconn = raw.pgconn
    if pgconn.status != _OK or pgconn.pipeline_status != _PIPELINE_OFF:
        return False
    status = pgconn.transaction_status
    return bool(status == _INTRANS or (status == _IDLE and raw.autocommit))


def read(
    connection: Any, statements: list[tuple[str, Any, bool]]
) -> list[tuple[list[tuple[Any, ...]], Any]] | None:
    """Run ``statements`` (SQL, parameters, whether to return the column names) in one pipeline; per statement
    its rows and its column names (or None). None: the path does not apply (``applies``); nothing was sent."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    if not applies(connection):
        return None
    connection.validate_thread_sharing()
    connection.validate_no_broken_transaction()
    with connection.wrap_database_errors:
        cursor = connection.create_cursor()  # the connection's cursor class, with Django's time zone loader
        try:
            return _run(connection.connection, cursor, statements)
        finally:
            cursor.close()


def _run(
    raw: Any, cursor: Any, statements: list[tuple[str, Any, bool]]
) -> list[tuple[list[tuple[Any, ...]], Any]]:
    pgconn = raw.pgconn
    prepared = raw._prepared
    # one transformer for every statement (a cursor makes one per statement): it converts the values of one
    # statement at a time, and loads one result at a time
    cursor._tx = Transformer(cursor)
    # per statement: (its prepared-cache key if a Prepare was sent before it, the key psycopg's cache asks to
    # validate, its prepare decision and name)
    sent: list[tuple[Any, Any, Any, bytes]] = []
    with raw.lock:
        pgconn.enter_pipeline_mode()
        try:
            for sql, params, _ in statements:
                pgq = cursor._convert_query(sql, params)
                prep, name = cursor._get_prepared(pgq, None)
                if prep is Prepare.NO:
                    if isinstance(
                        pgq, PostgresClientQuery
                    ):  # client-side binding: the values are in the text
                        pgconn.send_query_params(pgq.query, None)
                    else:
                        pgconn.send_query_params(
                            pgq.query,
                            pgq.params,
                            param_formats=pgq.formats,
                            param_types=pgq.types,
                            result_format=_TEXT,
                        )
                else:
                    if prep is Prepare.SHOULD:
                        pgconn.send_prepare(name, pgq.query, param_types=pgq.types)
                    pgconn.send_query_prepared(
                        name, pgq.params, param_formats=pgq.formats, result_format=_TEXT
                    )
                key = prepared.maybe_add_to_cache(pgq, prep, name)
                sent.append((prepared.key(pgq) if prep is Prepare.SHOULD else None, key, prep, name))
            pgconn.pipeline_sync()
            raw.wait(send(pgconn))  # the commands and the Sync in one write
            groups: list[list[Any]] = []
            while True:
                results = raw.wait(fetch_many(pgconn))
                if results and results[0].status == _PIPELINE_SYNC:
                    break
                groups.append(results)
        except BaseException:
            _abandon(raw)
            raise
        pgconn.exit_pipeline_mode()
    if (
        prepared._to_flush
    ):  # psycopg's cache evicted a statement: deallocate it, as psycopg does after a query
        raw.wait(prepared.maintain_gen(raw))
    return _results(raw, cursor, statements, sent, groups)


def _abandon(raw: Any) -> None:
    """An error other than a statement's (the connection lost, an interrupt) left results unread: the connection
    cannot leave pipeline mode in a known state, so it is closed (Django opens a new one on its next use)."""
    try:
        raw.pgconn.exit_pipeline_mode()
    except Exception:
        raw.close()


def _results(
    raw: Any,
    cursor: Any,
    statements: list[tuple[str, Any, bool]],
    sent: list[tuple[Any, Any, Any, bytes]],
    groups: list[list[Any]],
) -> list[tuple[list[tuple[Any, ...]], Any]]:
    out: list[tuple[list[tuple[Any, ...]], Any]] = []
    error: Exception | None = None
    tx = cursor._tx
    position = 0
    for (_, _, with_names), (prepared_key, key, prep, name) in zip(statements, sent, strict=True):
        if prepared_key is not None:
            failed = _error_of(raw, groups[position])
            position += 1
            if failed is not None:
                # not prepared after all (a statement before it failed): psycopg's cache must not say it is (it
                # only checks the first run of a statement, and a third run is the one prepared)
                raw._prepared._names.pop(prepared_key, None)
                error = error or failed
        results = groups[position]
        position += 1
        if key is not None:
            raw._prepared.validate(key, prep, name, results)
        error = error or _error_of(raw, results)
        if error is not None:
            continue
        result = results[-1]
        if result.status == _TUPLES_OK:
            tx.set_pgresult(result)
            rows = tx.load_rows(0, result.ntuples, tuple)
            names = (
                [result.fname(i).decode(tx.encoding) for i in range(result.nfields)] if with_names else None
            )
            out.append((rows, names))
        else:
            out.append(([], None))
    if position != len(groups):
        raise pg_errors.InternalError(f"the pipeline returned {len(groups)} results for {position} commands")
    if error is not None:
        raise error
    return out


def _error_of(raw: Any, results: list[Any]) -> Exception | None:
    for result in results:
        if result.status == _FATAL_ERROR:
            return pg_errors.error_from_result(result, encoding=conn_encoding(raw))
        if result.status not in (_TUPLES_OK, _COMMAND_OK):
            return pg_errors.PipelineAborted("pipeline aborted")
    return None
