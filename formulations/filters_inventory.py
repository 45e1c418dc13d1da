"""FilterSets of the inventory, shared by the API and the list pages (one place for "what does ?status= mean")."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet

from formulations.models import (
    Batch,
    Chemical,
    ChemicalRole,
    LotStatus,
    StockLot,
    StockTransaction,
    StorageLocation,
    Supplier,
    TransactionKind,
)
from formulations.selectors_inventory import chemical_search_q, location_descendant_ids
from lims.filtering import PageFilterSet, yes_no_filter
from lims.permissions import scope_to_teams


class StockLotFilter(PageFilterSet):
    q = django_filters.CharFilter(
        method="filter_q", label="Search (code, chemical, synonym, CAS, supplier lot)"
    )
    chemical = django_filters.ModelChoiceFilter(queryset=Chemical.objects.all())
    location = django_filters.ModelChoiceFilter(
        queryset=StorageLocation.objects.select_related("parent__parent__parent"),
        method="filter_location",
        label="Location (and places inside it)",
    )
    supplier = django_filters.ModelChoiceFilter(queryset=Supplier.objects.all())
    status = django_filters.MultipleChoiceFilter(
        choices=LotStatus.choices, distinct=False
    )  # a column: no DISTINCT
    expires_before = django_filters.DateFilter(
        field_name="expires_on", lookup_expr="lte", label="Expires on or before (YYYY-MM-DD)"
    )
    code = django_filters.CharFilter(method="filter_code", label="Label code")

    class Meta:
        model = StockLot
        fields = ["q", "chemical", "location", "supplier", "status", "expires_before", "code"]

    def filter_q(self, queryset: QuerySet[StockLot], name: str, value: str) -> QuerySet[StockLot]:
        value = value.strip()
        if not value:
            return queryset
        chemicals = Chemical.objects.filter(chemical_search_q(value)).values("pk")
        return queryset.filter(
            Q(code__iexact=value) | Q(supplier_lot_number__icontains=value) | Q(chemical__in=chemicals)
        )

    def filter_code(self, queryset: QuerySet[StockLot], name: str, value: str) -> QuerySet[StockLot]:
        return queryset.filter(code=value.strip().upper()) if value.strip() else queryset

    def filter_location(self, queryset: QuerySet[StockLot], name: str, value: Any) -> QuerySet[StockLot]:
        return queryset.filter(location_id__in=location_descendant_ids(value)) if value else queryset


class ChemicalFilter(PageFilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Name, abbreviation, synonym or CAS")
    role = django_filters.ChoiceFilter(choices=ChemicalRole.choices)
    cas_number = django_filters.CharFilter()
    moisture_sensitive = yes_no_filter(field_name="moisture_sensitive", label="Moisture sensitive")
    store_in_glovebox = yes_no_filter(field_name="store_in_glovebox", label="Store in glovebox")

    class Meta:
        model = Chemical
        fields = ["q", "role", "cas_number", "moisture_sensitive", "store_in_glovebox"]

    def filter_q(self, queryset: QuerySet[Chemical], name: str, value: str) -> QuerySet[Chemical]:
        return queryset.filter(chemical_search_q(value)) if value.strip() else queryset


class SupplierFilter(PageFilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name")

    class Meta:
        model = Supplier
        fields = ["q"]


class StorageLocationFilter(PageFilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name")

    class Meta:
        model = StorageLocation
        fields = ["q", "kind", "parent"]


class StockTransactionFilter(django_filters.FilterSet):
    lot = django_filters.ModelChoiceFilter(queryset=StockLot.objects.select_related("chemical"))
    code = django_filters.CharFilter(field_name="lot__code", lookup_expr="iexact", label="Lot code")
    chemical = django_filters.ModelChoiceFilter(field_name="lot__chemical", queryset=Chemical.objects.all())
    kind = django_filters.MultipleChoiceFilter(choices=TransactionKind.choices, distinct=False)
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = StockTransaction
        fields = ["lot", "code", "chemical", "kind", "batch", "actor"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # a batch is a team record: another team's batch is not a choice, as an id that does not exist is not
        # (the ledger would otherwise list what a batch of theirs drew, by its id)
        user = getattr(self.request, "user", None)
        self.filters["batch"].queryset = scope_to_teams(Batch.objects.all(), user)
