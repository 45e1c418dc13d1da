"""Query helpers shared by the selectors of every app."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Field, ForeignObject, IntegerField, Lookup, Q, QuerySet, Subquery


class SubqueryCount(Subquery):
    """``COUNT(*)`` of a correlated subquery, for per-row counts on list pages (``batch.membrane_count``).

    Unlike ``annotate(n=Count("membranes"))`` it adds no join and no GROUP BY to the outer query: a page of 50
    rows runs 50 index look-ups instead of aggregating the team's whole child table, and ``.count()`` of the
    paginator drops the annotation altogether (Django removes unused non-aggregate annotations from counts).
    """

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _count)"
    output_field = IntegerField()

    def __init__(self, queryset: QuerySet[Any], **extra: Any) -> None:
        super().__init__(queryset.order_by().values("pk"), **extra)


#: columns of a *related* row that no list or detail shows through the relation (the record's own are kept)
BOOKKEEPING_FIELDS = ("created_at", "updated_at", "created_by", "notes", "description")
#: columns of a related user that are never shown (a user is shown as its full name or username)
UNSHOWN_USER_FIELDS = (
    "password",
    "last_login",
    "is_superuser",
    "email",
    "is_staff",
    "is_active",
    "date_joined",
    "is_instrument",
)


def without_bookkeeping(qs: QuerySet[Any], *paths: str) -> QuerySet[Any]:
    """``qs.defer(...)`` of the bookkeeping columns of the rows joined in by ``select_related(*paths)``.

    A page of 50 cells joins seven tables; fetching each one's timestamps, creator and notes doubled the
    columns read and converted (psycopg parses every timestamp; Django's time-zone loader is the pure-Python
    one), for values no list or detail shows. Only fields of related rows are deferred, never the record's own.
    A template that did read one would run a query per row: the query-count tests catch that.
    """
    deferred: list[str] = []
    for path in paths:
        model = qs.model
        for part in path.split("__"):
            model = model._meta.get_field(part).related_model
        names = {f.name for f in model._meta.concrete_fields}
        unused = BOOKKEEPING_FIELDS + (UNSHOWN_USER_FIELDS if model._meta.label == "lims.User" else ())
        deferred += [f"{path}__{name}" for name in unused if name in names]
    return qs.defer(*deferred) if deferred else qs


class AnyOf(Lookup):  # type: ignore[type-arg]
    """``field__any=[1, 2, 3]``: the rows whose value is one of a list, as *one* parameter whatever its length.

    ``field__in=ids`` writes one placeholder per id, so each length is a new SQL text: it cannot be compiled once
    (lims/compiled.py) nor prepared once by PostgreSQL. This lookup writes ``field = ANY(%s::type[])`` on
    PostgreSQL (the list bound as one array) and ``field IN (SELECT value FROM json_each(%s))`` on SQLite (the
    list bound as one JSON text). An empty list matches nothing, as ``__in=[]`` does. Registered on every field
    and relation (``LimsConfig.ready``); meant for integer keys and ids, not model instances.
    """

    lookup_name = "any"
    prepare_rhs = False
    can_use_none_as_rhs = False

    def get_prep_lookup(self) -> Any:
        if isinstance(self.rhs, str) or not isinstance(self.rhs, list | tuple | set | frozenset):
            raise TypeError(f"__any takes a list of values, not {type(self.rhs).__name__}")
        values = [self.lhs.output_field.get_prep_value(v) for v in self.rhs]
        if any(v is None for v in values):
            raise ValueError("__any takes no None: a NULL never matches")
        return values

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_db_prep_value(v, connection, prepared=True) for v in self.rhs]
        param = any_param(connection, values, integer_bounds(field, connection))
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s::{field.cast_db_type(connection)}[])", (*lhs_params, param)
        return f"{lhs} IN (SELECT value FROM json_each(%s))", (*lhs_params, param)


class IdList(list):  # type: ignore[type-arg]
    """``__any``'s parameter on PostgreSQL: the values, and the range of the column's integers. A value outside
    it matches no row but would fail the cast to the column's array type, so it is left out (Django's ``__in``
    leaves such values out too); a compiled query keeps the range to do the same with each call's values."""

    bounds: tuple[int, int] | None = None


def integer_bounds(field: Any, connection: Any) -> tuple[int, int] | None:
    """The range of an integer column (a relation's: its target's), or None for other columns."""
    while getattr(field, "target_field", None) is not None and field.is_relation:
        field = field.target_field
    internal = field.get_internal_type()
    if internal not in connection.ops.integer_field_ranges:
        return None
    return connection.ops.integer_field_range(internal)


def any_param(connection: Any, values: list[Any], bounds: tuple[int, int] | None = None) -> Any:
    """The one parameter ``__any`` binds for ``values`` on this connection (compiled queries rebind it)."""
    if bounds is not None:
        low, high = bounds
        values = [v for v in values if (low is None or v >= low) and (high is None or v <= high)]
    if connection.vendor == "postgresql":
        param = IdList(values)
        param.bounds = bounds
        return param
    return json.dumps(list(values))


def register_lookups() -> None:
    Field.register_lookup(AnyOf)
    ForeignObject.register_lookup(AnyOf)  # a relation's lookups are its own, not Field's


#: beyond this many ids a look-up stays a subquery (the ids would make one very large parameter)
MAX_LOOKED_UP_IDS = 10_000


def pointing_at(field: str, records: QuerySet[Any]) -> Q:
    """``Q(field__in=records)``, with the records' ids looked up first (a query of their own) and bound as one
    array (``field = ANY(%s)``, ``AnyOf``).

    A filter through another table's rows (a code, a recipe's name, a filler range) as an ``IN (SELECT ...)``
    subquery leaves it to the planner where to apply it; on the lists that join eight or more tables (beyond
    ``join_collapse_limit``) it joined the team's every row first and the subquery last:
    ``/derived/?membrane_code=`` 849 ms, ``?recipe_name=`` 0.9 s on the large lab. With the ids known, the list is
    filtered by its foreign key's index from the start. More than ``MAX_LOOKED_UP_IDS`` records stay a subquery.
    """
    ids = list(records.order_by().values_list("pk", flat=True)[: MAX_LOOKED_UP_IDS + 1])  # in no order: a set
    if len(ids) > MAX_LOOKED_UP_IDS:
        return Q(**{f"{field}__in": records.values("pk")})
    return Q(**{f"{field}__any": ids})
