"""Cells: what each cell is made of, its state history, and what happened to it after the test.

Canonical units: areas in cm2, stack pressure in MPa, glovebox O2/H2O in ppm.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone

from formulations.models import Electrode, Membrane, Pellet, StockLot, StockTransaction
from lims.audit import AuditedHistory
from lims.fields import QuantityField
from lims.models import Audited, TeamOwned


class Configuration(models.TextChoices):
    SYMMETRIC = "symmetric", "symmetric Li|E|Li"
    FULL = "full", "full Li|E|cathode"
    BLOCKING = "blocking", "blocking SS|E|SS"
    LI_SS = "li_ss", "Li|E|SS (voltammetry)"


class CellFormat(models.TextChoices):
    COIN = "coin", "coin"
    POUCH = "pouch", "pouch"
    SWAGELOK = "swagelok", "Swagelok"
    SPLIT = "split", "split cell"


class CellState(models.TextChoices):
    ASSEMBLED = "assembled", "assembled"
    ON_TEST = "on_test", "on test"
    FINISHED = "finished", "finished"
    SHORTED = "shorted", "shorted"
    FAILED = "failed", "failed"
    DISASSEMBLED = "disassembled", "disassembled"


#: The allowed state transitions (the state machine lives in one place).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    CellState.ASSEMBLED: (CellState.ON_TEST, CellState.FAILED, CellState.DISASSEMBLED),
    CellState.ON_TEST: (CellState.FINISHED, CellState.SHORTED, CellState.FAILED),
    CellState.FINISHED: (CellState.DISASSEMBLED, CellState.ON_TEST),
    CellState.SHORTED: (CellState.DISASSEMBLED,),
    CellState.FAILED: (CellState.DISASSEMBLED,),
    CellState.DISASSEMBLED: (),
}


class Cell(TeamOwned):
    code = models.CharField(max_length=40, unique=True, help_text="readable identifier, e.g. LP20-SYM-003")
    configuration = models.CharField(max_length=20, choices=Configuration.choices, db_index=True)
    cell_format = models.CharField(max_length=20, choices=CellFormat.choices, default=CellFormat.COIN)
    format_detail = models.CharField(max_length=40, blank=True, help_text="e.g. CR2032")
    membrane = models.ForeignKey(
        Membrane, null=True, blank=True, on_delete=models.PROTECT, related_name="cells"
    )
    pellet = models.ForeignKey(Pellet, null=True, blank=True, on_delete=models.PROTECT, related_name="cells")
    cathode = models.ForeignKey(
        Electrode, null=True, blank=True, on_delete=models.PROTECT, related_name="cells"
    )
    area_override = QuantityField(unit="cm**2", dimension="area", null=True, blank=True)
    active_area = QuantityField(
        unit="cm**2", dimension="area", help_text="cm2; the smaller electrode unless overridden"
    )
    stack_pressure = QuantityField(unit="MPa", dimension="pressure", null=True, blank=True)
    assembled_at = models.DateTimeField(default=timezone.now, db_index=True)
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    glovebox_o2 = QuantityField(unit="ppm", dimension="fraction", null=True, blank=True)
    glovebox_h2o = QuantityField(unit="ppm", dimension="fraction", null=True, blank=True)
    state = models.CharField(
        max_length=20, choices=CellState.choices, default=CellState.ASSEMBLED, db_index=True
    )
    state_changed_at = models.DateTimeField(default=timezone.now)
    notes = models.TextField(blank=True)
    postmortem_notes = models.TextField(blank=True)
    dendrites_observed = models.BooleanField(null=True, blank=True)
    delamination_observed = models.BooleanField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="optimistic lock: bumped on every edit")

    class Meta:
        ordering = ["-assembled_at", "code"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(membrane__isnull=False, pellet__isnull=True)
                    | Q(membrane__isnull=True, pellet__isnull=False)
                ),
                name="cell_has_exactly_one_electrolyte",
            ),
        ]
        indexes = [
            models.Index(fields=["team", "state"]),
            # the cell list: a team's cells in the default order
            models.Index(fields=["team", "-assembled_at", "code"], name="cell_team_assembled"),
            # ?cell_code= on uploads, measurements and derived properties (UPPER(code) = UPPER(%s))
            models.Index(Upper("code"), name="cell_code_upper"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def electrolyte(self) -> Membrane | Pellet:
        return self.membrane or self.pellet  # type: ignore[return-value]


class ComponentKind(models.TextChoices):
    LI_FOIL = "li_foil", "Li foil"
    CATHODE = "cathode", "cathode electrode"
    STAINLESS = "stainless", "stainless-steel blocking electrode / spacer"
    AL_COLLECTOR = "al_collector", "Al current collector"
    SPACER = "spacer", "spacer"
    SPRING = "spring", "spring"
    OTHER = "other", "other"


class CellComponent(Audited):
    """A part of a cell, with the lot it came from (and the ledger row that consumed it)."""

    cell = models.ForeignKey(Cell, on_delete=models.CASCADE, related_name="components")
    kind = models.CharField(max_length=20, choices=ComponentKind.choices)
    position = models.CharField(
        max_length=10, choices=[("negative", "negative"), ("positive", "positive"), ("", "-")], blank=True
    )
    lot = models.ForeignKey(
        StockLot, null=True, blank=True, on_delete=models.PROTECT, related_name="cell_components"
    )
    electrode = models.ForeignKey(
        Electrode, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    area = QuantityField(unit="cm**2", dimension="area", null=True, blank=True)
    mass_used = QuantityField(unit="g", dimension="mass", null=True, blank=True)
    transaction = models.OneToOneField(
        StockTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["cell", "id"]


class CellStateChange(models.Model):
    """An append-only record of a state transition: from, to, when, who, why."""

    cell = models.ForeignKey(Cell, on_delete=models.CASCADE, related_name="state_changes")
    from_state = models.CharField(max_length=20, choices=CellState.choices)
    to_state = models.CharField(max_length=20, choices=CellState.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=300, blank=True)

    history = AuditedHistory()

    class Meta:
        ordering = ["cell", "at", "id"]

    def __str__(self) -> str:
        return f"{self.cell_id}: {self.from_state} -> {self.to_state}"
