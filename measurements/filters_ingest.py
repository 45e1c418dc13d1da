"""FilterSets of uploads and measurements, shared by the API and the list pages."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

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


class UploadFilter(django_filters.FilterSet):
    stage = django_filters.ChoiceFilter(choices=Stage.choices)
    technique = django_filters.ChoiceFilter(choices=Technique.choices)
    cell = django_filters.NumberFilter(field_name="cell_id")
    cell_code = django_filters.CharFilter(field_name="cell__code", lookup_expr="iexact")
    instrument = django_filters.NumberFilter(field_name="instrument_id")
    name = django_filters.CharFilter(field_name="original_name", lookup_expr="icontains")

    class Meta:
        model = Upload
        fields = ["stage", "technique", "cell", "cell_code", "instrument", "name"]


class MeasurementFilter(django_filters.FilterSet):
    technique = django_filters.ChoiceFilter(choices=Technique.choices)
    cell = django_filters.NumberFilter(field_name="cell_id")
    cell_code = django_filters.CharFilter(field_name="cell__code", lookup_expr="iexact")
    membrane = django_filters.NumberFilter(field_name="membrane_id")
    pellet = django_filters.NumberFilter(field_name="pellet_id")
    temperature_min = TemperatureFilter(field_name="temperature", lookup_expr="gte", label="temperature from")
    temperature_max = TemperatureFilter(field_name="temperature", lookup_expr="lte", label="temperature to")

    class Meta:
        model = Measurement
        fields = [
            "technique",
            "cell",
            "cell_code",
            "membrane",
            "pellet",
            "temperature_min",
            "temperature_max",
        ]
