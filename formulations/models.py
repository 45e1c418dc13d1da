"""Inventory (chemicals, suppliers, locations, stock lots and their ledger) and synthesis records
(recipes with versions, batches, moulds, membranes, pellets, electrodes).

Canonical units (one per field, documented on each QuantityField): masses in g, volumes in mL, amounts in mol,
molar masses in g/mol, densities in g/mL (= g/cm3), areas in cm2, membrane thickness in um, pellet dimensions
in mm, temperatures in degC, durations in s, pressures in MPa, wavelengths in nm, water content in ppm (by mass).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone

from lims.audit import AuditedHistory
from lims.fields import QuantityField
from lims.models import Audited, TeamOwned

# --------------------------------------------------------------------------------------------------- inventory


class ChemicalRole(models.TextChoices):
    SALT = "salt", "salt"
    SOLVENT = "solvent", "solvent / plasticiser"
    MONOMER = "monomer", "monomer"
    INITIATOR = "initiator", "photoinitiator / initiator"
    CERAMIC_FILLER = "ceramic_filler", "ceramic filler"
    CATHODE_ACTIVE = "cathode_active", "cathode active material"
    CONDUCTIVE_ADDITIVE = "conductive_additive", "conductive additive"
    BINDER = "binder", "binder"
    ANODE_METAL = "anode_metal", "anode metal"
    CURRENT_COLLECTOR = "current_collector", "current collector"
    SLURRY_SOLVENT = "slurry_solvent", "slurry solvent"
    OTHER = "other", "other"


class Chemical(Audited):
    """A substance the lab keeps (shared inventory: visible to every team)."""

    name = models.CharField(max_length=200, unique=True)
    abbreviation = models.CharField(max_length=40, blank=True)
    cas_number = models.CharField("CAS number", max_length=12, blank=True, db_index=True)
    formula = models.CharField(max_length=120, blank=True)
    role = models.CharField(max_length=30, choices=ChemicalRole.choices, default=ChemicalRole.OTHER)
    molar_mass = QuantityField(unit="g/mol", dimension="molar_mass", null=True, blank=True)
    density = QuantityField(
        unit="g/mL", dimension="density", null=True, blank=True, help_text="needed to dose by volume; g/mL"
    )
    theoretical_density = QuantityField(unit="g/mL", dimension="density", null=True, blank=True)
    specific_capacity = QuantityField(
        unit="mAh/g", dimension="specific_capacity", null=True, blank=True, help_text="theoretical, mAh/g"
    )
    moisture_sensitive = models.BooleanField(default=False)
    store_in_glovebox = models.BooleanField(default=False)
    light_sensitive = models.BooleanField(default=False)
    hazard_notes = models.TextField(blank=True)
    low_stock_threshold = QuantityField(
        unit="g",
        dimension="mass",
        null=True,
        blank=True,
        help_text="warn when the lots hold less than this (g)",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.abbreviation})" if self.abbreviation else self.name


class ChemicalSynonym(Audited):
    """Another name of a chemical ("NMMA", "NMMAm", "N-methyl methacrylamide"), matched case-insensitively."""

    chemical = models.ForeignKey(Chemical, on_delete=models.CASCADE, related_name="synonyms")
    name = models.CharField(max_length=200)
    name_lower = models.CharField(max_length=200, db_index=True, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name_lower"], name="synonym_unique_name")]

    def save(self, *args: object, **kwargs: object) -> None:
        self.name_lower = self.name.strip().lower()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return self.name


class Supplier(Audited):
    name = models.CharField(max_length=200, unique=True)
    website = models.URLField(blank=True)
    contact = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LocationKind(models.TextChoices):
    BUILDING = "building", "building"
    ROOM = "room", "room"
    GLOVEBOX = "glovebox", "glovebox"
    FRIDGE = "fridge", "fridge"
    FREEZER = "freezer", "freezer"
    CABINET = "cabinet", "cabinet"
    SHELF = "shelf", "shelf"
    DESICCATOR = "desiccator", "desiccator"


def location_path_text(names_up: list[str]) -> str:
    """A storage location's path from the names of it and its parents, innermost first: "Lab > Fridge > Shelf"."""
    return " > ".join(reversed(names_up))


class StorageLocation(Audited):
    """A place in a tree: building > room > glovebox/fridge/cabinet > shelf."""

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=LocationKind.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="location_unique_name_in_parent")
        ]

    def __str__(self) -> str:
        return self.path

    @property
    def path(self) -> str:
        parts = [self.name]
        node = self.parent
        seen = 0
        while node is not None and seen < 10:
            parts.append(node.name)
            node = node.parent
            seen += 1
        return location_path_text(parts)


class LotStatus(models.TextChoices):
    QUARANTINE = "quarantine", "quarantine"
    AVAILABLE = "available", "available"
    EXPIRED = "expired", "expired"
    DEPLETED = "depleted", "depleted"
    DISPOSED = "disposed", "disposed"


class StockUnit(models.TextChoices):
    GRAM = "g", "g (kept by mass)"
    MILLILITRE = "mL", "mL (kept by volume)"


class StockLot(Audited):
    """One delivery of a chemical. ``quantity_on_hand`` changes only through StockTransaction rows (services)."""

    code = models.CharField(max_length=20, unique=True, help_text="short label code, printed as a QR code")
    chemical = models.ForeignKey(Chemical, on_delete=models.PROTECT, related_name="lots")
    supplier = models.ForeignKey(
        Supplier, null=True, blank=True, on_delete=models.PROTECT, related_name="lots"
    )
    supplier_lot_number = models.CharField(max_length=80, blank=True)
    purity = QuantityField(unit="dimensionless", dimension="fraction", null=True, blank=True, help_text="0-1")
    received_on = models.DateField(default=timezone.localdate)
    opened_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True, db_index=True)
    location = models.ForeignKey(
        StorageLocation, null=True, blank=True, on_delete=models.PROTECT, related_name="lots"
    )
    container_count = models.PositiveIntegerField(default=1)
    quantity_unit = models.CharField(max_length=4, choices=StockUnit.choices, default=StockUnit.GRAM)
    quantity_on_hand = models.FloatField(default=0.0, editable=False, help_text="in quantity_unit (g or mL)")
    water_content = QuantityField(unit="ppm", dimension="fraction", null=True, blank=True, help_text="ppm")
    status = models.CharField(
        max_length=20, choices=LotStatus.choices, default=LotStatus.AVAILABLE, db_index=True
    )
    notes = models.TextField(blank=True)
    certificate = models.FileField(upload_to="certificates/%Y/", blank=True)

    class Meta:
        ordering = ["-received_on", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity_on_hand__gte=0), name="lot_quantity_never_negative"),
        ]
        indexes = [
            models.Index(fields=["chemical", "status"]),
            # ?code= on the ledger and the lot lists is case-insensitive (UPPER(code) = UPPER(%s))
            models.Index(Upper("code"), name="lot_code_upper"),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.chemical.name}"


class TransactionKind(models.TextChoices):
    RECEIVE = "receive", "receive"
    CONSUME = "consume", "consume"
    ADJUST = "adjust", "adjust"
    DISPOSE = "dispose", "dispose"
    RETURN = "return", "return"


class StockTransaction(models.Model):
    """An append-only ledger row: the signed change of one lot, in the lot's unit, with who, when, why, what for."""

    lot = models.ForeignKey(StockLot, on_delete=models.PROTECT, related_name="transactions")
    kind = models.CharField(max_length=10, choices=TransactionKind.choices)
    quantity = models.FloatField(help_text="signed change, in the lot's unit")
    entered_as = models.CharField(max_length=60, blank=True, help_text="the amount as the person typed it")
    balance_after = models.FloatField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    reason = models.CharField(max_length=300, blank=True)
    batch = models.ForeignKey("Batch", null=True, blank=True, on_delete=models.PROTECT, related_name="draws")
    purpose = models.CharField(max_length=200, blank=True, help_text="what the material was for")
    for_team = models.ForeignKey(
        "lims.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the team whose batch, pellet or cell the draw went into (its reason and purpose name that "
        "record, so only the team sees them); empty for receipts, counts, returns, disposals and free draws. "
        "Not an owner: the ledger row stays shared inventory",
    )
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="manager who allowed use of an expired or quarantined lot",
    )

    history = AuditedHistory()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["lot", "id"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity:+g} {self.lot.quantity_unit} of {self.lot.code}"


# --------------------------------------------------------------------------------------------------- synthesis


class Recipe(TeamOwned):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="recipe_unique_name_in_team")]

    def __str__(self) -> str:
        return self.name


def recipe_version_label(recipe_name: str | None, number: int | None) -> str | None:
    """How a recipe version is named (``str(version)``): "<recipe> v<number>"; None for no version."""
    return None if recipe_name is None else f"{recipe_name} v{number}"


class RecipeVersion(Audited):
    """A version of a recipe; frozen (immutable) from the moment a batch uses it."""

    recipe = models.ForeignKey(Recipe, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    notes = models.TextField(blank=True)
    frozen_at = models.DateTimeField(null=True, blank=True)
    derived_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="variants"
    )
    filler_fraction = QuantityField(
        unit="dimensionless",
        dimension="fraction",
        null=True,
        blank=True,
        help_text="filler wt% as m_filler/(m_filler+m_precursor), 0-1; set for filler-series variants",
    )

    class Meta:
        ordering = ["recipe", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["recipe", "number"], name="recipe_version_unique_number")
        ]

    def __str__(self) -> str:
        return recipe_version_label(self.recipe.name, self.number) or ""

    @property
    def is_frozen(self) -> bool:
        return self.frozen_at is not None


class AmountKind(models.TextChoices):
    MASS = "mass", "mass (g)"
    VOLUME = "volume", "volume (mL)"
    AMOUNT = "amount", "amount of substance (mol)"


AMOUNT_UNITS = {AmountKind.MASS: "g", AmountKind.VOLUME: "mL", AmountKind.AMOUNT: "mol"}


class RecipeComponent(Audited):
    version = models.ForeignKey(RecipeVersion, on_delete=models.CASCADE, related_name="components")
    chemical = models.ForeignKey(Chemical, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=30, choices=ChemicalRole.choices)
    order = models.PositiveSmallIntegerField(default=0)
    amount_kind = models.CharField(max_length=10, choices=AmountKind.choices)
    amount = models.FloatField(help_text="in g, mL or mol according to amount_kind")
    entered_as = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["version", "order", "id"]

    def __str__(self) -> str:
        return f"{self.chemical.name}: {self.amount:g} {AMOUNT_UNITS[AmountKind(self.amount_kind)]}"


class StepKind(models.TextChoices):
    DISSOLVE = "dissolve", "dissolve"
    MIX = "mix", "mix / stir"
    UV_CURE = "uv_cure", "UV cure"
    CAST = "cast", "cast"
    DRY = "dry", "dry"
    PRESS = "press", "press"
    SINTER = "sinter", "sinter"
    SAND = "sand", "sand / polish"
    OTHER = "other", "other"


class PressMode(models.TextChoices):
    ISOSTATIC = "isostatic", "isostatic"
    UNIAXIAL = "uniaxial", "uniaxial"


class ProcessStep(Audited):
    """A typed process step; which fields matter depends on ``kind`` (validated in services)."""

    version = models.ForeignKey(RecipeVersion, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=StepKind.choices)
    description = models.CharField(max_length=300, blank=True)
    duration = QuantityField(unit="s", dimension="time", null=True, blank=True)
    temperature = QuantityField(
        unit="degC", dimension="temperature", null=True, blank=True, allow_negative=True
    )
    wavelength = QuantityField(unit="nm", dimension="length", null=True, blank=True)
    atmosphere = models.CharField(max_length=60, blank=True)
    pressure = QuantityField(unit="MPa", dimension="pressure", null=True, blank=True)
    press_mode = models.CharField(max_length=20, choices=PressMode.choices, blank=True)
    ramp_rate = QuantityField(unit="K/min", dimension="heating_rate", null=True, blank=True)
    dwell = QuantityField(unit="s", dimension="time", null=True, blank=True)
    mother_powder = models.BooleanField(null=True, blank=True)
    grits = models.CharField(max_length=120, blank=True, help_text="e.g. 400, 800, 1200")

    class Meta:
        ordering = ["version", "order", "id"]

    def __str__(self) -> str:
        return f"{self.order}. {self.get_kind_display()}"


class BatchStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "in progress"
    COMPLETED = "completed", "completed"
    CANCELLED = "cancelled", "cancelled"


class Batch(TeamOwned):
    """One synthesis run of a recipe version; its draws consume stock lots atomically."""

    code = models.CharField(max_length=30, unique=True)
    recipe_version = models.ForeignKey(RecipeVersion, on_delete=models.PROTECT, related_name="batches")
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    scale_factor = models.FloatField(default=1.0, help_text="planned amounts = recipe amounts x scale_factor")
    status = models.CharField(max_length=20, choices=BatchStatus.choices, default=BatchStatus.COMPLETED)
    cancel_reason = models.CharField(max_length=300, blank=True)
    conditions = models.TextField(blank=True, help_text="conditions actually used")
    notes = models.TextField(blank=True)
    filler_fraction = models.FloatField(null=True, blank=True, help_text="actual filler wt% (0-1), computed")
    deviation_tolerance = models.FloatField(
        default=0.02, help_text="a component is flagged when |actual - planned| / planned exceeds this (0-1)"
    )

    class Meta:
        ordering = ["-started_at"]
        verbose_name_plural = "batches"
        indexes = [
            # the batch list: a team's batches, newest first (issue 10: no sort of the whole team per page)
            models.Index(fields=["team", "-started_at", "-id"], name="batch_team_started"),
            models.Index(fields=["filler_fraction"], name="batch_filler_fraction"),
        ]

    def __str__(self) -> str:
        return self.code


class BatchComponent(Audited):
    """What was actually weighed for one recipe component, from which lot, and its deviation from the plan."""

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="components")
    recipe_component = models.ForeignKey(RecipeComponent, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(StockLot, on_delete=models.PROTECT, related_name="batch_components")
    planned_amount = models.FloatField(help_text="in the recipe component's unit (g, mL or mol)")
    actual_amount = models.FloatField(help_text="in the recipe component's unit (g, mL or mol)")
    actual_mass = QuantityField(unit="g", dimension="mass", null=True, blank=True)
    entered_as = models.CharField(max_length=60, blank=True)
    deviation = models.FloatField(help_text="(actual - planned) / planned")
    flagged = models.BooleanField(default=False)
    transaction = models.OneToOneField(StockTransaction, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["batch", "recipe_component__order"]


class MouldShape(models.TextChoices):
    RECTANGLE = "rectangle", "rectangle"
    DISC = "disc", "disc"


class Mould(Audited):
    name = models.CharField(max_length=120, unique=True)
    shape = models.CharField(max_length=20, choices=MouldShape.choices, default=MouldShape.RECTANGLE)
    area = QuantityField(unit="cm**2", dimension="area", help_text="cm2")
    material = models.CharField(max_length=60, blank=True, default="glass")
    notes = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.area:g} cm2)"


class Membrane(TeamOwned):
    """A membrane cast from a batch into a mould: thickness = cast mass / (slurry density x mould area)."""

    code = models.CharField(max_length=30, unique=True)
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="membranes")
    mould = models.ForeignKey(Mould, on_delete=models.PROTECT, related_name="membranes")
    cast_mass = QuantityField(unit="g", dimension="mass")
    slurry_density = QuantityField(unit="g/mL", dimension="density")
    slurry_density_estimated = models.BooleanField(
        default=False, help_text="True: estimated from the components (ideal mixing), not measured"
    )
    thickness_from_mass = QuantityField(unit="um", dimension="length", editable=False, default=0.0)
    thickness_measured = QuantityField(unit="um", dimension="length", null=True, blank=True)
    cured_at = models.DateTimeField(default=timezone.now)
    cure_wavelength = QuantityField(unit="nm", dimension="length", null=True, blank=True)
    cure_duration = QuantityField(unit="s", dimension="time", null=True, blank=True)
    cure_temperature = QuantityField(
        unit="degC", dimension="temperature", null=True, blank=True, allow_negative=True
    )
    cure_atmosphere = models.CharField(max_length=60, blank=True)
    appearance = models.CharField(max_length=300, blank=True)
    filler_fraction = models.FloatField(null=True, blank=True, help_text="inherited from the batch (0-1)")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-cured_at"]
        indexes = [
            models.Index(fields=["team", "-cured_at", "-id"], name="membrane_team_cured"),
            # filler wt% filters of the cell and derived-property lists
            models.Index(fields=["filler_fraction"], name="membrane_filler_fraction"),
            # the membrane_code filters of the cell, upload and derived-property lists (code__iexact)
            models.Index(Upper("code"), name="membrane_code_upper"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def thickness_um(self) -> float:
        """The thickness to use: measured when known, else derived from the cast mass."""
        return self.thickness_measured if self.thickness_measured else self.thickness_from_mass

    @property
    def thickness_source(self) -> str:
        return "measured" if self.thickness_measured else "from cast mass"


class Pellet(TeamOwned):
    """A sintered ceramic pellet pressed from a powder lot."""

    code = models.CharField(max_length=30, unique=True)
    lot = models.ForeignKey(StockLot, on_delete=models.PROTECT, related_name="pellets")
    transaction = models.OneToOneField(
        StockTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    powder_mass = QuantityField(unit="g", dimension="mass")
    press_pressure = QuantityField(unit="MPa", dimension="pressure")
    press_mode = models.CharField(max_length=20, choices=PressMode.choices, default=PressMode.ISOSTATIC)
    sinter_temperature = QuantityField(unit="degC", dimension="temperature")
    sinter_ramp = QuantityField(unit="K/min", dimension="heating_rate", null=True, blank=True)
    sinter_dwell = QuantityField(unit="s", dimension="time")
    sinter_atmosphere = models.CharField(max_length=60, blank=True, default="air")
    mother_powder = models.BooleanField(default=True)
    sanding_grits = models.CharField(max_length=120, blank=True)
    green_diameter = QuantityField(unit="mm", dimension="length", null=True, blank=True)
    green_thickness = QuantityField(unit="mm", dimension="length", null=True, blank=True)
    final_diameter = QuantityField(unit="mm", dimension="length")
    final_thickness = QuantityField(unit="mm", dimension="length")
    final_mass = QuantityField(unit="g", dimension="mass")
    geometric_density = QuantityField(unit="g/mL", dimension="density", editable=False, default=0.0)
    relative_density = models.FloatField(null=True, blank=True, editable=False, help_text="0-1")
    made_at = models.DateTimeField(default=timezone.now)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-made_at"]
        # the pellet_code filters of the cell, upload and derived-property lists (code__iexact)
        indexes = [models.Index(Upper("code"), name="pellet_code_upper")]

    def __str__(self) -> str:
        return self.code


class Electrode(TeamOwned):
    """A cathode sheet or disc: active mass from loading x area (or weighed mass), 1 C from specific capacity."""

    code = models.CharField(max_length=30, unique=True)
    active_lot = models.ForeignKey(StockLot, on_delete=models.PROTECT, related_name="electrodes")
    conductive_lot = models.ForeignKey(
        StockLot, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    binder_lot = models.ForeignKey(
        StockLot, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    active_fraction = models.FloatField(help_text="mass fraction of active material in the coating (0-1)")
    conductive_fraction = models.FloatField(default=0.0)
    binder_fraction = models.FloatField(default=0.0)
    loading = QuantityField(unit="mg/cm**2", dimension="areal_mass", null=True, blank=True)
    coating_mass = QuantityField(unit="g", dimension="mass", null=True, blank=True)
    area = QuantityField(unit="cm**2", dimension="area")
    active_mass = QuantityField(unit="g", dimension="mass", editable=False, default=0.0)
    made_at = models.DateTimeField(default=timezone.now)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-made_at"]

    def __str__(self) -> str:
        return self.code
