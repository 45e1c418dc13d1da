"""FilterSets of the derived part, shared by the API (/api/v1/derived-properties/) and the page (/derived/).

Temperatures are read through lims.units: "20", "20 degC" or "293.15 K" all mean 20 °C; a value of another
dimension is refused with the message of parse_quantity. Filler content is in wt% (0-100).

The id parameters of the API (cell, series, membrane, pellet, recipe, recipe_version) stay as they are; the page
leaves them out (``api_only``) and offers what a researcher knows instead: the cell, membrane and pellet codes, the
series and recipe names (lims/filtering.py).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from cells.models import Cell
from formulations.models import Batch, Membrane, Pellet, Recipe, RecipeVersion
from lims.filtering import CodeFilter, PageFilterSet
from lims.queries import pointing_at
from lims.units import UnitError, parse_quantity
from measurements.models import DerivedProperty, MeasurementSeries, SeriesKind


class TemperatureFormField(forms.CharField):
    """Cleans "20", "20 degC" or "293.15 K" to a float in °C (None when empty)."""

    def clean(self, value: Any) -> float | None:  # type: ignore[override]
        text = super().clean(value)
        if text in (None, ""):
            return None
        try:
            return parse_quantity(text, dimension="temperature", unit="degC", allow_negative=True).magnitude
        except UnitError as exc:
            raise forms.ValidationError(str(exc), code="unit") from None


class TemperatureFilter(django_filters.Filter):
    """A temperature bound given with or without a unit, compared in °C."""

    field_class = TemperatureFormField


class DerivedPropertyFilter(PageFilterSet):
    name = django_filters.CharFilter(
        field_name="name", lookup_expr="exact", label="Property (e.g. ionic_conductivity)"
    )
    cell = django_filters.NumberFilter(field_name="cell_id", label="Cell id")
    cell_code = django_filters.CharFilter(field_name="cell__code", lookup_expr="iexact", label="Cell code")
    measurement = django_filters.NumberFilter(
        field_name="measurement_id", label="Measurement # (e.g. 309 for PEIS #309)"
    )
    series = django_filters.NumberFilter(field_name="series_id", label="Series id")
    series_name = django_filters.CharFilter(method="filter_series_name", label="Series name contains")
    membrane = django_filters.NumberFilter(field_name="membrane_id", label="Membrane id")
    membrane_code = CodeFilter(field_name="membrane", model=Membrane, label="Membrane code")
    pellet = django_filters.NumberFilter(field_name="pellet_id", label="Pellet id")
    pellet_code = CodeFilter(field_name="pellet", model=Pellet, label="Pellet code")
    recipe = django_filters.NumberFilter(
        field_name="membrane__batch__recipe_version__recipe_id", label="Recipe id"
    )
    recipe_version = django_filters.NumberFilter(
        field_name="membrane__batch__recipe_version_id", label="Recipe version id"
    )
    recipe_name = django_filters.CharFilter(method="filter_recipe_name", label="Recipe name")
    filler_min = django_filters.NumberFilter(method="filter_filler_min", label="Filler from (wt%)")
    filler_max = django_filters.NumberFilter(method="filter_filler_max", label="Filler to (wt%)")
    temperature_min = TemperatureFilter(field_name="temperature", lookup_expr="gte", label="Temperature from")
    temperature_max = TemperatureFilter(field_name="temperature", lookup_expr="lte", label="Temperature to")
    method_version = django_filters.CharFilter(field_name="method_version", label="Method version")

    api_only = ("cell", "series", "membrane", "pellet", "recipe", "recipe_version")

    class Meta:
        model = DerivedProperty
        fields: list[str] = []

    def filter_series_name(
        self, qs: QuerySet[DerivedProperty], name: str, value: str
    ) -> QuerySet[DerivedProperty]:
        """Series whose name contains ``value``: the few matching series first, then their properties."""
        value = value.strip()
        if not value:
            return qs
        return qs.filter(pointing_at("series", MeasurementSeries.objects.filter(name__icontains=value)))

    @staticmethod
    def _filler_q(lookup: str, wt_percent: float) -> Q:
        """Filler content of the membrane, else of its batch, else of its recipe version (stored as 0-1).

        Written as ``membrane IN (...)`` over the membranes, batches and versions that match, each found through
        its ``filler_fraction`` index, rather than as one OR across the joined tables (which no index serves:
        on a large lab it read every membrane and batch for each page)."""
        fraction = float(wt_percent) / 100.0
        match = {f"filler_fraction__{lookup}": fraction}
        versions = RecipeVersion.objects.filter(**match).values("pk")
        batches = Batch.objects.filter(
            Q(**match) | Q(filler_fraction__isnull=True, recipe_version__in=versions)
        )
        return pointing_at("membrane", Membrane.objects.filter(**match)) | pointing_at(
            "membrane", Membrane.objects.filter(filler_fraction__isnull=True, batch__in=batches.values("pk"))
        )

    def filter_recipe_name(
        self, qs: QuerySet[DerivedProperty], name: str, value: str
    ) -> QuerySet[DerivedProperty]:
        """Recipe name contains ``value``: the few matching recipes first, then their membranes (an index
        look-up each way) rather than a join of every property to its recipe (2 s on a large lab)."""
        if not value:
            return qs
        recipes = Recipe.objects.filter(name__icontains=value).values("pk")
        return qs.filter(
            pointing_at("membrane", Membrane.objects.filter(batch__recipe_version__recipe__in=recipes))
        )

    def filter_filler_min(
        self, qs: QuerySet[DerivedProperty], name: str, value: Any
    ) -> QuerySet[DerivedProperty]:
        return qs if value is None else qs.filter(self._filler_q("gte", value))

    def filter_filler_max(
        self, qs: QuerySet[DerivedProperty], name: str, value: Any
    ) -> QuerySet[DerivedProperty]:
        return qs if value is None else qs.filter(self._filler_q("lte", value))


class MeasurementSeriesFilter(PageFilterSet):
    kind = django_filters.ChoiceFilter(choices=SeriesKind.choices)
    cell = django_filters.NumberFilter(field_name="cell_id")
    cell_code = CodeFilter(field_name="cell", model=Cell, label="Cell code")
    name = django_filters.CharFilter(lookup_expr="icontains")

    api_only = ("cell",)

    class Meta:
        model = MeasurementSeries
        fields: list[str] = []
