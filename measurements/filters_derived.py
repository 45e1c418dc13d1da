"""FilterSets of the derived part, shared by the API (/api/v1/derived-properties/) and the page (/derived/).

Temperatures are read through lims.units: "20", "20 degC" or "293.15 K" all mean 20 °C; a value of another
dimension is refused with the message of parse_quantity. Filler content is in wt% (0-100).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

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


class DerivedPropertyFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(
        field_name="name", lookup_expr="exact", label="Property (e.g. ionic_conductivity)"
    )
    cell = django_filters.NumberFilter(field_name="cell_id", label="Cell id")
    cell_code = django_filters.CharFilter(field_name="cell__code", lookup_expr="iexact", label="Cell code")
    measurement = django_filters.NumberFilter(field_name="measurement_id", label="Measurement id")
    series = django_filters.NumberFilter(field_name="series_id", label="Series id")
    membrane = django_filters.NumberFilter(field_name="membrane_id", label="Membrane id")
    pellet = django_filters.NumberFilter(field_name="pellet_id", label="Pellet id")
    recipe = django_filters.NumberFilter(
        field_name="membrane__batch__recipe_version__recipe_id", label="Recipe id"
    )
    recipe_version = django_filters.NumberFilter(
        field_name="membrane__batch__recipe_version_id", label="Recipe version id"
    )
    recipe_name = django_filters.CharFilter(
        field_name="membrane__batch__recipe_version__recipe__name",
        lookup_expr="icontains",
        label="Recipe name",
    )
    filler_min = django_filters.NumberFilter(method="filter_filler_min", label="Filler from (wt%)")
    filler_max = django_filters.NumberFilter(method="filter_filler_max", label="Filler to (wt%)")
    temperature_min = TemperatureFilter(field_name="temperature", lookup_expr="gte", label="Temperature from")
    temperature_max = TemperatureFilter(field_name="temperature", lookup_expr="lte", label="Temperature to")
    method_version = django_filters.CharFilter(field_name="method_version", label="Method version")

    class Meta:
        model = DerivedProperty
        fields: list[str] = []

    @staticmethod
    def _filler_q(lookup: str, wt_percent: float) -> Q:
        """Filler content of the membrane, else of its batch, else of its recipe version (stored as 0-1)."""
        fraction = float(wt_percent) / 100.0
        m = "membrane__filler_fraction"
        b = "membrane__batch__filler_fraction"
        rv = "membrane__batch__recipe_version__filler_fraction"
        return (
            Q(**{f"{m}__{lookup}": fraction})
            | Q(**{f"{m}__isnull": True, f"{b}__{lookup}": fraction})
            | Q(**{f"{m}__isnull": True, f"{b}__isnull": True, f"{rv}__{lookup}": fraction})
        )

    def filter_filler_min(
        self, qs: QuerySet[DerivedProperty], name: str, value: Any
    ) -> QuerySet[DerivedProperty]:
        return qs if value is None else qs.filter(self._filler_q("gte", value))

    def filter_filler_max(
        self, qs: QuerySet[DerivedProperty], name: str, value: Any
    ) -> QuerySet[DerivedProperty]:
        return qs if value is None else qs.filter(self._filler_q("lte", value))


class MeasurementSeriesFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=SeriesKind.choices)
    cell = django_filters.NumberFilter(field_name="cell_id")
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = MeasurementSeries
        fields: list[str] = []
