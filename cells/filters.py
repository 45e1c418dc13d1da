"""The one FilterSet of cells, shared by the API and the list page.

The API's id parameters (``membrane``, ``pellet``) stay as they are; the page leaves them out and offers the codes
(``membrane_code``, ``pellet_code``) instead, and draws ``team`` and ``recipe_version`` (ids in the API) as choice
lists of the user's teams and recipe versions by name (lims/filtering.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_filters
from django.db.models import Q, QuerySet

from cells.models import Cell, CellFormat, CellState, Configuration
from formulations.models import Membrane, Pellet, Recipe, RecipeVersion
from lims.filtering import CodeFilter, IdChoiceFilter, PageFilterSet
from lims.permissions import scope_to_teams, teams_for


class CellFilter(PageFilterSet):
    """Filter cells by state, configuration, format, electrolyte recipe, filler wt%, team and assembly date.

    Filler wt% is given in percent (20 means 20 wt%) and compared with the membrane's filler fraction (0-1).
    """

    code = django_filters.CharFilter(field_name="code", lookup_expr="icontains", label="Code contains")
    state = django_filters.MultipleChoiceFilter(choices=CellState.choices, distinct=False)
    configuration = django_filters.ChoiceFilter(choices=Configuration.choices)
    cell_format = django_filters.ChoiceFilter(choices=CellFormat.choices, label="Format")
    electrolyte = django_filters.ChoiceFilter(
        choices=[("membrane", "membrane"), ("pellet", "pellet")],
        method="filter_electrolyte",
        label="Electrolyte kind",
    )
    recipe = django_filters.ModelChoiceFilter(
        field_name="membrane__batch__recipe_version__recipe",
        queryset=Recipe.objects.all(),
        label="Electrolyte recipe",
    )
    recipe_version = IdChoiceFilter(
        field_name="membrane__batch__recipe_version",
        label="Electrolyte recipe version",
        help_text="the recipe version's id",
    )
    membrane = django_filters.NumberFilter(field_name="membrane", label="Membrane (id)")
    membrane_code = CodeFilter(field_name="membrane", model=Membrane, label="Membrane code")
    pellet = django_filters.NumberFilter(field_name="pellet", label="Pellet (id)")
    pellet_code = CodeFilter(field_name="pellet", model=Pellet, label="Pellet code")
    filler_wt = django_filters.NumberFilter(method="filter_filler_wt", label="Filler wt% (±0.5)")
    filler_wt_min = django_filters.NumberFilter(method="filter_filler_wt_min", label="Filler wt% at least")
    filler_wt_max = django_filters.NumberFilter(method="filter_filler_wt_max", label="Filler wt% at most")
    team = IdChoiceFilter(field_name="team", label="Team", help_text="the team's id")
    assembled_after = django_filters.DateFilter(
        field_name="assembled_at", lookup_expr="date__gte", label="Assembled on or after"
    )
    assembled_before = django_filters.DateFilter(
        field_name="assembled_at", lookup_expr="date__lte", label="Assembled on or before"
    )

    api_only = ("membrane", "pellet")

    class Meta:
        model = Cell
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = self.user
        if user is not None:
            self.filters["recipe"].queryset = scope_to_teams(Recipe.objects.all(), user)  # what it accepts
            for name, (rows, label) in self.page_choices(user).items():
                self.offer_choices(name, rows, label)

    @classmethod
    def page_choices(cls, user: Any) -> dict[str, tuple[QuerySet[Any], Callable[[Any], str]]]:
        """The user's recipes (the ones the filter accepts, in the same order), recipe versions and teams, as rows
        (a team holds hundreds of versions: no instances), labelled as their ``__str__`` labels them."""
        recipes = scope_to_teams(Recipe.objects.all(), user)
        versions = scope_to_teams(RecipeVersion.objects.all(), user, "recipe__team").order_by(
            "recipe__name", "number"
        )
        return {
            "recipe": (recipes.values_list("pk", "name"), _second),  # Recipe.__str__
            "recipe_version": (
                versions.values_list("pk", "recipe__name", "number"),
                _version_label,  # RecipeVersion.__str__
            ),
            "team": (teams_for(user).order_by("name").values_list("pk", "name"), _second),  # Team.__str__
        }

    def filter_electrolyte(self, qs: QuerySet[Cell], name: str, value: str) -> QuerySet[Cell]:
        if value == "membrane":
            return qs.filter(membrane__isnull=False)
        if value == "pellet":
            return qs.filter(pellet__isnull=False)
        return qs

    def filter_filler_wt(self, qs: QuerySet[Cell], name: str, value: Any) -> QuerySet[Cell]:
        """20 -> membranes with a filler fraction in [0.195, 0.205]; 0 also matches a plain PMA membrane."""
        fraction = float(value) / 100.0
        match = Q(
            membrane__filler_fraction__gte=fraction - 0.005, membrane__filler_fraction__lte=fraction + 0.005
        )
        if fraction == 0:
            match |= Q(membrane__isnull=False, membrane__filler_fraction__isnull=True)
        return qs.filter(match)

    def filter_filler_wt_min(self, qs: QuerySet[Cell], name: str, value: Any) -> QuerySet[Cell]:
        return qs.filter(membrane__filler_fraction__gte=float(value) / 100.0 - 1e-9)

    def filter_filler_wt_max(self, qs: QuerySet[Cell], name: str, value: Any) -> QuerySet[Cell]:
        return qs.filter(membrane__filler_fraction__lte=float(value) / 100.0 + 1e-9)


def _second(row: tuple[Any, ...]) -> str:
    return str(row[1])


def _version_label(row: tuple[Any, ...]) -> str:
    return f"{row[1]} v{row[2]}"
