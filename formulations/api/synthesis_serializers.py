"""Input and output shapes of the synthesis API. Outputs carry the derived values (composition, thickness,
densities, active mass, 1 C current); inputs take amounts as text with a unit ("3.74 g", "5 mL", "5.0 uL") and
leave every rule to the services."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from formulations import selectors_synthesis as sel
from formulations.models import (
    Batch,
    BatchComponent,
    Chemical,
    ChemicalRole,
    Electrode,
    Membrane,
    Mould,
    MouldShape,
    Pellet,
    PressMode,
    ProcessStep,
    Recipe,
    RecipeComponent,
    RecipeVersion,
    StepKind,
    StockLot,
)
from lims.api.base import TeamField as _TeamField
from lims.api.representation import CompiledRepresentation
from lims.fields import QuantitySerializerField as Q


@extend_schema_field(OpenApiTypes.INT)
class TeamField(_TeamField):
    """The owning team's id; optional when the user can write in exactly one team."""


@extend_schema_field({"type": "string", "enum": StepKind.values}, component_name="StepKindEnum")
class StepKindField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=StepKind.choices, **kwargs)


@extend_schema_field(
    {"type": "string", "enum": ChemicalRole.values}, component_name="RecipeComponentRoleEnum"
)
class ChemicalRoleField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=ChemicalRole.choices, **kwargs)


def _q(unit: str, dimension: str, **kw: Any) -> Q:
    return Q(unit=unit, dimension=dimension, read_only=True, **kw)


# ------------------------------------------------------------------------------------------------ recipes


class RecipeComponentSerializer(CompiledRepresentation, serializers.ModelSerializer[RecipeComponent]):
    role = ChemicalRoleField(read_only=True)
    chemical_name = serializers.CharField(source="chemical.name", read_only=True)
    amount = serializers.SerializerMethodField()

    class Meta:
        model = RecipeComponent
        fields = [
            "id",
            "version",
            "chemical",
            "chemical_name",
            "role",
            "order",
            "amount_kind",
            "amount",
            "entered_as",
        ]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_amount(self, obj: RecipeComponent) -> dict[str, Any]:
        return {"magnitude": obj.amount, "unit": sel.AMOUNT_UNITS[obj.amount_kind]}


class ComponentInputSerializer(serializers.Serializer[Any]):
    chemical = serializers.PrimaryKeyRelatedField(queryset=Chemical.objects.all())
    amount = serializers.CharField(
        help_text='mass, volume or amount of substance with a unit: "3.74 g", "5 mL"'
    )
    role = serializers.CharField(required=False, allow_blank=True, default="")
    order = serializers.IntegerField(required=False, min_value=0, allow_null=True, default=None)


class RecipeComponentWriteSerializer(ComponentInputSerializer):
    version = serializers.PrimaryKeyRelatedField(queryset=RecipeVersion.objects.none())


class ComponentUpdateSerializer(serializers.Serializer[Any]):
    chemical = serializers.PrimaryKeyRelatedField(queryset=Chemical.objects.all(), required=False)
    amount = serializers.CharField(required=False)
    role = serializers.CharField(required=False, allow_blank=True)
    order = serializers.IntegerField(required=False, min_value=0)


class ProcessStepSerializer(CompiledRepresentation, serializers.ModelSerializer[ProcessStep]):
    kind = StepKindField(read_only=True)
    duration = _q("s", "time", allow_null=True)
    temperature = _q("degC", "temperature", allow_null=True)
    wavelength = _q("nm", "length", allow_null=True)
    pressure = _q("MPa", "pressure", allow_null=True)
    ramp_rate = _q("K/min", "heating_rate", allow_null=True)
    dwell = _q("s", "time", allow_null=True)

    class Meta:
        model = ProcessStep
        fields = [
            "id",
            "version",
            "order",
            "kind",
            "description",
            "duration",
            "temperature",
            "wavelength",
            "atmosphere",
            "pressure",
            "press_mode",
            "ramp_rate",
            "dwell",
            "mother_powder",
            "grits",
        ]


def _opt_text(help_text: str = "") -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, allow_null=True, default=None, help_text=help_text
    )


class StepInputSerializer(serializers.Serializer[Any]):
    """A typed step; quantities as text ("1 h", "365 nm", "1180 C", "RT"); which apply depends on the kind."""

    kind = StepKindField()
    order = serializers.IntegerField(required=False, min_value=0, allow_null=True, default=None)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    duration = _opt_text()
    temperature = _opt_text()
    wavelength = _opt_text()
    atmosphere = _opt_text()
    pressure = _opt_text()
    press_mode = _opt_text()
    ramp_rate = _opt_text()
    dwell = _opt_text()
    mother_powder = serializers.BooleanField(required=False, allow_null=True, default=None)
    grits = _opt_text()


class StepWriteSerializer(StepInputSerializer):
    version = serializers.PrimaryKeyRelatedField(queryset=RecipeVersion.objects.none())


class RecipeVersionSerializer(CompiledRepresentation, serializers.ModelSerializer[RecipeVersion]):
    recipe_name = serializers.CharField(source="recipe.name", read_only=True)
    is_frozen = serializers.BooleanField(read_only=True)
    components = RecipeComponentSerializer(many=True, read_only=True)
    steps = ProcessStepSerializer(many=True, read_only=True)
    composition = serializers.SerializerMethodField()
    batch_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = RecipeVersion
        fields = [
            "id",
            "recipe",
            "recipe_name",
            "number",
            "notes",
            "frozen_at",
            "is_frozen",
            "derived_from",
            "filler_fraction",
            "batch_count",
            "components",
            "steps",
            "composition",
        ]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_composition(self, obj: RecipeVersion) -> dict[str, Any]:
        return sel.version_composition(obj)


class VersionCreateSerializer(serializers.Serializer[Any]):
    """A new version derived from ``base`` (copy-on-edit), with new components/steps when given."""

    base = serializers.PrimaryKeyRelatedField(queryset=RecipeVersion.objects.none())
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    components = ComponentInputSerializer(many=True, required=False)
    steps = StepInputSerializer(many=True, required=False)


class VersionUpdateSerializer(serializers.Serializer[Any]):
    notes = serializers.CharField(allow_blank=True)


class ReviseSerializer(serializers.Serializer[Any]):
    notes = serializers.CharField(required=False, allow_blank=True, allow_null=True, default=None)
    components = ComponentInputSerializer(many=True)
    steps = StepInputSerializer(many=True, required=False, default=list)


class FillerSeriesSerializer(serializers.Serializer[Any]):
    filler = serializers.PrimaryKeyRelatedField(queryset=Chemical.objects.all())
    fractions = serializers.ListField(
        child=serializers.FloatField(min_value=0, max_value=0.99),
        required=False,
        default=[0.0, 0.2, 0.4, 0.6],
    )
    recipe_name = serializers.CharField(required=False, allow_blank=True, default="")


class RecipeSerializer(CompiledRepresentation, serializers.ModelSerializer[Recipe]):
    version_count = serializers.IntegerField(read_only=True, default=0)
    batch_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Recipe
        fields = ["id", "team", "name", "description", "version_count", "batch_count", "created_at"]


class RecipeCreateSerializer(serializers.Serializer[Any]):
    team = TeamField(required=False, allow_null=True, default=None)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    components = ComponentInputSerializer(many=True, required=False, default=list)
    steps = StepInputSerializer(many=True, required=False, default=list)


class RecipeUpdateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)


class ScaledLineSerializer(serializers.Serializer[Any]):
    component = serializers.IntegerField(source="component.pk")
    name = serializers.CharField()
    planned_amount = serializers.FloatField()
    unit = serializers.CharField()
    planned_mass_g = serializers.FloatField(allow_null=True)


class ScaledSerializer(serializers.Serializer[Any]):
    """GET .../scaled/: the scale factor used and the planned amount of every line."""

    scale_factor = serializers.FloatField()
    lines = ScaledLineSerializer(many=True)


# ------------------------------------------------------------------------------------------------ batches


class BatchComponentSerializer(CompiledRepresentation, serializers.ModelSerializer[BatchComponent]):
    chemical_name = serializers.CharField(source="recipe_component.chemical.name", read_only=True)
    unit = serializers.SerializerMethodField()
    lot_code = serializers.CharField(source="lot.code", read_only=True)
    actual_mass = _q("g", "mass", allow_null=True)

    class Meta:
        model = BatchComponent
        fields = [
            "id",
            "recipe_component",
            "chemical_name",
            "lot",
            "lot_code",
            "planned_amount",
            "actual_amount",
            "unit",
            "actual_mass",
            "entered_as",
            "deviation",
            "flagged",
            "transaction",
        ]

    def get_unit(self, obj: BatchComponent) -> str:
        return sel.AMOUNT_UNITS[obj.recipe_component.amount_kind]


class BatchSerializer(CompiledRepresentation, serializers.ModelSerializer[Batch]):
    recipe_name = serializers.CharField(source="recipe_version.recipe.name", read_only=True)
    version_number = serializers.IntegerField(source="recipe_version.number", read_only=True)
    operator_name = serializers.CharField(source="operator.username", read_only=True)
    flagged_count = serializers.IntegerField(read_only=True, default=0)
    membrane_count = serializers.IntegerField(read_only=True, default=0)
    components = BatchComponentSerializer(many=True, read_only=True)

    class Meta:
        model = Batch
        fields = [
            "id",
            "code",
            "team",
            "recipe_version",
            "recipe_name",
            "version_number",
            "operator",
            "operator_name",
            "started_at",
            "ended_at",
            "scale_factor",
            "status",
            "cancel_reason",
            "conditions",
            "notes",
            "filler_fraction",
            "deviation_tolerance",
            "flagged_count",
            "membrane_count",
            "components",
        ]


class DrawInputSerializer(serializers.Serializer[Any]):
    component = serializers.IntegerField(help_text="recipe component id")
    lot = serializers.PrimaryKeyRelatedField(queryset=StockLot.objects.all(), required=False, allow_null=True)
    amount = serializers.CharField(
        allow_blank=True, help_text='actual amount with a unit: "3.71 g", "0.9 mL"'
    )
    override_reason = serializers.CharField(required=False, allow_blank=True, default="")


class BatchCreateSerializer(serializers.Serializer[Any]):
    recipe_version = serializers.PrimaryKeyRelatedField(queryset=RecipeVersion.objects.none())
    scale_factor = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0)
    target_mass = serializers.CharField(required=False, allow_blank=True, default="", help_text='e.g. "21 g"')
    tolerance = serializers.FloatField(required=False, default=0.02, min_value=0, max_value=0.99)
    started_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    ended_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    conditions = serializers.CharField(required=False, allow_blank=True, default="")
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    draws = DrawInputSerializer(many=True)


class BatchUpdateSerializer(serializers.Serializer[Any]):
    notes = serializers.CharField(required=False, allow_blank=True)
    conditions = serializers.CharField(required=False, allow_blank=True)
    ended_at = serializers.DateTimeField(required=False)


class CancelSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=300)


# ------------------------------------------------------------------------------------------------ products


class MouldSerializer(CompiledRepresentation, serializers.ModelSerializer[Mould]):
    area = Q(unit="cm**2", dimension="area", allow_zero=False)
    membrane_count = serializers.IntegerField(read_only=True, default=0)
    shape = serializers.ChoiceField(choices=MouldShape.choices, required=False, default=MouldShape.RECTANGLE)

    class Meta:
        model = Mould
        fields = ["id", "name", "shape", "area", "material", "notes", "membrane_count"]


class MouldUpdateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(required=False)
    material = serializers.CharField(required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)


class MembraneSerializer(CompiledRepresentation, serializers.ModelSerializer[Membrane]):
    batch_code = serializers.CharField(source="batch.code", read_only=True)
    mould_name = serializers.CharField(source="mould.name", read_only=True)
    cast_mass = _q("g", "mass")
    slurry_density = _q("g/mL", "density")
    thickness_from_mass = _q("um", "length")
    thickness_measured = _q("um", "length", allow_null=True)
    cure_wavelength = _q("nm", "length", allow_null=True)
    cure_duration = _q("s", "time", allow_null=True)
    cure_temperature = _q("degC", "temperature", allow_null=True)
    derived = serializers.SerializerMethodField()

    class Meta:
        model = Membrane
        fields = [
            "id",
            "code",
            "team",
            "batch",
            "batch_code",
            "mould",
            "mould_name",
            "cast_mass",
            "slurry_density",
            "slurry_density_estimated",
            "thickness_from_mass",
            "thickness_measured",
            "cured_at",
            "cure_wavelength",
            "cure_duration",
            "cure_temperature",
            "cure_atmosphere",
            "appearance",
            "filler_fraction",
            "notes",
            "derived",
        ]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_derived(self, obj: Membrane) -> dict[str, Any]:
        return sel.membrane_derived(obj)


class MembraneCreateSerializer(serializers.Serializer[Any]):
    batch = serializers.PrimaryKeyRelatedField(queryset=Batch.objects.none())
    mould = serializers.PrimaryKeyRelatedField(queryset=Mould.objects.all())
    cast_mass = serializers.CharField(help_text='e.g. "1.2 g"')
    slurry_density = _opt_text("measured; estimated from the components when empty")
    thickness_measured = _opt_text()
    cured_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    cure_wavelength = _opt_text()
    cure_duration = _opt_text()
    cure_temperature = _opt_text()
    cure_atmosphere = _opt_text()
    appearance = serializers.CharField(required=False, allow_blank=True, default="")
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class MembraneUpdateSerializer(serializers.Serializer[Any]):
    thickness_measured = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    appearance = serializers.CharField(required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)


class PelletSerializer(CompiledRepresentation, serializers.ModelSerializer[Pellet]):
    lot_code = serializers.CharField(source="lot.code", read_only=True)
    powder_mass = _q("g", "mass")
    press_pressure = _q("MPa", "pressure")
    sinter_temperature = _q("degC", "temperature")
    sinter_ramp = _q("K/min", "heating_rate", allow_null=True)
    sinter_dwell = _q("s", "time")
    green_diameter = _q("mm", "length", allow_null=True)
    green_thickness = _q("mm", "length", allow_null=True)
    final_diameter = _q("mm", "length")
    final_thickness = _q("mm", "length")
    final_mass = _q("g", "mass")
    geometric_density = _q("g/mL", "density")
    derived = serializers.SerializerMethodField()

    class Meta:
        model = Pellet
        fields = [
            "id",
            "code",
            "team",
            "lot",
            "lot_code",
            "transaction",
            "powder_mass",
            "press_pressure",
            "press_mode",
            "sinter_temperature",
            "sinter_ramp",
            "sinter_dwell",
            "sinter_atmosphere",
            "mother_powder",
            "sanding_grits",
            "green_diameter",
            "green_thickness",
            "final_diameter",
            "final_thickness",
            "final_mass",
            "geometric_density",
            "relative_density",
            "made_at",
            "notes",
            "derived",
        ]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_derived(self, obj: Pellet) -> dict[str, Any]:
        return sel.pellet_derived(obj)


class PelletCreateSerializer(serializers.Serializer[Any]):
    team = TeamField(required=False, allow_null=True, default=None)
    lot = serializers.PrimaryKeyRelatedField(queryset=StockLot.objects.all())
    powder_mass = serializers.CharField()
    press_pressure = serializers.CharField()
    press_mode = serializers.ChoiceField(choices=PressMode.choices, default=PressMode.ISOSTATIC)
    sinter_temperature = serializers.CharField()
    sinter_ramp = _opt_text()
    sinter_dwell = serializers.CharField()
    sinter_atmosphere = serializers.CharField(required=False, allow_blank=True, default="air")
    mother_powder = serializers.BooleanField(required=False, default=True)
    sanding_grits = serializers.CharField(required=False, allow_blank=True, default="")
    green_diameter = _opt_text()
    green_thickness = _opt_text()
    final_diameter = serializers.CharField()
    final_thickness = serializers.CharField()
    final_mass = serializers.CharField()
    made_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    override_reason = serializers.CharField(required=False, allow_blank=True, default="")


class NotesSerializer(serializers.Serializer[Any]):
    notes = serializers.CharField(required=False, allow_blank=True)


class ElectrodeSerializer(CompiledRepresentation, serializers.ModelSerializer[Electrode]):
    active_lot_code = serializers.CharField(source="active_lot.code", read_only=True)
    active_material = serializers.CharField(source="active_lot.chemical.name", read_only=True)
    loading = _q("mg/cm**2", "areal_mass", allow_null=True)
    coating_mass = _q("g", "mass", allow_null=True)
    area = _q("cm**2", "area")
    active_mass = _q("g", "mass")
    derived = serializers.SerializerMethodField()

    class Meta:
        model = Electrode
        fields = [
            "id",
            "code",
            "team",
            "active_lot",
            "active_lot_code",
            "active_material",
            "conductive_lot",
            "binder_lot",
            "active_fraction",
            "conductive_fraction",
            "binder_fraction",
            "loading",
            "coating_mass",
            "area",
            "active_mass",
            "made_at",
            "notes",
            "derived",
        ]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_derived(self, obj: Electrode) -> dict[str, Any]:
        return sel.electrode_derived(obj, self.context.get("c_rate"))


class ElectrodeCreateSerializer(serializers.Serializer[Any]):
    team = TeamField(required=False, allow_null=True, default=None)
    active_lot = serializers.PrimaryKeyRelatedField(queryset=StockLot.objects.all())
    conductive_lot = serializers.PrimaryKeyRelatedField(
        queryset=StockLot.objects.all(), required=False, allow_null=True, default=None
    )
    binder_lot = serializers.PrimaryKeyRelatedField(
        queryset=StockLot.objects.all(), required=False, allow_null=True, default=None
    )
    active_fraction = serializers.FloatField(min_value=0, max_value=1)
    conductive_fraction = serializers.FloatField(min_value=0, max_value=1, default=0.0)
    binder_fraction = serializers.FloatField(min_value=0, max_value=1, default=0.0)
    loading = _opt_text('active loading, e.g. "2.0 mg/cm^2"')
    coating_mass = _opt_text("weighed coating (without collector)")
    area = _opt_text('e.g. "1.13 cm^2"')
    diameter = _opt_text('disc diameter, e.g. "12 mm"')
    made_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="a manager's reason to use an expired/quarantined lot",
    )
