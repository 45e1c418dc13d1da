"""Admin registrations of the inventory part of formulations (with the history of every record).

The on-hand quantity of a lot is read-only here: it changes only through the ledger services. The ledger itself is
read-only (append-only rows written by the services).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from formulations.models import (
    Chemical,
    ChemicalSynonym,
    StockLot,
    StockTransaction,
    StorageLocation,
    Supplier,
)


class ChemicalSynonymInline(admin.TabularInline):
    model = ChemicalSynonym
    extra = 1
    fields = ["name"]


@admin.register(Chemical)
class ChemicalAdmin(SimpleHistoryAdmin):
    list_display = [
        "name",
        "abbreviation",
        "cas_number",
        "role",
        "molar_mass",
        "density",
        "low_stock_threshold",
    ]
    list_filter = ["role", "moisture_sensitive", "store_in_glovebox", "light_sensitive"]
    search_fields = ["name", "abbreviation", "cas_number", "synonyms__name"]
    inlines = [ChemicalSynonymInline]


@admin.register(ChemicalSynonym)
class ChemicalSynonymAdmin(SimpleHistoryAdmin):
    list_display = ["name", "chemical"]
    search_fields = ["name", "chemical__name"]
    list_select_related = ["chemical"]


@admin.register(Supplier)
class SupplierAdmin(SimpleHistoryAdmin):
    list_display = ["name", "website", "contact"]
    search_fields = ["name"]
    # as the app's supplier form: a website typed without a scheme is https (Django 6's default, no warning now)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(StorageLocation)
class StorageLocationAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "parent"]
    list_filter = ["kind"]
    search_fields = ["name"]
    list_select_related = ["parent__parent__parent"]


class StockTransactionInline(admin.TabularInline):
    model = StockTransaction
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "quantity", "entered_as", "balance_after", "actor", "reason", "purpose"]
    readonly_fields = [
        "created_at",
        "kind",
        "quantity",
        "entered_as",
        "balance_after",
        "actor",
        "reason",
        "purpose",
    ]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StockLot)
class StockLotAdmin(SimpleHistoryAdmin):
    list_display = [
        "code",
        "chemical",
        "quantity_on_hand",
        "quantity_unit",
        "status",
        "location",
        "expires_on",
    ]
    list_filter = ["status", "quantity_unit", "chemical__role"]
    search_fields = ["code", "chemical__name", "supplier_lot_number"]
    list_select_related = ["chemical", "location__parent__parent__parent"]
    readonly_fields = ["quantity_on_hand", "quantity_unit", "status"]
    inlines = [StockTransactionInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # lots are received through the inventory pages or the API, which write the ledger


@admin.register(StockTransaction)
class StockTransactionAdmin(SimpleHistoryAdmin):
    """The ledger: read-only (rows are appended by the services, never edited)."""

    list_display = ["id", "created_at", "lot", "kind", "quantity", "balance_after", "actor", "reason"]
    list_filter = ["kind"]
    search_fields = ["lot__code", "reason", "purpose"]
    list_select_related = ["lot__chemical", "actor"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
