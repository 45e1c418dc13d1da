"""Input and output shapes of the inventory API. Quantities are read as "3.74 g"-style text and written as
{"magnitude", "unit"}; every write goes through formulations.services.inventory."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models.fields.files import FieldFile
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from formulations.domain.cas import CasNumberError, normalise_cas
from formulations.models import (
    Chemical,
    LotStatus,
    StockLot,
    StockTransaction,
    StorageLocation,
    Supplier,
    location_path_text,
)
from lims.api.representation import CompiledRepresentation
from lims.api.rows import NotHot, RowValue
from lims.fields import QuantitySerializerField

_QUANTITY_OUT = {
    "type": "object",
    "properties": {"magnitude": {"type": "number"}, "unit": {"type": "string"}},
    "required": ["magnitude", "unit"],
}


def _quantity(unit: str, dimension: str, **kwargs: Any) -> QuantitySerializerField:
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_null", True)
    return QuantitySerializerField(unit=unit, dimension=dimension, **kwargs)


class SynonymListField(serializers.ListField):
    """Written as a list of names; read from the chemical's synonym rows."""

    def to_representation(self, data: Any) -> list[str]:
        return [s.name for s in data.all()] if hasattr(data, "all") else list(data)


class ChemicalSerializer(CompiledRepresentation, serializers.ModelSerializer):
    synonyms = SynonymListField(
        child=serializers.CharField(max_length=200),
        required=False,
        help_text='other names and abbreviations, e.g. ["NMMA", "NMMAm", "N-methyl methacrylamide"]',
    )
    molar_mass = _quantity("g/mol", "molar_mass", allow_zero=False)
    density = _quantity("g/mL", "density", allow_zero=False)
    theoretical_density = _quantity("g/mL", "density", allow_zero=False)
    specific_capacity = _quantity("mAh/g", "specific_capacity")
    low_stock_threshold = _quantity("g", "mass")
    on_hand_g = serializers.SerializerMethodField(
        help_text="grams on hand in available lots (mL via density)"
    )

    class Meta:
        model = Chemical
        fields = [
            "id",
            "name",
            "abbreviation",
            "synonyms",
            "cas_number",
            "formula",
            "role",
            "molar_mass",
            "density",
            "theoretical_density",
            "specific_capacity",
            "moisture_sensitive",
            "store_in_glovebox",
            "light_sensitive",
            "hazard_notes",
            "low_stock_threshold",
            "on_hand_g",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_on_hand_g(self, obj: Chemical) -> float | None:
        return getattr(obj, "on_hand_g", None)

    def validate_cas_number(self, value: str) -> str:
        if not value:
            return ""
        try:
            return normalise_cas(value)
        except CasNumberError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_name(self, value: str) -> str:
        clash = Chemical.objects.filter(name__iexact=value.strip())
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(f"A chemical named {value.strip()!r} already exists")
        return value.strip()


class SupplierSerializer(CompiledRepresentation, serializers.ModelSerializer):
    class Meta:
        model = Supplier
        fields = ["id", "name", "website", "contact", "notes", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class StorageLocationSerializer(CompiledRepresentation, serializers.ModelSerializer):
    path = serializers.CharField(read_only=True)

    class Meta:
        model = StorageLocation
        fields = ["id", "name", "kind", "parent", "path", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class StockLotSerializer(CompiledRepresentation, serializers.ModelSerializer):
    """A lot as read: the on-hand quantity in the lot's own unit (g or mL)."""

    chemical_name = serializers.CharField(source="chemical.name", read_only=True)
    supplier_name = serializers.CharField(
        source="supplier.name", read_only=True, default=None, allow_null=True
    )
    location_path = serializers.CharField(
        source="location.path", read_only=True, default=None, allow_null=True
    )
    quantity_on_hand = serializers.SerializerMethodField()
    purity = _quantity("dimensionless", "fraction")
    water_content = _quantity("ppm", "fraction")
    usable = serializers.SerializerMethodField(
        help_text="offered for consumption (available, in date, not empty)"
    )

    class Meta:
        model = StockLot
        fields = [
            "id",
            "code",
            "chemical",
            "chemical_name",
            "supplier",
            "supplier_name",
            "supplier_lot_number",
            "purity",
            "received_on",
            "opened_on",
            "expires_on",
            "location",
            "location_path",
            "container_count",
            "quantity_unit",
            "quantity_on_hand",
            "water_content",
            "status",
            "usable",
            "notes",
            "certificate",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    #: how the hot reads (lims.api.rows) print the fields that are not columns: the functions the methods call
    row_values = {
        "location_path": RowValue(
            (
                "location__name",
                "location__parent__name",
                "location__parent__parent__name",
                "location__parent__parent__parent__name",
                "location__parent__parent__parent__parent_id",
            ),
            lambda *names_and_deeper: _location_path(*names_and_deeper),
        ),
        "quantity_on_hand": RowValue(("quantity_on_hand", "quantity_unit"), lambda q, u: _quantity_out(q, u)),
        "usable": RowValue(("status", "expires_on", "quantity_on_hand"), lambda *v: lot_usable(*v)),
        "certificate": RowValue(("certificate",), lambda request, name: _file_url(request, name), True),
    }

    @extend_schema_field(_QUANTITY_OUT)
    def get_quantity_on_hand(self, obj: StockLot) -> dict[str, Any]:
        return _quantity_out(obj.quantity_on_hand, obj.quantity_unit)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_usable(self, obj: StockLot) -> bool:
        return lot_usable(obj.status, obj.expires_on, obj.quantity_on_hand)


def _quantity_out(magnitude: float, unit: str) -> dict[str, Any]:
    return {"magnitude": magnitude, "unit": unit}


def lot_usable(status: str, expires_on: datetime.date | None, quantity_on_hand: float) -> bool:
    """Offered for consumption: available, in date (today, local time), with something left."""
    in_date = expires_on is None or expires_on >= timezone.localdate()
    return status == LotStatus.AVAILABLE and in_date and quantity_on_hand > 0


def _location_path(*values: Any) -> str | None:
    """``location.path`` from the names of the location and its three parents as the lot list joins them; a
    deeper location is left to DRF's path (its names are read one parent at a time there)."""
    *names, deeper = values
    if names[0] is None:
        return None
    if deeper is not None:
        raise NotHot
    up = []
    for name in names:
        if name is None:
            break
        up.append(name)
    return location_path_text(up)


_CERTIFICATE = StockLot._meta.get_field("certificate")


def _file_url(request: Any, name: str | None) -> Any:
    """The certificate as DRF's FileField prints it (its own code: an absolute URL, or None)."""
    if not name:
        return None
    field: Any = serializers.FileField()
    field._context = {"request": request}  # what a bound field reads as its context
    return field.to_representation(FieldFile(None, _CERTIFICATE, name))  # type: ignore[arg-type]


class StockLotReceiveSerializer(serializers.Serializer):
    """Receive a lot: the quantity as "500 g" or "250 mL" (the lot is kept in that kind of unit)."""

    chemical = serializers.PrimaryKeyRelatedField(queryset=Chemical.objects.all())
    quantity = serializers.CharField(max_length=60, help_text='e.g. "500 g" or "250 mL"')
    quantity_unit = serializers.ChoiceField(
        choices=["g", "mL"],
        required=False,
        help_text="keep the lot in g or mL (default: the quantity's kind)",
    )
    code = serializers.CharField(
        max_length=20, required=False, help_text="label code; generated when omitted"
    )
    supplier = serializers.PrimaryKeyRelatedField(
        queryset=Supplier.objects.all(), required=False, allow_null=True
    )
    supplier_lot_number = serializers.CharField(max_length=80, required=False, allow_blank=True)
    purity = _quantity("dimensionless", "fraction")
    received_on = serializers.DateField(required=False)
    opened_on = serializers.DateField(required=False, allow_null=True)
    expires_on = serializers.DateField(required=False, allow_null=True)
    location = serializers.PrimaryKeyRelatedField(
        queryset=StorageLocation.objects.all(), required=False, allow_null=True
    )
    container_count = serializers.IntegerField(min_value=1, required=False)
    water_content = _quantity("ppm", "fraction")
    status = serializers.ChoiceField(choices=[LotStatus.AVAILABLE, LotStatus.QUARANTINE], required=False)
    notes = serializers.CharField(required=False, allow_blank=True)

    def validate_purity(self, value: float | None) -> float | None:
        if value is not None and not 0 < value <= 1:
            raise serializers.ValidationError("a purity lies between 0 and 100 % (e.g. '99.5 %' or 0.995)")
        return value

    def validate_code(self, value: str) -> str:
        return value.strip().upper()


class StockLotUpdateSerializer(serializers.ModelSerializer):
    """The descriptive fields of a lot; the quantity and the status change through the actions."""

    purity = _quantity("dimensionless", "fraction")
    water_content = _quantity("ppm", "fraction")
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, write_only=True)

    class Meta:
        model = StockLot
        fields = [
            "supplier",
            "supplier_lot_number",
            "purity",
            "received_on",
            "opened_on",
            "expires_on",
            "location",
            "container_count",
            "water_content",
            "notes",
            "reason",
        ]


class ConsumeSerializer(serializers.Serializer):
    amount = serializers.CharField(
        max_length=60, help_text='"5 mL", "0.387 g", "20 mmol" or a number in the lot unit'
    )
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)
    purpose = serializers.CharField(max_length=200, required=False, allow_blank=True)
    override_reason = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="a manager's reason to use an expired/quarantined lot",
    )


class ReturnSerializer(serializers.Serializer):
    amount = serializers.CharField(max_length=60)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


class AdjustSerializer(serializers.Serializer):
    counted = serializers.CharField(max_length=60, help_text="what the stock count found, e.g. '412.5 g'")
    reason = serializers.CharField(max_length=300)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class StockTransactionSerializer(CompiledRepresentation, serializers.ModelSerializer):
    lot_code = serializers.CharField(source="lot.code", read_only=True)
    unit = serializers.CharField(source="lot.quantity_unit", read_only=True)
    actor_name = serializers.CharField(source="actor.username", read_only=True, default=None, allow_null=True)
    override_by_name = serializers.CharField(
        source="override_by.username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = StockTransaction
        fields = [
            "id",
            "lot",
            "lot_code",
            "kind",
            "quantity",
            "unit",
            "entered_as",
            "balance_after",
            "actor",
            "actor_name",
            "created_at",
            "reason",
            "purpose",
            "batch",
            "override_by",
            "override_by_name",
        ]
        read_only_fields = fields


class LedgerEntrySerializer(serializers.Serializer):
    """What a consume/return/adjust/dispose action answers: the new ledger row and the lot after it."""

    transaction = StockTransactionSerializer()
    lot = StockLotSerializer()


class BulkReceiveSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="CSV: chemical, quantity, supplier, supplier_lot_number, ... (see docs)"
    )
    supplier = serializers.PrimaryKeyRelatedField(
        queryset=Supplier.objects.all(), required=False, allow_null=True, help_text="for rows that name none"
    )


class BulkReceiveResultSerializer(serializers.Serializer):
    received = StockLotSerializer(many=True)


class ConversionSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    magnitude = serializers.FloatField(required=False)
    unit = serializers.CharField(required=False)
    on_hand = serializers.FloatField(required=False)
    error = serializers.CharField(required=False)
