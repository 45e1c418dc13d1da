"""Shapes of the derived part of the API: derived properties (read only), measurement series, the comparison."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cells.models import Cell
from lims.api.base import TeamField
from lims.api.representation import CompiledRepresentation
from lims.api.rows import RowValue
from lims.fields import QuantitySerializerField
from lims.permissions import scope_to_teams
from measurements import selectors_derived as sel
from measurements.models import DerivedProperty, Measurement, MeasurementSeries, SeriesKind, SeriesMember
from measurements.services.derive import SERIES_ROLES

#: a membrane's filler fraction, its batch's, its recipe version's (the first set counts: filler_percent_of)
_FILLER_PATHS = (
    "membrane__filler_fraction",
    "membrane__batch__filler_fraction",
    "membrane__batch__recipe_version__filler_fraction",
)


class DerivedPropertySerializer(CompiledRepresentation, serializers.ModelSerializer):
    label = serializers.SerializerMethodField()  # type: ignore[assignment]
    temperature = QuantitySerializerField(
        unit="degC", dimension="temperature", allow_negative=True, read_only=True
    )
    cell_code = serializers.SerializerMethodField()
    electrolyte = serializers.SerializerMethodField()
    filler_wt_percent = serializers.SerializerMethodField()
    provenance_url = serializers.SerializerMethodField()

    class Meta:
        model = DerivedProperty
        fields = [
            "id",
            "name",
            "label",
            "value",
            "unit",
            "uncertainty",
            "method",
            "method_version",
            "temperature",
            "parameters",
            "inputs",
            "subject_key",
            "measurement",
            "series",
            "cell",
            "cell_code",
            "membrane",
            "pellet",
            "electrolyte",
            "filler_wt_percent",
            "computed_at",
            "provenance_url",
        ]
        read_only_fields = fields

    #: how the hot reads (lims.api.rows) print the fields that are not columns: the functions the methods call
    row_values = {
        "label": RowValue(("name",), lambda name: sel.label_of(name)),
        "cell_code": RowValue(("cell__code",), lambda code: code),
        "electrolyte": RowValue(
            (
                "membrane__batch__recipe_version__recipe__name",
                "membrane__batch__recipe_version__number",
                *_FILLER_PATHS,
                "membrane_id",
                "pellet__code",
            ),
            lambda name, number, f1, f2, f3, membrane, pellet: sel.electrolyte_text(
                name, number, sel.filler_percent_of(f1, f2, f3), membrane, pellet
            ),
        ),
        "filler_wt_percent": RowValue(_FILLER_PATHS, lambda *f: sel.filler_percent_of(*f)),
        "provenance_url": RowValue(("id",), lambda pk: sel.provenance_url_of(pk)),
    }

    def get_label(self, obj: DerivedProperty) -> str:
        return sel.label_of(obj.name)

    def get_cell_code(self, obj: DerivedProperty) -> str | None:
        return obj.cell.code if obj.cell is not None else None

    def get_electrolyte(self, obj: DerivedProperty) -> str:
        return sel.electrolyte_label(obj)

    def get_filler_wt_percent(self, obj: DerivedProperty) -> float | None:
        return sel.filler_wt_percent(obj)

    def get_provenance_url(self, obj: DerivedProperty) -> str:
        return sel.provenance_url(obj)


class SeriesMemberSerializer(CompiledRepresentation, serializers.ModelSerializer):
    technique = serializers.CharField(source="measurement.technique", read_only=True)

    class Meta:
        model = SeriesMember
        fields = ["measurement", "technique", "role", "order"]
        read_only_fields = fields


class SeriesDerivedSerializer(CompiledRepresentation, serializers.ModelSerializer):
    class Meta:
        model = DerivedProperty
        fields = ["id", "name", "value", "unit", "uncertainty", "method_version"]
        read_only_fields = fields


class VisibleCellField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> Any:
        request = self.context.get("request")
        return scope_to_teams(Cell.objects.all(), request.user if request else None)


class MeasurementSeriesSerializer(CompiledRepresentation, serializers.ModelSerializer):
    team = TeamField(required=False)
    cell = VisibleCellField(required=False, allow_null=True)
    kind = serializers.ChoiceField(choices=SeriesKind.choices)
    members = SeriesMemberSerializer(source="memberships", many=True, read_only=True)
    derived_properties = SeriesDerivedSerializer(many=True, read_only=True)

    class Meta:
        model = MeasurementSeries
        fields = [
            "id",
            "team",
            "name",
            "kind",
            "cell",
            "notes",
            "members",
            "derived_properties",
            "created_at",
        ]
        read_only_fields = ["id", "members", "derived_properties", "created_at"]


@extend_schema_field(OpenApiTypes.INT)
class VisibleMeasurementField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> Any:
        request = self.context.get("request")
        return scope_to_teams(Measurement.objects.all(), request.user if request else None)


class SeriesMemberInputSerializer(serializers.Serializer):
    measurement = VisibleMeasurementField()
    role = serializers.ChoiceField(
        choices=[(r, r or "(none)") for r in SERIES_ROLES], required=False, default=""
    )
    order = serializers.IntegerField(required=False, min_value=0)


class ComputeQueuedSerializer(serializers.Serializer):
    status = serializers.CharField()
    series = serializers.IntegerField()


class ComparisonValueSerializer(serializers.Serializer):
    value = serializers.FloatField()
    text = serializers.CharField()
    unit = serializers.CharField()
    n = serializers.IntegerField()
    derived_property_id = serializers.IntegerField()
    url = serializers.CharField()
    method = serializers.CharField()
    note = serializers.CharField()
    lower_bound = serializers.BooleanField()


class MetricSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    unit = serializers.CharField()


class ComparisonRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    kind = serializers.CharField()
    recipe_version_id = serializers.IntegerField(allow_null=True)
    filler_wt_percent = serializers.FloatField(allow_null=True)
    pellet_id = serializers.IntegerField(allow_null=True)
    values = serializers.SerializerMethodField()

    @extend_schema_field(serializers.DictField(child=ComparisonValueSerializer(allow_null=True)))
    def get_values(self, obj: sel.ComparisonRow) -> dict[str, Any]:
        return {
            m.key: (ComparisonValueSerializer(v).data if (v := obj.values.get(m.key)) is not None else None)
            for m in sel.COMPARISON_METRICS
        }


class ComparisonSerializer(serializers.Serializer):
    metrics = MetricSerializer(many=True)
    rows = ComparisonRowSerializer(many=True)
