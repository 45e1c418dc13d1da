"""Querysets of a fixed shape compiled to SQL once per process, for the look-ups every request makes.

Each request of the LIMS, before any of its own work, looks up who is asking: the API token (with its user), or
the session and then the user, and the user's team roles. Django compiles each of those querysets to SQL anew on
every request (resolving names, joins, the select list, the converters): for the token with its user that was
0.8-1.1 ms in-process for a 0.2 ms query, most of what a do-nothing DRF view cost (bench/bench_floor.py).

``CompiledQuery(build, *kinds)`` calls ``build`` once per database alias with one sentinel value per argument
(``kinds`` gives each argument's type: ``str``, ``int``, ``datetime``, or ``list`` for a list of ids used
in a ``field__any=`` lookup, lims.queries.AnyOf), compiles the queryset with Django's own
compiler and remembers the SQL and where each sentinel sits among the parameters. A call then runs that SQL with
the real values and builds the rows exactly as Django's ``ModelIterable`` does (the same compiler: the same column
converters, ``from_db``, ``select_related`` populators, annotations). Only the parameter values change between
calls; the SQL is the one Django wrote.

Rules, checked when the query is first compiled (a ``ValueError`` names the argument):

- each argument must reach the SQL as exactly one plain parameter (``field=value``, ``field__gt=value``); a lookup
  that rewrites its value (``__contains`` -> ``%value%``) or a list whose length changes the SQL (``__in``)
  cannot be compiled: a list goes through ``__any``, which binds it as one parameter;
- a datetime argument must be aware (it is bound as the backend binds a DateTimeField's value);
- ``build`` must depend on its arguments only: a value it reads from elsewhere (``timezone.now()``) would be
  frozen into the compiled query. Pass it as an argument.
- model instances only (no ``values()``), no ``prefetch_related``, no ``known related objects``.

The database is chosen per call with the router's ``db_for_read``, as a queryset would; the compiled plans are
kept per thread, since a compiler holds its thread's connection.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from typing import Any, Generic, NamedTuple, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators

from lims import pg_pipeline
from lims.queries import any_param

M = TypeVar("M", bound=Model)
Adapter = Callable[[Any], Any]

_MARK = "\x1flims-compiled-argument-"
#: inside every integer column's range (Django reads a value outside a field's range as "no row can match" and
#: drops the query: an IntegerField is 32-bit), far from the small constants querysets hold
_SENTINEL_INT = 2**31 - 1 - 7919
_SENTINEL_TIME = datetime.datetime(1901, 2, 3, 4, 5, 6, tzinfo=datetime.UTC)


def _sentinel(kind: type, i: int) -> Any:
    if kind is str:
        return f"{_MARK}{i}\x1f"
    if kind is int:
        return _SENTINEL_INT - i
    if kind is datetime.datetime:
        return _SENTINEL_TIME + datetime.timedelta(microseconds=i)
    if kind is list:
        return [_SENTINEL_INT - i]
    raise TypeError(f"CompiledQuery arguments are str, int, datetime or list (of ints), not {kind.__name__}")


def _binder(sentinel: Any, alias: str) -> Adapter | None:
    """How a call's value of this argument is bound, as the backend binds the sentinel (None: as it is)."""
    ops = connections[alias].ops
    if type(sentinel) is datetime.datetime:

        def bind_time(value: Any) -> Any:
            if value.tzinfo is None:
                raise ValueError("a compiled query's datetime argument must be aware (timezone.now())")
            return ops.adapt_datetimefield_value(value)

        return bind_time  # SQLite binds datetimes as text, PostgreSQL as they are
    if type(sentinel) is list:
        return _ids_binder(alias, None)
    return None


def _ids_binder(alias: str, bounds: tuple[int, int] | None) -> Adapter:
    """The one parameter of a ``field__any=`` lookup (lims.queries.AnyOf) for a call's list of ids; ``bounds``,
    the column's integer range, which the lookup's compiled parameter carries (values outside it are left out)."""
    connection = connections[alias]

    def bind_ids(value: Any) -> Any:
        if isinstance(value, str | bytes) or not all(type(v) is int for v in value):
            raise TypeError("a compiled query's list argument is a list of ints (ids)")
        return any_param(connection, list(value), bounds)

    return bind_ids


def _same_parameter(param: Any, bound: Any) -> bool:
    """Whether a compiled parameter is the sentinel: of its type, or of a subclass that the backend or a lookup
    wraps values in (Django binds a PositiveBigIntegerField's value as psycopg's Int8; ``__any`` its list as an
    ``IdList``)."""
    if type(bound) is int:
        return isinstance(param, int) and not isinstance(param, bool) and int(param) == bound
    if isinstance(bound, list):
        return isinstance(param, list) and list(param) == list(bound)
    return type(param) is type(bound) and param == bound


def _slots(
    params: tuple[Any, ...], sentinels: list[Any], alias: str
) -> list[tuple[int, int, Adapter | None]]:
    """Where each argument's sentinel sits among a compiled statement's parameters, and how a value is bound there.

    Refuses (``ValueError``) an argument that a lookup rewrote (``'%' + s + '%'``) or that reaches the SQL other
    than exactly once as a plain parameter."""
    plain = {s for s in sentinels if isinstance(s, str)}
    # a sentinel changed on its way (e.g. '%' + s + '%') is not a parameter that can be rebound
    for pos, p in enumerate(params):
        if isinstance(p, str) and _MARK in p and p not in plain:
            raise ValueError(f"parameter {pos} is an argument rewritten by its lookup: it cannot be compiled")
    slots: list[tuple[int, int, Adapter | None]] = []
    for i, sentinel in enumerate(sentinels):
        adapt = _binder(sentinel, alias)
        bound = adapt(sentinel) if adapt is not None else sentinel
        found = [pos for pos, p in enumerate(params) if _same_parameter(p, bound)]
        if len(found) != 1:
            raise ValueError(
                f"argument {i} reaches the SQL {len(found)} times as a plain parameter, not once: "
                "it cannot be compiled (see lims/compiled.py)"
            )
        wrapper = type(params[found[0]])
        if type(bound) is int and wrapper is not int:
            adapt = wrapper  # the backend binds this column's integers as a typed one (psycopg's Int8)
        if type(sentinel) is list:  # the column's range, as the lookup found it
            adapt = _ids_binder(alias, getattr(params[found[0]], "bounds", None))
        slots.append((found[0], i, adapt))
    return slots


def _bind(
    params: tuple[Any, ...], slots: list[tuple[int, int, Adapter | None]], args: tuple[Any, ...]
) -> list[Any]:
    bound = list(params)
    for pos, i, adapt in slots:
        bound[pos] = args[i] if adapt is None else adapt(args[i])
    return bound


def _row_converter(compiler: Any) -> Callable[[list[tuple[Any, ...]]], Any]:
    """What ``compiler.results_iter(rows)`` does to fetched rows (the columns' converters, composite keys), with
    the converters looked up once per compiled plan instead of on every call (Django asks every column's
    field and backend for them each time: a sixth of a one-row read)."""
    fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
    converters = compiler.get_converters(fields)
    composite = compiler.has_composite_fields(fields)

    def convert(fetched: list[tuple[Any, ...]]) -> Any:
        rows: Any = fetched
        if converters:
            rows = compiler.apply_converters(rows, converters)
        if composite:
            rows = compiler.composite_fields_to_tuples(rows, fields)
        return rows

    return convert


def _compile(queryset: QuerySet[Any], alias: str) -> tuple[Any, str, tuple[Any, ...]]:
    if getattr(queryset, "_prefetch_related_lookups", ()) or getattr(queryset, "_known_related_objects", {}):
        raise ValueError("CompiledQuery cannot compile prefetch_related or known related objects")
    compiler = queryset.query.get_compiler(using=alias)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet as empty:
        raise ValueError(
            "the queryset matches nothing whatever its arguments (or an argument's column cannot hold "
            "the sentinel): it cannot be compiled"
        ) from empty
    return compiler, sql, tuple(params)


class _Plan:
    __slots__ = (
        "compiler",
        "sql",
        "params",
        "slots",
        "init_list",
        "start",
        "end",
        "populators",
        "annotations",
        "convert",
    )

    def __init__(self, queryset: QuerySet[Any], alias: str, sentinels: list[Any]) -> None:
        if queryset._iterable_class is not ModelIterable:
            raise ValueError(
                "CompiledQuery compiles querysets of model instances (values_list(): CompiledValues)"
            )
        compiler, sql, params = _compile(queryset, alias)
        self.slots = _slots(params, sentinels, alias)
        klass_info = compiler.klass_info
        select = compiler.select
        fields = klass_info["select_fields"]
        self.compiler = compiler
        self.sql = sql
        self.params = params
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [f[0].target.attname for f in select[self.start : self.end]]
        # Django 5.2's signature (the stubs already describe a later one with fetch_mode)
        self.populators = get_related_populators(klass_info, select, alias)  # type: ignore[call-arg]
        self.annotations = dict(compiler.annotation_col_map or {})
        self.convert = _row_converter(compiler)


class _Compiled(Generic[M]):
    """What the compiled reads share: ``build(*args)`` returns the queryset, ``kinds`` the type of each argument
    (str, int, datetime, list); plans are kept per thread (a compiler holds its thread's connection: runserver
    and threaded workers have one per thread)."""

    def __init__(self, build: Callable[..., QuerySet[M]], *kinds: type) -> None:
        self.build = build
        self.kinds = kinds
        self._sentinels = [_sentinel(kind, i) for i, kind in enumerate(kinds)]  # refuses an unknown kind now
        self._local = threading.local()
        self._model: type[M] | None = None

    def model(self) -> type[M]:
        if self._model is None:
            self._model = self.build(*self._sentinels).model
        return self._model

    def _plans(self) -> dict[Any, Any]:
        """This thread's plans."""
        plans: dict[Any, Any] | None = getattr(self._local, "plans", None)
        if plans is None:
            plans = self._local.plans = {}
        return plans

    def _alias_of_call(self, args: tuple[Any, ...]) -> str:
        """The database a call with ``args`` reads (the router's), once their number is checked."""
        if len(args) != len(self.kinds):
            raise TypeError(f"expected {len(self.kinds)} arguments, got {len(args)}")
        return router.db_for_read(self.model())


class CompiledQuery(_Compiled[M]):
    """A queryset of model instances compiled once per process, thread and database (see the module)."""

    def _plan(self, alias: str) -> _Plan:
        plans = self._plans()
        plan = plans.get(alias)
        if plan is None:
            plan = plans[alias] = _Plan(self.build(*self._sentinels), alias, self._sentinels)
        return plan

    def statement(self, *args: Any) -> Statement:
        """The statement of a call, to run alone or with others (``run_together``); its result is ``all()``'s."""
        alias = self._alias_of_call(args)
        plan = self._plan(alias)

        def finish(rows: list[tuple[Any, ...]]) -> list[M]:
            model_cls = plan.compiler.klass_info["model"]
            out: list[M] = []
            for row in plan.convert(rows):
                obj = model_cls.from_db(alias, plan.init_list, row[plan.start : plan.end])
                for populator in plan.populators:
                    populator.populate(row, obj)
                for name, pos in plan.annotations.items():
                    setattr(obj, name, row[pos])
                out.append(obj)
            return out

        return Statement(alias, plan.sql, _bind(plan.params, plan.slots, args), finish)

    def all(self, *args: Any) -> list[M]:
        result: list[M] = run_together([self.statement(*args)])[0]
        return result

    def one(self, *args: Any) -> M | None:
        """The single row, or None; more than one row is an error (use it on unique look-ups)."""
        rows = self.all(*args)
        if len(rows) > 1:
            model: Any = self.model()
            raise model.MultipleObjectsReturned(f"{len(rows)} rows for a look-up expected to be unique")
        return rows[0] if rows else None


class _PlainPlan:
    __slots__ = ("sql", "params", "slots", "convert")

    def __init__(self, compiler: Any, sql: str, params: tuple[Any, ...], slots: Any) -> None:
        self.sql = sql
        self.params = params
        self.slots = slots
        self.convert = _row_converter(compiler)


class CompiledValues(_Compiled[Any]):
    """``build(*args)``, a ``values_list(...)`` queryset, compiled once per process, thread, database and slice.

    ``rows(*args)`` are the tuples Django's ``values_list`` would give (the same SQL, the same column converters,
    the columns in the order named); ``rows(*args, low=, high=)`` those of ``build(*args)[low:high]`` (each slice
    is compiled once: Django writes LIMIT and OFFSET into the SQL text). The same rules as ``CompiledQuery``
    apply to the arguments. For the hot reads that print rows without building model instances
    (``lims.api.rows``)."""

    def _plan(self, alias: str, low: int, high: int | None) -> _PlainPlan:
        plans = self._plans()
        key = (alias, low, high)
        plan = plans.get(key)
        if plan is None:
            queryset = self.build(*self._sentinels)
            if queryset._iterable_class is not ValuesListIterable:
                raise ValueError("CompiledValues compiles values_list() querysets (not flat, not named)")
            if low or high is not None:
                queryset = queryset[low:high]
            # Django (5.2) writes the columns in the order values_list() names them: rows are used as they come,
            # as its ValuesListIterable uses them
            compiler, sql, params = _compile(queryset, alias)
            if len(plans) >= _MAX_SLICES:
                plans.clear()  # a bounded cache: a client walking through every page compiles again
            plan = plans[key] = _PlainPlan(compiler, sql, params, _slots(params, self._sentinels, alias))
        return plan

    def statement(self, *args: Any, low: int = 0, high: int | None = None) -> Statement:
        """The statement of a call, to run alone or with others (``run_together``); its result is ``rows()``'s."""
        alias = self._alias_of_call(args)
        plan = self._plan(alias, low, high)

        def finish(fetched: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
            return [tuple(row) for row in plan.convert(fetched)]

        return Statement(alias, plan.sql, _bind(plan.params, plan.slots, args), finish)

    def rows(self, *args: Any, low: int = 0, high: int | None = None) -> list[tuple[Any, ...]]:
        result: list[tuple[Any, ...]] = run_together([self.statement(*args, low=low, high=high)])[0]
        return result


try:
    from psycopg.pq import ExecStatus

    _TUPLES_OK: Any = ExecStatus.TUPLES_OK
except ImportError:  # no psycopg: SQLite only
    _TUPLES_OK = None

#: compiled slices kept per CompiledValues, database and thread
_MAX_SLICES = 64


class _Captured(Exception):
    """Raised by the capturing wrapper so that a statement is recorded and never sent."""


class CompiledCount(_Compiled[Any]):
    """``build(*args).count()`` compiled once per process, thread and database: Django's own count statement
    (recorded once, with sentinel arguments, without being sent), run with each call's values."""

    def _plan(self, alias: str) -> tuple[str, tuple[Any, ...], Any]:
        plans = self._plans()
        plan = plans.get(alias)
        if plan is None:
            seen: list[tuple[str, tuple[Any, ...]]] = []

            def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
                seen.append((sql, tuple(params or ())))
                raise _Captured

            connection = connections[alias]
            logged, connection.force_debug_cursor = connection.force_debug_cursor, False
            try:
                with connection.execute_wrapper(capture):
                    try:
                        self.build(*self._sentinels).using(alias).count()
                    except _Captured:
                        pass
            finally:
                connection.force_debug_cursor = logged
            if connection.queries_logged and seen and connection.queries_log:
                connection.queries_log.pop()  # DEBUG: the recorded statement was never sent; log it as it runs
            if len(seen) != 1:
                raise ValueError(f"counting ran {len(seen)} statements, not one: it cannot be compiled")
            sql, params = seen[0]
            plan = plans[alias] = (sql, params, _slots(params, self._sentinels, alias))
        return plan

    def statement(self, *args: Any) -> Statement:
        """The statement of a call, to run alone or with others (``run_together``); its result is ``count()``'s."""
        alias = self._alias_of_call(args)
        sql, params, slots = self._plan(alias)
        return Statement(alias, sql, _bind(params, slots, args), lambda rows: int(rows[0][0]) if rows else 0)

    def count(self, *args: Any) -> int:
        result: int = run_together([self.statement(*args)])[0]
        return result


def statement_of(queryset: QuerySet[Any]) -> Statement:
    """The statement of a ``values_list`` queryset as it is (compiled now, not kept), to run with others
    (``run_together``); its result is ``list(queryset)``. For reads that vary too much to be compiled once but
    can share a round trip (a page's choice lists)."""
    if queryset._iterable_class is not ValuesListIterable:
        raise ValueError("statement_of reads values_list() querysets (not flat, not named)")
    alias = queryset.db
    compiler, sql, params = _compile(queryset, alias)
    convert = _row_converter(compiler)

    def finish(fetched: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in convert(fetched)]

    return Statement(alias, sql, list(params), finish)


class Statement(NamedTuple):
    """A compiled statement with a call's values: where it runs, its SQL and parameters, and what makes its
    result from the fetched rows. ``one_row``: it reads at most one row (a look-up by a unique key), so that
    ``run_together`` may read it in one statement with others like it (``one_row()``)."""

    alias: str
    sql: str
    params: list[Any]
    finish: Callable[[list[tuple[Any, ...]]], Any]
    one_row: bool = False

    def as_one_row(self) -> Statement:
        """This statement, declared to read at most one row (a key look-up)."""
        return self._replace(one_row=True)


#: column positions of the parts of a joined statement, by its SQL (``_joined``)
_JOINED_SPLITS: dict[str, list[int]] = {}


def _joined(statements: list[Statement]) -> Statement:
    """One statement reading what each of ``statements`` (one row at most each) reads: each is a ``LEFT JOIN
    LATERAL`` of a row that always exists, after a marker column that tells whether it found its row. One
    statement to parse, bind and execute instead of several (on loopback psycopg's pipeline saves nothing: its
    round trips are cheaper than its bookkeeping). Its result: one row, split by ``_split``."""
    parts = " ".join(
        f"LEFT JOIN LATERAL (SELECT true AS lims_found_{i}, q.* FROM ({st.sql}) AS q) AS p{i} ON true"
        for i, st in enumerate(statements)
    )
    columns = ", ".join(f"p{i}.*" for i in range(len(statements)))
    sql = f"SELECT {columns} FROM (SELECT 1) AS lims_one {parts}"
    params = [value for st in statements for value in st.params]
    return Statement(statements[0].alias, sql, params, lambda rows: rows)


def _wants_names(st: Statement, joined: Statement | None) -> bool:
    """The column names are needed: the joined statement's, the first time it runs (``_split`` keeps where its
    parts start); asking for a result's columns builds an object per column, ~50 for a token and a cell."""
    return st is joined and st.sql not in _JOINED_SPLITS


def _columns_of(cursor: Any, st: Statement, joined: Statement | None) -> list[str] | None:
    """The column names of a statement run through Django's cursor, if ``_wants_names``."""
    if not _wants_names(st, joined):
        return None
    return [column.name for column in cursor.description]


def _split(
    joined: Statement, names: list[str] | None, rows: list[tuple[Any, ...]], statements: list[Statement]
) -> list[Any] | None:
    """The results of ``statements`` from the rows of ``_joined(statements)`` (``names``: its columns' names, the
    first time); None when a statement found more than one row after all (then they are read one by one)."""
    if len(rows) != 1:
        return None
    starts = _JOINED_SPLITS.get(joined.sql)
    if starts is None:
        assert names is not None
        starts = _JOINED_SPLITS[joined.sql] = [names.index(f"lims_found_{i}") for i in range(len(statements))]
    row = rows[0]
    ends = [*starts[1:], len(row)]
    return [
        st.finish([row[start + 1 : end]] if row[start] is not None else [])
        for st, start, end in zip(statements, starts, ends, strict=True)
    ]


def _has_rows(cursor: Any) -> bool:
    """The statement answered rows (a SELECT), not a command's status (SET). psycopg's result status is asked
    directly: ``cursor.description`` would build a column object for every column of the result."""
    result = getattr(cursor.cursor, "pgresult", None)
    if result is not None:
        return bool(result.status == _TUPLES_OK)
    return cursor.description is not None


def run_together(statements: list[Statement]) -> list[Any]:
    """The results of ``statements``, in order. On PostgreSQL, statements for the same database are sent in one
    go (psycopg's pipeline mode) and their results read back together: one round trip to the server instead of
    one per statement, as when a page's count and its rows, or a record and its parts, are read: straight through
    libpq (``lims.pg_pipeline``), or, when Django must see each statement (an execute wrapper, the query log),
    through Django's cursors in psycopg's pipeline; the same rows and errors either way. Elsewhere (SQLite) they
    run one after the other."""
    results: list[Any] = [None] * len(statements)
    by_alias: dict[str, list[int]] = {}
    for i, st in enumerate(statements):
        by_alias.setdefault(st.alias, []).append(i)
    for alias, positions in by_alias.items():
        connection = connections[alias]
        connection.ensure_connection()
        postgresql = connection.vendor == "postgresql"
        # statements that read one row each: read in one statement (_joined), in the place of the first
        single = [i for i in positions if statements[i].one_row] if postgresql else []
        joined = _joined([statements[i] for i in single]) if len(single) > 1 else None
        run = [
            (i, joined if joined is not None and i in single else statements[i])
            for i in positions
            if joined is None or i not in single[1:]
        ]
        # straight through libpq when Django need not see each statement (lims/pg_pipeline.py)
        wanted = [(st.sql, st.params, _wants_names(st, joined)) for _, st in run]
        fetched = pg_pipeline.read(connection, wanted) if postgresql else None
        if fetched is None:
            fetched = _read_with_cursors(connection, [st for _, st in run], joined)
        for (i, st), (rows, names) in zip(run, fetched, strict=True):
            if st is not joined:
                results[i] = st.finish(rows)
                continue
            assert joined is not None
            parts = _split(joined, names, rows, [statements[k] for k in single])
            if parts is None:  # a statement read several rows after all: one by one, as declared
                parts = run_together([statements[k]._replace(one_row=False) for k in single])
            for k, result in zip(single, parts, strict=True):
                results[k] = result
    return results


def _read_with_cursors(
    connection: Any, run: list[Statement], joined: Statement | None
) -> list[tuple[list[tuple[Any, ...]], list[str] | None]]:
    """The rows (and, for the joined statement the first time, the column names) of each statement, read through
    Django's cursors: in psycopg's pipeline on PostgreSQL, one after the other elsewhere."""
    raw = connection.connection
    fetched: list[tuple[list[tuple[Any, ...]], list[str] | None]] = []
    if len(run) == 1 or not (connection.vendor == "postgresql" and hasattr(raw, "pipeline")):
        for st in run:
            with connection.cursor() as cursor:
                cursor.execute(st.sql, st.params)
                rows = cursor.fetchall() if _has_rows(cursor) else []
                fetched.append((rows, _columns_of(cursor, st, joined)))
        return fetched
    cursors = []
    try:
        # leaving the pipeline sends its one Sync and reads every result back (one round trip; a
        # pipeline.sync() inside the block would be a second: psycopg syncs again on leaving)
        with connection.wrap_database_errors, raw.pipeline():
            for st in run:
                cursor = connection.cursor()
                cursors.append(cursor)
                cursor.execute(st.sql, st.params)
        with connection.wrap_database_errors:
            for st, cursor in zip(run, cursors, strict=True):
                rows = cursor.fetchall() if _has_rows(cursor) else []
                fetched.append((rows, _columns_of(cursor, st, joined)))
    finally:
        for cursor in cursors:
            cursor.close()
    return fetched


class CompiledByIds(Generic[M]):
    """The rows of ``build()`` whose ``field`` is one of a list of ids, and, when team ids are given, whose
    ``team_field`` is one of those: two compiled queries (with and without the team list), each bound with
    ``__any`` so that one SQL text serves every length of either list. For walks over a graph by id (the
    provenance of a cell: a dozen queries, each of them compiled anew on every request before).

    ``rows(ids)`` (no team restriction: staff) or ``rows(ids, team_ids)``; no ids or no teams read nothing, as
    ``__in=[]`` reads nothing. The rows come in the database's order, as an unordered queryset's do.
    """

    def __init__(
        self, build: Callable[[], QuerySet[M]], field: str = "id", team_field: str | None = "team_id"
    ) -> None:
        self.field = field
        self.team_field = team_field
        self._every = CompiledQuery(lambda ids: build().filter(**{f"{field}__any": ids}), list)
        self._scoped: CompiledQuery[M] | None = None
        if team_field is not None:
            self._scoped = CompiledQuery(
                lambda ids, teams: build().filter(**{f"{field}__any": ids, f"{team_field}__any": teams}),
                list,
                list,
            )

    def rows(self, ids: Any, team_ids: list[int] | None = None) -> list[M]:
        statement = self.statement(ids, team_ids)
        return [] if statement is None else list(run_together([statement])[0])

    def statement(self, ids: Any, team_ids: list[int] | None = None) -> Statement | None:
        """The statement of ``rows(ids, team_ids)`` to run with others (``run_together``); None when it would
        read nothing (no ids, no teams)."""
        wanted = list(ids)
        if not wanted:
            return None
        if team_ids is None:
            return self._every.statement(wanted)
        if self._scoped is None:
            raise TypeError("this query has no team field: call rows(ids) without team ids")
        return self._scoped.statement(wanted, list(team_ids)) if team_ids else None


def run_each(
    statements: list[Statement | None], run: Callable[[list[Statement]], list[Any]] | None = None
) -> list[Any]:
    """``run_together`` (or ``run``, e.g. ``lims.plans.run_on_generic_plans``) of the statements that are not None
    (in one round trip); None gives no rows."""
    results = iter((run or run_together)([st for st in statements if st is not None]))
    return [[] if st is None else next(results) for st in statements]


def attach_children(parent: Model, related_name: str, rows: list[Any]) -> None:
    """Hold ``rows`` as the parent's ``related_name`` (a reverse foreign key), as ``prefetch_related`` would: later
    ``parent.<related_name>.all()`` reads them without a query, and each row's relation to the parent is set. For
    children read by a compiled query (``CompiledQuery`` compiles no prefetches); ``rows`` must be exactly the
    parent's children, in the order the relation's queryset gives."""
    manager = getattr(parent, related_name)
    foreign_key = manager.field  # the children's key to the parent
    queryset = manager.get_queryset()
    queryset._result_cache = rows
    queryset._prefetch_done = True
    for row in rows:
        if not foreign_key.is_cached(row):
            foreign_key.set_cached_value(row, parent)
    cache = parent.__dict__.setdefault("_prefetched_objects_cache", {})
    cache[foreign_key.remote_field.cache_name] = queryset  # the key the related manager reads
