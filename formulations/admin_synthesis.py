"""Admin registrations of the synthesis part of formulations: every model with its history (who, when, why).

Batch draws are written by the services only (all lots in one transaction), so batch components are read-only here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from formulations.models import (
    Batch,
    BatchComponent,
    Electrode,
    Membrane,
    Mould,
    Pellet,
    ProcessStep,
    Recipe,
    RecipeComponent,
    RecipeVersion,
)


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RecipeComponentInline(ReadOnlyInline):
    model = RecipeComponent
    fields = ["order", "chemical", "role", "amount_kind", "amount", "entered_as"]


class ProcessStepInline(ReadOnlyInline):
    model = ProcessStep
    fields = ["order", "kind", "description", "duration", "temperature", "wavelength", "pressure", "dwell"]


class BatchComponentInline(ReadOnlyInline):
    model = BatchComponent
    fields = [
        "recipe_component",
        "lot",
        "planned_amount",
        "actual_amount",
        "entered_as",
        "deviation",
        "flagged",
    ]


@admin.register(Recipe)
class RecipeAdmin(SimpleHistoryAdmin):
    list_display = ["name", "team", "created_at"]
    list_filter = ["team"]
    search_fields = ["name", "description"]


@admin.register(RecipeVersion)
class RecipeVersionAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "frozen_at", "filler_fraction", "derived_from"]
    list_select_related = ["recipe", "derived_from__recipe"]
    list_filter = ["recipe__team"]
    search_fields = ["recipe__name", "notes"]
    readonly_fields = ["frozen_at"]
    inlines = [RecipeComponentInline, ProcessStepInline]


@admin.register(RecipeComponent)
class RecipeComponentAdmin(SimpleHistoryAdmin):
    list_display = ["version", "order", "chemical", "role", "amount_kind", "amount", "entered_as"]
    list_select_related = ["version__recipe", "chemical"]
    search_fields = ["chemical__name", "version__recipe__name"]


@admin.register(ProcessStep)
class ProcessStepAdmin(SimpleHistoryAdmin):
    list_display = ["version", "order", "kind", "description"]
    list_select_related = ["version__recipe"]
    list_filter = ["kind"]


@admin.register(Batch)
class BatchAdmin(SimpleHistoryAdmin):
    list_display = ["code", "recipe_version", "operator", "started_at", "status", "team"]
    list_select_related = ["recipe_version__recipe", "operator", "team"]
    list_filter = ["status", "team"]
    search_fields = ["code", "recipe_version__recipe__name"]
    readonly_fields = ["recipe_version", "scale_factor", "filler_fraction", "deviation_tolerance"]
    inlines = [BatchComponentInline]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a batch is cancelled with a reason, never deleted


@admin.register(BatchComponent)
class BatchComponentAdmin(SimpleHistoryAdmin):
    list_display = [
        "batch",
        "recipe_component",
        "lot",
        "planned_amount",
        "actual_amount",
        "deviation",
        "flagged",
    ]
    list_select_related = [
        "batch",
        "recipe_component__chemical",
        "recipe_component__version__recipe",
        "lot__chemical",
    ]
    list_filter = ["flagged"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Mould)
class MouldAdmin(SimpleHistoryAdmin):
    list_display = ["name", "shape", "area", "material"]
    search_fields = ["name"]


@admin.register(Membrane)
class MembraneAdmin(SimpleHistoryAdmin):
    list_display = [
        "code",
        "batch",
        "mould",
        "cast_mass",
        "thickness_from_mass",
        "thickness_measured",
        "team",
    ]
    list_select_related = ["batch", "mould", "team"]
    list_filter = ["team", "slurry_density_estimated"]
    search_fields = ["code", "batch__code"]
    readonly_fields = ["thickness_from_mass"]


@admin.register(Pellet)
class PelletAdmin(SimpleHistoryAdmin):
    list_display = [
        "code",
        "lot",
        "press_pressure",
        "sinter_temperature",
        "geometric_density",
        "relative_density",
    ]
    list_select_related = ["lot__chemical", "team"]
    list_filter = ["team", "press_mode"]
    search_fields = ["code", "lot__code"]
    readonly_fields = ["geometric_density", "relative_density", "transaction"]


@admin.register(Electrode)
class ElectrodeAdmin(SimpleHistoryAdmin):
    list_display = ["code", "active_lot", "area", "loading", "active_mass", "team"]
    list_select_related = ["active_lot__chemical", "team"]
    list_filter = ["team"]
    search_fields = ["code", "active_lot__code"]
    readonly_fields = ["active_mass"]
