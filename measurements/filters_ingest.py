"""FilterSets of uploads and measurements, shared by the API and the list pages.

The id parameters of the API (cell, instrument, membrane, pellet) stay as they are; the pages leave them out
(``api_only``) and offer the codes and the instrument's name instead (lims/filtering.py)."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from formulations.models import Membrane, Pellet
from lims.filtering import CodeFilter, PageFilterSet
from lims.units import UnitError, parse_quantity
from measurements.models import Measurement, Stage, Technique, Upload


class TemperatureFilter(django_filters.CharFilter):
    """A temperature bound given as text with a unit ("60 degC", "333 K"), or a number in degC."""

    def filter(self, qs: QuerySet[Measurement], value: str) -> QuerySet[Measurement]:
        if value in (None, ""):
            return qs
        try:
            celsius = parse_quantity(
                value, dimension="temperature", unit="degC", allow_negative=True
            ).magnitude
        except UnitError as exc:
            from django.core.exceptions import ValidationError

            raise ValidationError({self.field_name: str(exc)}) from None
        return qs.filter(**{f"{self.field_name}__{self.lookup_expr}": celsius})


class UploadFilter(PageFilterSet):
    stage = django_filters.ChoiceFilter(choices=Stage.choices, empty_label="Any")
    technique = django_filters.ChoiceFilter(choices=Technique.choices, empty_label="Any")
    cell = django_filters.NumberFilter(field_name="cell_id", label="Cell (id)")
    cell_code = django_filters.CharFilter(field_name="cell__code", lookup_expr="iexact")
    instrument = django_filters.NumberFilter(field_name="instrument_id", label="Instrument (id)")
    instrument_name = django_filters.CharFilter(
        field_name="instrument__name", lookup_expr="icontains", label="Instrument name contains"
    )
    name = django_filters.CharFilter(field_name="original_name", lookup_expr="icontains")

    api_only = ("cell", "instrument")

    class Meta:
        model = Upload
        fields = ["stage", "technique", "cell", "cell_code", "instrument", "instrument_name", "name"]


class MeasurementFilter(PageFilterSet):
    technique = django_filters.ChoiceFilter(choices=Technique.choices, empty_label="Any")
    cell = django_filters.NumberFilter(field_name="cell_id", label="Cell (id)")
    cell_code = django_filters.CharFilter(field_name="cell__code", lookup_expr="iexact")
    membrane = django_filters.NumberFilter(field_name="membrane_id", label="Membrane (id)")
    membrane_code = CodeFilter(field_name="membrane", model=Membrane, label="Membrane code")
    pellet = django_filters.NumberFilter(field_name="pellet_id", label="Pellet (id)")
    pellet_code = CodeFilter(field_name="pellet", model=Pellet, label="Pellet code")
    temperature_min = TemperatureFilter(field_name="temperature", lookup_expr="gte", label="Temperature from")
    temperature_max = TemperatureFilter(field_name="temperature", lookup_expr="lte", label="Temperature to")

    api_only = ("cell", "membrane", "pellet")

    class Meta:
        model = Measurement
        fields = [
            "technique",
            "cell",
            "cell_code",
            "membrane",
            "membrane_code",
            "pellet",
            "pellet_code",
            "temperature_min",
            "temperature_max",
        ]
