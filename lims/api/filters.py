"""The API's filter backends, applied to lists only.

DRF runs every filter backend in ``get_object`` too, so each read of one record built the list's FilterSet,
validated the list's query parameters and compiled their (empty) filters: about 0.6 ms per request on a detail,
for nothing, since who may see a record is decided by the viewset's ``get_queryset`` (team scoping), never by a
filter. These subclasses leave a detail route's queryset as it is; lists, and list-like actions
(``detail=False``, such as the CSV exports), filter as before, and the schema is unchanged.
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


class DjangoFilterBackend(_ListOnly, django_filters.DjangoFilterBackend):
    pass


class SearchFilter(_ListOnly, filters.SearchFilter):
    pass


class OrderingFilter(_ListOnly, filters.OrderingFilter):
    pass
