"""Admin of the cells app: every model with its audit history (who, when, what changed, why)."""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from cells.models import Cell, CellComponent, CellStateChange


class CellComponentInline(admin.TabularInline):
    model = CellComponent
    extra = 0
    fields = ["kind", "position", "lot", "electrode", "area", "mass_used", "transaction"]
    readonly_fields = ["transaction"]
    raw_id_fields = ["lot", "electrode"]


class CellStateChangeInline(admin.TabularInline):
    model = CellStateChange
    extra = 0
    fields = ["at", "from_state", "to_state", "actor", "reason"]
    readonly_fields = ["at", "from_state", "to_state", "actor", "reason"]
    can_delete = False

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False  # state changes go through cells.services.change_state


@admin.register(Cell)
class CellAdmin(SimpleHistoryAdmin):
    list_display = [
        "code",
        "configuration",
        "cell_format",
        "membrane",
        "pellet",
        "state",
        "assembled_at",
        "team",
    ]
    list_filter = ["state", "configuration", "cell_format", "team"]
    search_fields = ["code", "notes"]
    date_hierarchy = "assembled_at"
    list_select_related = ["membrane", "pellet", "team"]
    raw_id_fields = ["membrane", "pellet", "cathode", "operator", "created_by"]
    readonly_fields = ["state", "state_changed_at", "version", "active_area"]
    inlines = [CellComponentInline, CellStateChangeInline]


@admin.register(CellComponent)
class CellComponentAdmin(SimpleHistoryAdmin):
    list_display = ["cell", "kind", "position", "lot", "electrode", "area", "mass_used"]
    list_filter = ["kind"]
    search_fields = ["cell__code", "lot__code"]
    list_select_related = ["cell", "lot", "electrode"]
    raw_id_fields = ["cell", "lot", "electrode", "transaction", "created_by"]


@admin.register(CellStateChange)
class CellStateChangeAdmin(SimpleHistoryAdmin):
    list_display = ["cell", "from_state", "to_state", "at", "actor", "reason"]
    list_filter = ["to_state"]
    search_fields = ["cell__code", "reason"]
    list_select_related = ["cell", "actor"]
    readonly_fields = ["cell", "from_state", "to_state", "at", "actor", "reason"]

    def has_add_permission(self, request: object) -> bool:
        return False  # append-only: written by cells.services.change_state

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
