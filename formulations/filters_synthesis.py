"""FilterSets of the synthesis records, shared by the API and the list pages."""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from formulations.forms_synthesis import mould_choice_label
from formulations.models import (
    Batch,
    BatchStatus,
    Chemical,
    Electrode,
    Membrane,
    Mould,
    Pellet,
    PressMode,
    Recipe,
    RecipeVersion,
    StockLot,
)
from lims.filtering import IdChoiceFilter, PageFilterSet, yes_no_filter
from lims.models import Team
from lims.permissions import scope_to_teams, team_ids_for, teams_for


class _ScopedChoices(PageFilterSet):
    """Choice lists hold only what the user may see, with the joins their labels need (no query per option)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope(self.user)

    def scope(self, user: Any) -> None:
        pass

    def _set(self, name: str, qs: QuerySet[Any]) -> None:
        self.filters[name].queryset = qs  # type: ignore[attr-defined]


def _lots() -> QuerySet[StockLot]:
    return StockLot.objects.select_related("chemical").order_by("code")


class RecipeFilter(_ScopedChoices):
    team = filters.ModelChoiceFilter(queryset=Team.objects.all())
    q = filters.CharFilter(method="search", label="Name contains")

    class Meta:
        model = Recipe
        fields = ["team"]

    def scope(self, user: Any) -> None:
        # the page lists the user's teams; the API accepts any team as before (and finds no recipe of another)
        self.offer_choices("team", teams_for(user).order_by("name"))

    def search(self, qs: QuerySet[Recipe], name: str, value: str) -> QuerySet[Recipe]:
        return qs.filter(Q(name__icontains=value) | Q(description__icontains=value))


class RecipeVersionFilter(_ScopedChoices):
    frozen = yes_no_filter(field_name="frozen_at", lookup_expr="isnull", exclude=True, label="Frozen")

    class Meta:
        model = RecipeVersion
        fields = ["recipe"]

    def scope(self, user: Any) -> None:
        self._set("recipe", scope_to_teams(Recipe.objects.all(), user))


class BatchFilter(_ScopedChoices):
    q = filters.CharFilter(method="search", label="Code or recipe")
    status = filters.ChoiceFilter(choices=BatchStatus.choices)
    recipe = IdChoiceFilter(field_name="recipe_version__recipe", label="Recipe", help_text="the recipe's id")
    flagged = yes_no_filter(method="filter_flagged", label="Has flagged deviations")
    started_after = filters.DateFilter(
        field_name="started_at", lookup_expr="date__gte", label="Started on or after"
    )
    started_before = filters.DateFilter(
        field_name="started_at", lookup_expr="date__lte", label="Started on or before"
    )

    class Meta:
        model = Batch
        fields = ["status", "recipe_version", "operator"]

    def scope(self, user: Any) -> None:
        self.offer_choices("recipe", scope_to_teams(Recipe.objects.order_by("name"), user))
        versions = RecipeVersion.objects.select_related("recipe").order_by("recipe__name", "-number")
        self._set("recipe_version", scope_to_teams(versions, user, "recipe__team"))
        users = get_user_model().objects.order_by("username")
        if not getattr(user, "is_staff", False):
            users = users.filter(memberships__team_id__in=team_ids_for(user)).distinct()
        self._set("operator", users)

    def search(self, qs: QuerySet[Batch], name: str, value: str) -> QuerySet[Batch]:
        return qs.filter(Q(code__icontains=value) | Q(recipe_version__recipe__name__icontains=value))

    def filter_flagged(self, qs: QuerySet[Batch], name: str, value: bool | None) -> QuerySet[Batch]:
        if value is None:
            return qs
        return qs.filter(**{"flagged_count__gt": 0}) if value else qs.filter(**{"flagged_count": 0})


class MouldFilter(PageFilterSet):
    class Meta:
        model = Mould
        fields = ["shape"]


class MembraneFilter(_ScopedChoices):
    q = filters.CharFilter(field_name="code", lookup_expr="icontains", label="Code")
    min_thickness_um = filters.NumberFilter(
        field_name="thickness_from_mass", lookup_expr="gte", label="Thickness ≥ (um)"
    )
    max_thickness_um = filters.NumberFilter(
        field_name="thickness_from_mass", lookup_expr="lte", label="Thickness ≤ (um)"
    )

    class Meta:
        model = Membrane
        fields = ["batch", "mould"]

    def scope(self, user: Any) -> None:
        self._set("batch", scope_to_teams(Batch.objects.order_by("-started_at"), user))
        self.offer_choices("mould", Mould.objects.order_by("name"), mould_choice_label)


class PelletFilter(_ScopedChoices):
    q = filters.CharFilter(field_name="code", lookup_expr="icontains", label="Code")
    press_mode = filters.ChoiceFilter(choices=PressMode.choices)

    class Meta:
        model = Pellet
        fields = ["lot", "press_mode"]

    def scope(self, user: Any) -> None:
        self._set("lot", _lots())


class ElectrodeFilter(_ScopedChoices):
    q = filters.CharFilter(field_name="code", lookup_expr="icontains", label="Code")
    chemical = IdChoiceFilter(
        field_name="active_lot__chemical", label="Active material", help_text="the chemical's id"
    )

    class Meta:
        model = Electrode
        fields = ["active_lot"]

    def scope(self, user: Any) -> None:
        self._set("active_lot", _lots())
        # the active materials of the electrodes the user may see: a handful of chemicals, one query
        used = scope_to_teams(Electrode.objects.all(), user).values("active_lot__chemical")
        self.offer_choices("chemical", Chemical.objects.filter(pk__in=used).order_by("name"))
