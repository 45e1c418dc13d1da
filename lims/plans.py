"""Generic plans for the hot reads whose shape makes them safe to plan once (PostgreSQL, prepared statements).

With prepared statements (``DB_PREPARED_STATEMENTS=1``) PostgreSQL plans a statement for its first five runs with
the values bound ("custom" plans), then compares the cost it estimates for a plan made without the values (the
"generic" plan) with the average of the custom ones, and keeps re-planning on every run when the generic one looks
dearer. Several of the most used reads stay there: the derived-property list by name (API and page), the cell list
page and the cell page's provenance walk and headline results. Their generic plans look dearer only because the
planner has to guess the values: ``= ANY($1::bigint[])`` is taken for a list of ten ids, ``name = $2`` for an
average name. They run as fast as the custom plans, through the same indexes, but every request paid for planning
a join of up to nine tables again: 2-8 ms of the database's time per statement, measured on the large lab with
``EXPLAIN (ANALYZE) EXECUTE`` under both modes (docs/scaling.md, sixth pass).

Forcing generic plans for every statement is not safe: a filter whose best plan depends on its value
(``/api/v1/uploads/?stage=failed``, ``?filler_wt=``) went from 0.4 ms to 90 ms, or from 23 to 147 ms, on a generic plan
(``bench/explain_filters.py --analyze --generic`` compares). So a view opts in, naming the filter parameters with
which its reads in their default order are still plan-safe (an index serves the filter and the order as its
leading columns, whatever the value); any other parameter with a value (another filter, another sort order), or
any other method than GET/HEAD, leaves PostgreSQL's own choice. Inside the block
the request's connections run with ``plan_cache_mode = force_generic_plan``, reset when the view returns (or
raises). Off unless ``settings.GENERIC_QUERY_PLANS`` (on with prepared statements on PostgreSQL; ``DB_GENERIC_PLANS=0``
switches it off).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.db import DatabaseError, connections
from django.http import HttpRequest

from lims.compiled import Statement, run_together
from lims.db_router import PRIMARY, REPLICA, replica_reads_allowed

#: parameters that choose a page, never which rows match nor their order (an order asked for next to a filter
#: makes the best plan depend on how many rows the filter keeps: walk the order's index, or filter and sort)
PLAN_NEUTRAL = frozenset({"page", "cursor", "page_size"})

_active: contextvars.ContextVar[bool] = contextvars.ContextVar("lims_generic_plans", default=False)

V = TypeVar("V", bound=Callable[..., Any])


def _aliases() -> list[str]:
    aliases = [PRIMARY]
    if REPLICA in connections.settings and replica_reads_allowed():
        aliases.append(REPLICA)
    return [a for a in aliases if connections[a].vendor == "postgresql"]


@contextmanager
def generic_plans() -> Iterator[None]:
    """Within the block, prepared statements run on generic plans (a no-op when switched off or nested)."""
    if not getattr(settings, "GENERIC_QUERY_PLANS", False) or _active.get():
        yield
        return
    switched: list[str] = []  # reset exactly the connections that were switched, even if a later one failed
    token = _active.set(True)
    try:
        for alias in _aliases():
            with connections[alias].cursor() as cur:
                cur.execute("SET plan_cache_mode = force_generic_plan")
            switched.append(alias)
        yield
    finally:
        _active.reset(token)
        for alias in switched:
            connection = connections[alias]
            if connection.connection is None:
                continue  # closed by the view (an error): a new connection starts with the default mode
            try:
                with connection.cursor() as cur:
                    cur.execute("RESET plan_cache_mode")
            except DatabaseError:
                connection.close()  # never hand on a connection whose mode is unknown


def run_on_generic_plans(statements: list[Statement]) -> list[Any]:
    """``run_together(statements)`` on generic plans, with the switch and its reset sent in the same round trip
    (``generic_plans`` sends each alone: two round trips more). For compiled reads whose plan does not depend on
    their values (a hot list page); a no-op switch where ``generic_plans`` would be one."""
    if not statements or not getattr(settings, "GENERIC_QUERY_PLANS", False) or _active.get():
        return run_together(statements)
    alias = statements[0].alias
    if any(st.alias != alias for st in statements) or connections[alias].vendor != "postgresql":
        return run_together(statements)

    def nothing(rows: list[Any]) -> None:
        return None

    on = Statement(alias, "SET plan_cache_mode = force_generic_plan", [], nothing)
    off = Statement(alias, "RESET plan_cache_mode", [], nothing)
    try:
        return run_together([on, *statements, off])[1:-1]
    except Exception:
        connection = connections[alias]
        if connection.connection is not None:
            try:
                with connection.cursor() as cur:
                    cur.execute("RESET plan_cache_mode")
            except DatabaseError:
                connection.close()  # never hand on a connection whose mode is unknown
        raise


def plan_safe(request: HttpRequest, filters: Iterable[str]) -> bool:
    """A GET or HEAD whose parameters with a value are all page choices or ``filters``."""
    if request.method not in ("GET", "HEAD"):
        return False
    allowed = PLAN_NEUTRAL.union(filters)
    return all(key in allowed for key, values in request.GET.lists() if any(values))


def _respond(
    request: Any, filters: Iterable[str] | None, view: Callable[..., Any], *args: Any, **kwargs: Any
) -> Any:
    """``view(request, ...)``, on generic plans when the request is ``plan_safe`` with ``filters`` (None: never)."""
    if filters is not None and plan_safe(request, filters):
        with generic_plans():
            return view(request, *args, **kwargs)
    return view(request, *args, **kwargs)


def generic_plans_for(*filters: str) -> Callable[[V], V]:
    """Decorate a page view: its reads run on generic plans when the request is ``plan_safe`` with ``filters``."""

    def decorate(view: V) -> V:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            return _respond(request, filters, view, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


class GenericPlansMixin:
    """For a DRF viewset: ``generic_plan_filters`` maps an action to the filters with which it is plan-safe."""

    generic_plan_filters: Mapping[str, Iterable[str]] = {}

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        action = getattr(self, "action_map", {}).get(request.method.lower())
        filters = self.generic_plan_filters.get(action) if action else None
        return _respond(request, filters, super().dispatch, *args, **kwargs)  # type: ignore[misc]
