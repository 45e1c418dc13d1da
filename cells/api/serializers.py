"""Input and output shapes of the cells API; quantities are read as text ("1.13 cm^2") and written as
{"magnitude", "unit"}. Validation here is of shape and units only: the rules live in cells.services."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cells.models import (
    Cell,
    CellComponent,
    CellFormat,
    CellState,
    CellStateChange,
    ComponentKind,
    Configuration,
)
from cells.services import TRANSITIONS, CellSpec, ComponentSpec, standard_components
from formulations.models import Electrode, Membrane, Pellet, StockLot, recipe_version_label
from lims.api.base import TeamField
from lims.api.representation import CompiledRepresentation
from lims.api.rows import RowValue
from lims.fields import QuantitySerializerField
from lims.models import user_label
from lims.permissions import scope_to_teams


def _USER_PATHS(relation: str) -> tuple[str, str, str]:  # noqa: N802 - reads as the constant it makes
    """The columns ``lims.models.user_label`` names a person from, through ``relation``."""
    return (f"{relation}__username", f"{relation}__first_name", f"{relation}__last_name")


@extend_schema_field({"type": "string", "enum": list(CellState.values)}, component_name="CellState")
class CellStateField(serializers.ChoiceField):
    """A cell state; one schema component for every field that holds one."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=CellState.choices, **kwargs)


@extend_schema_field(OpenApiTypes.INT)
class _Team(TeamField):
    """The owning team (id); optional when the user has the researcher role in exactly one team."""


@extend_schema_field(OpenApiTypes.INT)
class _ScopedRelated(serializers.PrimaryKeyRelatedField):
    """A related team record the requesting user may see (others read as "does not exist")."""

    def __init__(self, model: Any, **kwargs: Any) -> None:
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        return scope_to_teams(self.model.objects.all(), getattr(request, "user", None))


def _area() -> QuantitySerializerField:
    return QuantitySerializerField(
        unit="cm**2", dimension="area", required=False, allow_null=True, allow_zero=False
    )


class ComponentSerializer(CompiledRepresentation, serializers.ModelSerializer):
    lot_code = serializers.CharField(source="lot.code", read_only=True, default=None, allow_null=True)
    chemical = serializers.CharField(
        source="lot.chemical.name", read_only=True, default=None, allow_null=True
    )
    electrode_code = serializers.CharField(
        source="electrode.code", read_only=True, default=None, allow_null=True
    )
    area = QuantitySerializerField(unit="cm**2", dimension="area", read_only=True)
    mass_used = QuantitySerializerField(unit="g", dimension="mass", read_only=True)

    class Meta:
        model = CellComponent
        fields = [
            "id",
            "kind",
            "position",
            "lot",
            "lot_code",
            "chemical",
            "electrode",
            "electrode_code",
            "area",
            "mass_used",
            "transaction",
        ]
        read_only_fields = fields


class StateChangeSerializer(CompiledRepresentation, serializers.ModelSerializer):
    from_state = CellStateField(read_only=True)
    to_state = CellStateField(read_only=True)
    actor: serializers.StringRelatedField[Any] = serializers.StringRelatedField()

    class Meta:
        model = CellStateChange
        fields = ["id", "from_state", "to_state", "at", "actor", "reason"]
        read_only_fields = fields

    #: how the hot reads (lims.api.rows) print the fields that are not columns
    row_values = {"actor": RowValue(_USER_PATHS("actor"), user_label)}


class CellSerializer(CompiledRepresentation, serializers.ModelSerializer):
    """A cell as read: composition, electrolyte, state with the transitions allowed from it."""

    team: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(read_only=True)
    operator: serializers.StringRelatedField[Any] = serializers.StringRelatedField()
    state = CellStateField(read_only=True)
    membrane_code = serializers.CharField(
        source="membrane.code", read_only=True, default=None, allow_null=True
    )
    pellet_code = serializers.CharField(source="pellet.code", read_only=True, default=None, allow_null=True)
    cathode_code = serializers.CharField(source="cathode.code", read_only=True, default=None, allow_null=True)
    electrolyte_recipe = serializers.SerializerMethodField()
    filler_wt_percent = serializers.SerializerMethodField()
    allowed_transitions = serializers.SerializerMethodField()
    active_area = QuantitySerializerField(unit="cm**2", dimension="area", read_only=True)
    area_override = QuantitySerializerField(unit="cm**2", dimension="area", read_only=True)
    stack_pressure = QuantitySerializerField(unit="MPa", dimension="pressure", read_only=True)
    glovebox_o2 = QuantitySerializerField(unit="ppm", dimension="fraction", read_only=True)
    glovebox_h2o = QuantitySerializerField(unit="ppm", dimension="fraction", read_only=True)

    class Meta:
        model = Cell
        fields = [
            "id",
            "code",
            "team",
            "configuration",
            "cell_format",
            "format_detail",
            "membrane",
            "membrane_code",
            "pellet",
            "pellet_code",
            "cathode",
            "cathode_code",
            "electrolyte_recipe",
            "filler_wt_percent",
            "active_area",
            "area_override",
            "stack_pressure",
            "assembled_at",
            "operator",
            "glovebox_o2",
            "glovebox_h2o",
            "state",
            "state_changed_at",
            "allowed_transitions",
            "notes",
            "postmortem_notes",
            "dendrites_observed",
            "delamination_observed",
            "version",
        ]
        read_only_fields = fields

    #: how the hot reads (lims.api.rows) print the fields that are not columns: the functions the methods call
    row_values = {
        "operator": RowValue(_USER_PATHS("operator"), user_label),
        "electrolyte_recipe": RowValue(
            (
                "membrane__batch__recipe_version__recipe__name",
                "membrane__batch__recipe_version__number",
            ),
            recipe_version_label,
        ),
        "filler_wt_percent": RowValue(("membrane__filler_fraction",), lambda f: filler_wt_percent(f)),
        "allowed_transitions": RowValue(("state",), lambda state: allowed_transitions(state)),
    }

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_electrolyte_recipe(self, cell: Cell) -> str | None:
        if cell.membrane is None:
            return None
        return str(cell.membrane.batch.recipe_version)

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_filler_wt_percent(self, cell: Cell) -> float | None:
        return filler_wt_percent(cell.membrane.filler_fraction if cell.membrane is not None else None)

    @extend_schema_field({"type": "array", "items": {"$ref": "#/components/schemas/CellState"}})
    def get_allowed_transitions(self, cell: Cell) -> list[str]:
        return allowed_transitions(cell.state)


def filler_wt_percent(fraction: float | None) -> float | None:
    """A membrane's filler fraction (0-1) as the API prints it: wt%, rounded to 6 decimals."""
    return None if fraction is None else round(fraction * 100, 6)


def allowed_transitions(state: str) -> list[str]:
    return [str(s) for s in TRANSITIONS[CellState(state)]]


class CellDetailSerializer(CellSerializer):
    components = ComponentSerializer(many=True, read_only=True)
    state_changes = StateChangeSerializer(many=True, read_only=True)

    class Meta(CellSerializer.Meta):
        fields = [*CellSerializer.Meta.fields, "components", "state_changes"]
        read_only_fields = fields


class CellComponentInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[c for c in ComponentKind.choices if c[0] != ComponentKind.CATHODE]
    )
    position = serializers.ChoiceField(choices=["negative", "positive", ""], required=False, default="")
    lot = serializers.PrimaryKeyRelatedField(
        queryset=StockLot.objects.select_related("chemical"), required=False, allow_null=True
    )
    area = _area()
    amount = serializers.CharField(
        required=False, allow_blank=True, help_text="drawn from the lot, e.g. '46 mg' (needed for Li foil)"
    )


class CellAssembleSerializer(serializers.Serializer):
    """Assemble cells. Give the parts either as ``components`` or with the short form (``li_foil_lot`` ...)."""

    team = _Team(required=False, allow_null=True)
    code = serializers.CharField(required=False, allow_blank=True, max_length=40)
    configuration = serializers.ChoiceField(choices=Configuration.choices)
    cell_format = serializers.ChoiceField(choices=CellFormat.choices, default=CellFormat.COIN)
    format_detail = serializers.CharField(required=False, allow_blank=True, max_length=40, default="")
    membrane = _ScopedRelated(Membrane, required=False, allow_null=True)
    pellet = _ScopedRelated(Pellet, required=False, allow_null=True)
    cathode = _ScopedRelated(Electrode, required=False, allow_null=True)
    components = CellComponentInputSerializer(many=True, required=False)
    li_foil_lot = serializers.PrimaryKeyRelatedField(
        queryset=StockLot.objects.select_related("chemical"), required=False, allow_null=True
    )
    li_foil_amount = serializers.CharField(
        required=False, allow_blank=True, help_text="mass of Li per electrode, e.g. '46 mg'"
    )
    li_foil_area = _area()
    stainless_area = _area()
    area_override = _area()
    stack_pressure = QuantitySerializerField(
        unit="MPa", dimension="pressure", required=False, allow_null=True
    )
    assembled_at = serializers.DateTimeField(required=False, allow_null=True)
    glovebox_o2 = QuantitySerializerField(unit="ppm", dimension="fraction", required=False, allow_null=True)
    glovebox_h2o = QuantitySerializerField(unit="ppm", dimension="fraction", required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, default="")

    def to_spec(self) -> CellSpec:
        d = self.validated_data
        if d.get("components"):
            components = [
                ComponentSpec(
                    kind=c["kind"],
                    position=c.get("position", ""),
                    lot=c.get("lot"),
                    area_cm2=c.get("area"),
                    amount=c.get("amount") or None,
                )
                for c in d["components"]
            ]
        else:
            components = standard_components(
                configuration=d["configuration"],
                li_foil_lot=d.get("li_foil_lot"),
                li_foil_amount=d.get("li_foil_amount") or None,
                li_foil_area_cm2=d.get("li_foil_area"),
                stainless_area_cm2=d.get("stainless_area"),
            )
        return CellSpec(
            configuration=d["configuration"],
            cell_format=d.get("cell_format", CellFormat.COIN),
            format_detail=d.get("format_detail", ""),
            membrane=d.get("membrane"),
            pellet=d.get("pellet"),
            cathode=d.get("cathode"),
            components=components,
            area_override_cm2=d.get("area_override"),
            stack_pressure_MPa=d.get("stack_pressure"),
            assembled_at=d.get("assembled_at"),
            glovebox_o2_ppm=d.get("glovebox_o2"),
            glovebox_h2o_ppm=d.get("glovebox_h2o"),
            notes=d.get("notes", ""),
        )


class BulkAssembleSerializer(CellAssembleSerializer):
    """N identical cells from one membrane; full cells take one cathode electrode each from ``cathodes``."""

    code = None  # type: ignore[assignment]
    cathode = None  # type: ignore[assignment]
    count = serializers.IntegerField(min_value=1, max_value=200)
    code_base = serializers.CharField(
        required=False, allow_blank=True, max_length=30, help_text="codes are <code_base>-001, -002, ..."
    )
    cathodes = _ScopedRelated(Electrode, many=True, required=False, help_text="full cells: one per cell")


class CellUpdateSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="the version you read; a stale one is refused with 409")
    notes = serializers.CharField(required=False, allow_blank=True)
    format_detail = serializers.CharField(required=False, allow_blank=True, max_length=40)
    stack_pressure = QuantitySerializerField(
        unit="MPa", dimension="pressure", required=False, allow_null=True
    )
    glovebox_o2 = QuantitySerializerField(unit="ppm", dimension="fraction", required=False, allow_null=True)
    glovebox_h2o = QuantitySerializerField(unit="ppm", dimension="fraction", required=False, allow_null=True)
    area_override = _area()
    assembled_at = serializers.DateTimeField(required=False)


class StateChangeInputSerializer(serializers.Serializer):
    to_state = CellStateField()
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    version = serializers.IntegerField(
        required=False, allow_null=True, help_text="the version you read; a stale one is refused with 409"
    )


class PostmortemInputSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    dendrites_observed = serializers.BooleanField(required=False, allow_null=True, default=None)
    delamination_observed = serializers.BooleanField(required=False, allow_null=True, default=None)
    files = serializers.ListField(child=serializers.FileField(), required=False, default=list)
    file_kind = serializers.ChoiceField(choices=["photo", "sem", "data", "other"], default="photo")


class DeleteInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class GraphNodeSerializer(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    url = serializers.CharField()  # type: ignore[assignment]
    detail = serializers.CharField(required=False)


class GraphEdgeSerializer(serializers.Serializer):
    source = serializers.CharField()  # type: ignore[assignment]
    target = serializers.CharField()
    relation = serializers.CharField()


class GraphSerializer(serializers.Serializer):
    nodes = GraphNodeSerializer(many=True)
    edges = GraphEdgeSerializer(many=True)
