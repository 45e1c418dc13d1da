"""Shapes of the ingest API: upload input and status, instruments and their tokens, measurements."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lims.api.base import TeamField
from lims.api.parsers import JSONField
from lims.api.representation import CompiledRepresentation
from lims.api.rows import RowValue, id_url
from lims.fields import QuantitySerializerField
from lims.models import ApiToken
from measurements.models import CycleSummary, Instrument, Measurement, Technique, Upload


class UploadCreateSerializer(serializers.Serializer):
    """multipart/form-data: the file, and the cell / membrane / pellet it belongs to (by id or label code)."""

    file = serializers.FileField(allow_empty_file=True, use_url=False)
    cell = serializers.CharField(
        required=False, allow_blank=True, help_text="cell id or code, e.g. LP20-SYM-003"
    )
    membrane = serializers.CharField(required=False, allow_blank=True, help_text="membrane id or code")
    pellet = serializers.CharField(required=False, allow_blank=True, help_text="pellet id or code")
    technique = serializers.ChoiceField(choices=Technique.choices, required=False, allow_blank=True)
    temperature = QuantitySerializerField(
        unit="degC", dimension="temperature", allow_negative=True, required=False, allow_null=True
    )
    notes = serializers.CharField(required=False, allow_blank=True)
    instrument = serializers.IntegerField(
        required=False, allow_null=True, help_text="id of the instrument that measured (personal tokens only)"
    )
    mapping = JSONField(
        required=False,
        allow_null=True,
        help_text='column mapping for a generic CSV/TSV: {"columns": {"time_s": ["test_time", "s"], ...}, '
        '"delimiter": ";", "decimal": ","}',
    )

    def validate_mapping(self, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise serializers.ValidationError(f"not valid JSON: {exc}") from None
            except RecursionError:
                raise serializers.ValidationError("not valid JSON: nested too deeply") from None
        if value is not None and not isinstance(value, dict):
            raise serializers.ValidationError('expected an object {"columns": {...}}')
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        named = [k for k in ("cell", "membrane", "pellet") if (attrs.get(k) or "").strip()]
        if len(named) != 1:
            raise serializers.ValidationError(
                {
                    "cell": "Say which cell (or membrane, or pellet) the data belong to: exactly one, by id or code."
                }
            )
        attrs["sample_kind"] = named[0]
        attrs["sample_ref"] = attrs[named[0]].strip()
        return attrs


class UploadStatusSerializer(CompiledRepresentation, serializers.ModelSerializer):
    status_url = serializers.SerializerMethodField()
    raw_url = serializers.SerializerMethodField()
    measurement = serializers.SerializerMethodField()
    measurement_url = serializers.SerializerMethodField()
    cell_code = serializers.SerializerMethodField()
    temperature = QuantitySerializerField(unit="degC", dimension="temperature", read_only=True)

    class Meta:
        model = Upload
        fields = [
            "id",
            "status_url",
            "stage",
            "progress",
            "error",
            "original_name",
            "sha256",
            "size_bytes",
            "detected_format",
            "technique",
            "cell",
            "cell_code",
            "membrane",
            "pellet",
            "temperature",
            "notes",
            "instrument",
            "measurement",
            "measurement_url",
            "raw_url",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    #: how the hot reads (lims.api.rows) print the fields that are not columns: the same functions
    row_values = {
        "status_url": RowValue(("id",), lambda pk: id_url("upload-detail", pk)),
        "raw_url": RowValue(("id",), lambda pk: id_url("upload-raw", pk)),
        "measurement": RowValue(("measurement__id",), lambda pk: pk),
        "measurement_url": RowValue(("measurement__id",), lambda pk: _measurement_url(pk)),
        "cell_code": RowValue(("cell__code",), lambda code: code),
    }

    def get_status_url(self, obj: Upload) -> str:
        return id_url("upload-detail", obj.pk)

    def get_raw_url(self, obj: Upload) -> str:
        return id_url("upload-raw", obj.pk)

    def _measurement(self, obj: Upload) -> Measurement | None:
        try:
            return obj.measurement
        except Measurement.DoesNotExist:
            return None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_measurement(self, obj: Upload) -> int | None:
        m = self._measurement(obj)
        return m.pk if m is not None else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_measurement_url(self, obj: Upload) -> str | None:
        m = self._measurement(obj)
        return _measurement_url(m.pk if m is not None else None)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_cell_code(self, obj: Upload) -> str | None:
        return obj.cell.code if obj.cell_id and obj.cell is not None else None


def _measurement_url(pk: int | None) -> str | None:
    return id_url("measurement-detail", pk) if pk is not None else None


class InstrumentTokenSerializer(serializers.ModelSerializer):
    key = serializers.SerializerMethodField(
        help_text="the clear key: shown once, in the response that issues it"
    )

    class Meta:
        model = ApiToken
        fields = ["id", "name", "key_prefix", "scope", "created_at", "last_used_at", "revoked_at", "key"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_key(self, obj: ApiToken) -> str | None:
        return getattr(obj, "_clear_key", None)


class TokenIssueSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)


class InstrumentSerializer(CompiledRepresentation, serializers.ModelSerializer):
    team = TeamField(required=False)
    service_username = serializers.CharField(source="service_user.username", read_only=True)

    class Meta:
        model = Instrument
        fields = [
            "id",
            "team",
            "name",
            "make",
            "model",
            "serial_number",
            "channel_count",
            "service_username",
            "created_at",
        ]
        read_only_fields = ["service_username", "created_at"]
        validators: list[Any] = []  # the service checks (team, name) and resolves the team


class CycleSummarySerializer(CompiledRepresentation, serializers.ModelSerializer):
    class Meta:
        model = CycleSummary
        fields = [
            "cycle",
            "half_cycle",
            "start_time_s",
            "end_time_s",
            "charge_capacity_Ah",
            "discharge_capacity_Ah",
            "coulombic_efficiency",
            "mean_voltage_V",
            "overpotential_V",
            "mean_current_A",
        ]
        read_only_fields = fields


class MeasurementSerializer(CompiledRepresentation, serializers.ModelSerializer):
    temperature = QuantitySerializerField(unit="degC", dimension="temperature", read_only=True)
    cell_code = serializers.SerializerMethodField()
    original_name = serializers.CharField(source="upload.original_name", read_only=True)
    links = serializers.SerializerMethodField()

    class Meta:
        model = Measurement
        fields = [
            "id",
            "team",
            "upload",
            "original_name",
            "cell",
            "cell_code",
            "membrane",
            "pellet",
            "technique",
            "source_format",
            "temperature",
            "started_at",
            "row_count",
            "columns",
            "parameters",
            "metadata",
            "created_at",
            "links",
        ]
        read_only_fields = fields

    #: how the hot reads (lims.api.rows) print the fields that are not columns: the functions the methods call
    row_values = {
        "cell_code": RowValue(("cell__code",), lambda code: code),
        "links": RowValue(("id", "columns", "technique"), lambda *v: measurement_links(*v)),
    }

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_cell_code(self, obj: Measurement) -> str | None:
        return obj.cell.code if obj.cell_id and obj.cell is not None else None

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_links(self, obj: Measurement) -> dict[str, str]:
        return measurement_links(obj.pk, obj.columns, obj.technique)


def measurement_links(pk: int, columns: Any, technique: str) -> dict[str, str]:
    """A measurement's data and figure URLs, by what its columns and technique allow."""
    from measurements.selectors_ingest import figure_kinds_of

    links = {
        "data": id_url("measurement-data", pk),
        "csv": id_url("measurement-data-csv", pk),
        "parquet": id_url("measurement-data-parquet", pk),
        "cycles": id_url("measurement-cycles", pk),
    }
    for kind in figure_kinds_of(columns, technique):
        links[f"figure:{kind}"] = id_url("measurement-figure", pk, kind)
    return links


class MeasurementListSerializer(MeasurementSerializer):
    class Meta(MeasurementSerializer.Meta):
        fields = [f for f in MeasurementSerializer.Meta.fields if f not in ("metadata", "parameters")]
        read_only_fields = fields
