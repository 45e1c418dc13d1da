"""Query helpers shared by the selectors of every app."""

from __future__ import annotations

from typing import Any

from django.db.models import IntegerField, QuerySet, Subquery


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
