"""The API's filter backends, applied to lists only.

DRF runs every filter backend in ``get_object`` too, so each read of one record built the list's FilterSet,
validated the list's query parameters and compiled their (empty) filters: about 0.6 ms per request on a detail,
for nothing, since who may see a record is decided by the viewset's ``get_queryset`` (team scoping), never by a
filter. These subclasses leave a detail route's queryset as it is; lists, and list-like actions
(``detail=False``, such as the CSV exports), filter as before, and the schema is unchanged.

A list asked for without any filter parameter (only paging, sorting, searching or the format, or nothing) skips
the FilterSet: building it (a deep copy of its filters, a form class made twice, a form field per filter) and
validating an empty form was 15% of ``/api/v1/cells/`` under cProfile, to return the queryset unchanged. That
an empty FilterSet is the identity for every FilterSet of the LIMS is checked in lims/tests/test_filtering.py.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as django_filters
from rest_framework import filters


class _ListOnly:
    def filter_queryset(self, request: Any, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        if getattr(view, "detail", False):
            return queryset
        return super().filter_queryset(request, queryset, view)  # type: ignore[misc, no-any-return]


#: query parameters that are never a filter (DRF's defaults for ordering and search; the paginators' below)
_NOT_FILTERS = frozenset({"ordering", "search", "format"})


def _no_filter_asked(request: Any, view: Any) -> bool:
    names = request.query_params.keys()
    if not names:
        return True
    paginator = getattr(view, "paginator", None)
    paging = {
        getattr(paginator, attr, None)
        for attr in ("page_query_param", "page_size_query_param", "cursor_query_param")
    }
    return all(name in _NOT_FILTERS or name in paging for name in names)


class DjangoFilterBackend(_ListOnly, django_filters.DjangoFilterBackend):
    def filter_queryset(self, request: Any, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        if _no_filter_asked(request, view):
            return queryset
        return super().filter_queryset(request, queryset, view)


class SearchFilter(_ListOnly, filters.SearchFilter):
    pass


class OrderingFilter(_ListOnly, filters.OrderingFilter):
    """DRF's, with the key as the last sort column: ``?ordering=-temperature`` orders the many measurements at the
    same temperature by id too, so that a page holds the same rows on every request and paging through the list
    neither repeats nor skips a row (PostgreSQL returns ties in whatever order its plan yields)."""

    def get_ordering(self, request: Any, queryset: QuerySet[Any], view: Any) -> Any:
        ordering = super().get_ordering(request, queryset, view)
        if not ordering or any(str(f).lstrip("-") in ("pk", "id") for f in ordering):
            return ordering
        return [*ordering, "-pk" if str(ordering[0]).startswith("-") else "pk"]
