"""Every write of the cells app: assembling cells (one or N identical), changing their state, the post-mortem.

Services take keyword-only arguments, run in one database transaction, and raise DomainError (400) or
ConflictError (409) with messages a researcher understands. Material drawn for a cell (Li foil) goes through
``formulations.services.inventory.consume_from_lot`` so the ledger stays the single truth of what is on hand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from cells.models import (
    TRANSITIONS,
    Cell,
    CellComponent,
    CellFormat,
    CellState,
    CellStateChange,
    ComponentKind,
    Configuration,
)
from formulations.models import ChemicalRole, Electrode, Membrane, Pellet, StockLot
from formulations.services.inventory import consume_from_lot, return_to_lot
from lims.dates import refuse_future
from lims.errors import ConflictError, DomainError
from lims.models import Attachment, AttachmentKind, Team
from lims.units import UnitError, parse_quantity

#: Short names used in generated cell codes.
CONFIGURATION_ABBREVIATION = {
    Configuration.SYMMETRIC: "SYM",
    Configuration.FULL: "FULL",
    Configuration.BLOCKING: "BLK",
    Configuration.LI_SS: "LSS",
}

#: The kinds that are electrodes facing the electrolyte: the smallest of them sets the active area.
ELECTRODE_KINDS = (ComponentKind.LI_FOIL, ComponentKind.CATHODE, ComponentKind.STAINLESS)

_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


@dataclass
class ComponentSpec:
    """One part of a cell as entered: its kind, side, lot, electrode, disc area (cm2) and amount drawn.

    ``amount`` is text such as "46 mg" (or a number in the lot's unit); when given, it is consumed from ``lot``.
    """

    kind: str
    position: str = ""
    lot: StockLot | None = None
    electrode: Electrode | None = None
    area_cm2: float | None = None
    amount: Any = None


@dataclass
class CellSpec:
    """What one cell is made of (shared by assemble_cell and bulk_assemble)."""

    configuration: str
    cell_format: str = CellFormat.COIN
    format_detail: str = ""
    membrane: Membrane | None = None
    pellet: Pellet | None = None
    cathode: Electrode | None = None
    components: list[ComponentSpec] = field(default_factory=list)
    area_override_cm2: float | None = None
    stack_pressure_MPa: float | None = None
    assembled_at: datetime | None = None
    glovebox_o2_ppm: float | None = None
    glovebox_h2o_ppm: float | None = None
    notes: str = ""


# ------------------------------------------------------------------------------------------------ composition


def standard_components(
    *,
    configuration: str,
    li_foil_lot: StockLot | None = None,
    li_foil_amount: Any = None,
    li_foil_area_cm2: float | None = None,
    stainless_lot: StockLot | None = None,
    stainless_area_cm2: float | None = None,
) -> list[ComponentSpec]:
    """The usual parts of a configuration, as the assembly form and the API's short form describe them.

    symmetric: Li | E | Li (two Li discs from one lot); li_ss: Li | E | SS; blocking: SS | E | SS;
    full: Li | E | (the cathode electrode, added by assemble_cell).
    """

    def li(position: str) -> ComponentSpec:
        return ComponentSpec(
            kind=ComponentKind.LI_FOIL,
            position=position,
            lot=li_foil_lot,
            area_cm2=li_foil_area_cm2,
            amount=li_foil_amount,
        )

    def ss(position: str) -> ComponentSpec:
        return ComponentSpec(
            kind=ComponentKind.STAINLESS, position=position, lot=stainless_lot, area_cm2=stainless_area_cm2
        )

    if configuration == Configuration.SYMMETRIC:
        return [li("negative"), li("positive")]
    if configuration == Configuration.FULL:
        return [li("negative")]
    if configuration == Configuration.BLOCKING:
        return [ss("negative"), ss("positive")]
    if configuration == Configuration.LI_SS:
        return [li("negative"), ss("positive")]
    raise DomainError(f"Unknown configuration {configuration!r}")


def validate_configuration(spec: CellSpec) -> None:
    """Refuse a cell whose parts do not match its configuration, with a message that says what is wrong."""
    if spec.configuration not in Configuration.values:
        raise DomainError(
            f"Unknown configuration {spec.configuration!r}; choose one of: {', '.join(Configuration.values)}"
        )
    label = Configuration(spec.configuration).label
    if (spec.membrane is None) == (spec.pellet is None):
        raise DomainError("A cell needs exactly one electrolyte: a membrane or a pellet")
    kinds = [c.kind for c in spec.components]
    li_count = kinds.count(ComponentKind.LI_FOIL)
    ss_count = kinds.count(ComponentKind.STAINLESS)
    if ComponentKind.CATHODE in kinds:
        raise DomainError("Give the cathode as the cell's cathode electrode, not as a component")
    if spec.configuration == Configuration.SYMMETRIC:
        if li_count != 2:
            raise DomainError(f"A {label} cell has two Li foil electrodes; got {li_count}")
        if spec.cathode is not None:
            raise DomainError(f"A {label} cell has no cathode")
    elif spec.configuration == Configuration.FULL:
        if li_count != 1:
            raise DomainError(f"A {label} cell has one Li foil anode; got {li_count}")
        if spec.cathode is None:
            raise DomainError(f"A {label} cell needs a cathode electrode")
        if not spec.cathode.active_mass or spec.cathode.active_mass <= 0:
            raise DomainError(
                f"A {label} cell needs a cathode with an active mass; electrode {spec.cathode.code} has none "
                "recorded (give its loading or coating mass)"
            )
    elif spec.configuration == Configuration.BLOCKING:
        if li_count:
            raise DomainError(f"A {label} cell has no Li: remove the {li_count} Li foil component(s)")
        if ss_count != 2:
            raise DomainError(f"A {label} cell has stainless-steel electrodes on both sides; got {ss_count}")
        if spec.cathode is not None:
            raise DomainError(f"A {label} cell has no cathode")
    elif spec.configuration == Configuration.LI_SS:
        if li_count != 1 or ss_count != 1:
            raise DomainError(
                f"A {label} cell has one Li foil and one stainless-steel electrode; "
                f"got {li_count} Li and {ss_count} stainless"
            )
        if spec.cathode is not None:
            raise DomainError(f"A {label} cell has no cathode")
    for c in spec.components:
        if c.kind == ComponentKind.LI_FOIL:
            if c.lot is None:
                raise DomainError("Each Li foil electrode needs the lot it was cut from")
            if c.lot.chemical.role != ChemicalRole.ANODE_METAL:
                raise DomainError(f"Lot {c.lot.code} is {c.lot.chemical.name}, not an anode metal (Li foil)")
            if c.amount in (None, ""):
                raise DomainError(
                    f"Give the mass of Li foil used per electrode (e.g. '46 mg') so it is drawn from lot {c.lot.code}"
                )
        if c.area_cm2 is not None and c.area_cm2 <= 0:
            raise DomainError("An electrode area must be greater than zero")


def active_area_cm2(spec: CellSpec) -> float:
    """The active area: the override when given, else the smallest electrode facing the electrolyte.

    E.g. Li discs of 1.911 cm2 (15.6 mm) against a cathode of 1.131 cm2 (12 mm): 1.131 cm2.
    """
    if spec.area_override_cm2 is not None:
        if spec.area_override_cm2 <= 0:
            raise DomainError("The active area must be greater than zero")
        return spec.area_override_cm2
    areas = [c.area_cm2 for c in spec.components if c.kind in ELECTRODE_KINDS and c.area_cm2]
    if spec.cathode is not None and spec.cathode.area:
        areas.append(spec.cathode.area)
    if not areas:
        raise DomainError("Give the electrode areas or the active area: neither is known for this cell")
    return min(areas)


# ------------------------------------------------------------------------------------------------ codes


def _check_code(code: str) -> str:
    code = code.strip()
    if not _CODE_RE.match(code):
        raise DomainError(
            f"A cell code uses letters, digits, '-', '_' or '.', at most 40 characters; got {code!r}"
        )
    return code


def next_codes(base: str, count: int) -> list[str]:
    """``count`` codes ``<base>-NNN`` continuing after the highest running suffix already used for ``base``.

    With LP20-SYM-001 and LP20-SYM-002 taken, next_codes("LP20-SYM", 3) is LP20-SYM-003 ... LP20-SYM-005.
    """
    base = _check_code(base).rstrip("-")
    pattern = re.compile(rf"^{re.escape(base)}-(\d+)$")
    taken = Cell.objects.filter(code__startswith=f"{base}-").values_list("code", flat=True)
    highest = max((int(m[1]) for code in taken if (m := pattern.match(code))), default=0)
    width = max(3, len(str(highest + count)))
    codes = [f"{base}-{n:0{width}d}" for n in range(highest + 1, highest + count + 1)]
    for code in codes:
        _check_code(code)
    return codes


def default_code_base(configuration: str, when: datetime | None = None) -> str:
    when = when or timezone.now()
    return f"{CONFIGURATION_ABBREVIATION[Configuration(configuration)]}-{timezone.localtime(when):%y%m%d}"


# ------------------------------------------------------------------------------------------------ assembly


def _check_electrolyte_and_cathode(spec: CellSpec, team: Team) -> None:
    for record, what in ((spec.membrane, "membrane"), (spec.pellet, "pellet"), (spec.cathode, "electrode")):
        if record is not None and record.team_id != team.pk:
            raise DomainError(f"The {what} {record.code} belongs to another team")


def _lock_cathode_unused(cathode: Electrode) -> None:
    """An electrode disc goes into one cell: lock it and refuse a second use."""
    Electrode.objects.select_for_update().filter(pk=cathode.pk).first()
    used_in = Cell.objects.filter(cathode=cathode).values_list("code", flat=True).first()
    if used_in is not None:
        raise ConflictError(f"Electrode {cathode.code} is already in cell {used_in}")


@transaction.atomic
def assemble_cell(*, team: Team, actor: Any, spec: CellSpec, code: str = "") -> Cell:
    """Record one assembled cell, draw its Li foil from the lots and take its cathode electrode.

    Validation per configuration (``validate_configuration``); the active area is the smaller electrode unless
    overridden; everything (the cell, its components, the ledger rows) happens or nothing does.
    """
    validate_configuration(spec)
    _check_electrolyte_and_cathode(spec, team)
    refuse_future(spec.assembled_at, what="The assembly time")
    area = active_area_cm2(spec)
    code = _check_code(code) if code else next_codes(default_code_base(spec.configuration), 1)[0]
    if Cell.objects.filter(code=code).exists():
        raise ConflictError(f"A cell with code {code} already exists")
    if spec.cell_format not in CellFormat.values:
        raise DomainError(f"Unknown cell format {spec.cell_format!r}")
    if spec.cathode is not None:
        _lock_cathode_unused(spec.cathode)
    cell = Cell(
        team=team,
        code=code,
        configuration=spec.configuration,
        cell_format=spec.cell_format,
        format_detail=spec.format_detail,
        membrane=spec.membrane,
        pellet=spec.pellet,
        cathode=spec.cathode,
        area_override=spec.area_override_cm2,
        active_area=area,
        stack_pressure=spec.stack_pressure_MPa,
        assembled_at=spec.assembled_at or timezone.now(),
        operator=actor,
        glovebox_o2=spec.glovebox_o2_ppm,
        glovebox_h2o=spec.glovebox_h2o_ppm,
        notes=spec.notes,
        state=CellState.ASSEMBLED,
        created_by=actor,
    )
    cell.state_changed_at = cell.assembled_at
    cell._change_reason = "assembled"  # type: ignore[attr-defined]
    cell.save()
    components: list[CellComponent] = []
    for c in spec.components:
        tx = None
        mass_g = None
        if c.lot is not None and c.amount not in (None, ""):
            tx = consume_from_lot(
                lot=c.lot,
                amount=c.amount,
                actor=actor,
                reason=f"{ComponentKind(c.kind).label} of cell {code}",
                purpose=f"cell {code}",
                for_team_id=cell.team_id,
            )
            mass_g = _mass_of(c.amount)
        components.append(
            CellComponent(
                cell=cell,
                kind=c.kind,
                position=c.position,
                lot=c.lot,
                electrode=c.electrode,
                area=c.area_cm2,
                mass_used=mass_g,
                transaction=tx,
                created_by=actor,
            )
        )
    if spec.cathode is not None:
        components.append(
            CellComponent(
                cell=cell,
                kind=ComponentKind.CATHODE,
                position="positive",
                electrode=spec.cathode,
                area=spec.cathode.area,
                mass_used=spec.cathode.active_mass,
                created_by=actor,
            )
        )
    for component in components:  # one by one so each gets its audit row
        component.save()
    return cell


def _mass_of(amount: Any) -> float | None:
    try:
        return parse_quantity(amount, dimension="mass", unit="g", bare_number_ok=False).magnitude
    except UnitError:
        return None


@transaction.atomic
def bulk_assemble(
    *,
    team: Team,
    actor: Any,
    spec: CellSpec,
    count: int,
    code_base: str = "",
    cathodes: Sequence[Electrode] = (),
) -> list[Cell]:
    """Build ``count`` identical cells from one membrane in one transaction, coded ``<base>-001``, ``-002``...

    Each cell draws its own Li foil; full cells take one cathode electrode each from ``cathodes`` (in order).
    If any draw is refused (a lot runs out), no cell is recorded and no lot changes.
    """
    if count < 1 or count > 200:
        raise DomainError("Build between 1 and 200 cells at once")
    if spec.membrane is None or spec.pellet is not None:
        raise DomainError("Bulk assembly builds cells from one membrane: choose the membrane")
    if spec.configuration == Configuration.FULL:
        if len(cathodes) != count:
            raise DomainError(f"{count} full cells need {count} cathode electrodes; {len(cathodes)} chosen")
        if len({e.pk for e in cathodes}) != len(cathodes):
            raise DomainError("Each full cell needs its own cathode electrode; one was chosen twice")
    elif cathodes:
        raise DomainError(f"A {Configuration(spec.configuration).label} cell has no cathode")
    codes = next_codes(code_base or default_code_base(spec.configuration, spec.assembled_at), count)
    cells = []
    for i, code in enumerate(codes):
        one = CellSpec(**{**spec.__dict__, "cathode": cathodes[i] if cathodes else None})
        cells.append(assemble_cell(team=team, actor=actor, spec=one, code=code))
    return cells


# ------------------------------------------------------------------------------------------------ state


def _locked_cell(cell: Cell | int) -> Cell:
    pk = cell.pk if isinstance(cell, Cell) else cell
    return Cell.objects.select_for_update().get(pk=pk)


def _check_version(cell: Cell, version: int | None) -> None:
    if version is not None and int(version) != cell.version:
        raise ConflictError(
            f"Cell {cell.code} was changed by someone else since you opened it "
            f"(your version {version}, now {cell.version}); reload it and try again"
        )


def allowed_transitions(state: str) -> tuple[str, ...]:
    return TRANSITIONS[CellState(state)]


@transaction.atomic
def change_state(
    *,
    cell: Cell | int,
    to_state: str,
    actor: Any,
    reason: str = "",
    version: int | None = None,
    at: datetime | None = None,
) -> Cell:
    """Move a cell along its state machine (``cells.models.TRANSITIONS``), recording who, when and why.

    ``version`` is the version the person saw: a stale one is refused (someone else changed the cell meanwhile).
    """
    locked = _locked_cell(cell)
    _check_version(locked, version)
    if to_state not in CellState.values:
        raise DomainError(f"Unknown state {to_state!r}; states are: {', '.join(CellState.values)}")
    current = CellState(locked.state)
    target = CellState(to_state)
    allowed = allowed_transitions(current)
    if target not in allowed:
        if not allowed:
            raise ConflictError(f"Cell {locked.code} is {current.label}: its state cannot change any more")
        names = ", ".join(CellState(s).label for s in allowed)
        raise ConflictError(
            f"Cell {locked.code} is {current.label} and cannot go to {target.label}; allowed: {names}"
        )
    when = at or timezone.now()
    CellStateChange.objects.create(
        cell=locked, from_state=current, to_state=target, at=when, actor=actor, reason=reason[:300]
    )
    locked.state = target
    locked.state_changed_at = when
    locked.version += 1
    locked._change_reason = f"state {current.label} -> {target.label}" + (f": {reason}" if reason else "")  # type: ignore[attr-defined]
    locked.save(update_fields=["state", "state_changed_at", "version", "updated_at"])
    return locked


@dataclass
class PostmortemFile:
    file: Any
    kind: str = AttachmentKind.PHOTO
    caption: str = ""


@transaction.atomic
def record_postmortem(
    *,
    cell: Cell | int,
    actor: Any,
    notes: str = "",
    dendrites_observed: bool | None = None,
    delamination_observed: bool | None = None,
    files: Iterable[PostmortemFile] = (),
    version: int | None = None,
) -> Cell:
    """Record what was seen after disassembly: notes, observations (dendrites, delamination) and SEM/photo files."""
    locked = _locked_cell(cell)
    _check_version(locked, version)
    if locked.state != CellState.DISASSEMBLED:
        raise ConflictError(
            f"Cell {locked.code} is {CellState(locked.state).label}: record the post-mortem after disassembly"
        )
    locked.postmortem_notes = notes
    locked.dendrites_observed = dendrites_observed
    locked.delamination_observed = delamination_observed
    locked.version += 1
    locked._change_reason = "post-mortem recorded"  # type: ignore[attr-defined]
    locked.save()
    content_type = ContentType.objects.get_for_model(Cell)
    for f in files:
        if f.kind not in AttachmentKind.values:
            raise DomainError(f"Unknown file kind {f.kind!r}")
        Attachment.objects.create(
            content_type=content_type,
            object_id=locked.pk,
            file=f.file,
            kind=f.kind,
            caption=f.caption[:300],
            team_id=locked.team_id,
            created_by=actor,
        )
    return locked


@transaction.atomic
def update_cell(
    *,
    cell: Cell | int,
    actor: Any,
    version: int | None,
    **changes: Any,
) -> Cell:
    """Edit the descriptive fields of a cell (notes, format detail, stack pressure, glovebox, area override).

    Changing the area override recomputes the active area (back to the smallest electrode when cleared).
    """
    editable = {
        "notes",
        "format_detail",
        "stack_pressure",
        "glovebox_o2",
        "glovebox_h2o",
        "area_override",
        "assembled_at",
    }
    unknown = set(changes) - editable
    if unknown:
        raise DomainError(f"These fields cannot be edited: {', '.join(sorted(unknown))}")
    locked = _locked_cell(cell)
    _check_version(locked, version)
    refuse_future(changes.get("assembled_at"), what="The assembly time")
    for name, value in changes.items():
        setattr(locked, name, value)
    if "area_override" in changes:
        if locked.area_override is not None:
            if locked.area_override <= 0:
                raise DomainError("The active area must be greater than zero")
            locked.active_area = locked.area_override
        else:
            areas = [
                c.area
                for c in locked.components.all()
                if c.kind in ELECTRODE_KINDS and c.area is not None and c.area > 0
            ]
            if not areas:
                raise DomainError("No electrode area is recorded: the active area override cannot be cleared")
            locked.active_area = min(areas)
    locked.version += 1
    locked.save()
    return locked


@transaction.atomic
def delete_cell(*, cell: Cell | int, actor: Any, reason: str) -> None:
    """Delete a cell recorded by mistake: only before it was tested; its Li foil goes back to the lots."""
    if not reason.strip():
        raise DomainError("Deleting a cell needs a reason")
    locked = _locked_cell(cell)
    if locked.state != CellState.ASSEMBLED or locked.state_changes.exists():
        raise ConflictError(f"Cell {locked.code} has a test history and cannot be deleted")
    if locked.measurements.exists() or locked.uploads.exists():  # type: ignore[attr-defined]
        raise ConflictError(f"Cell {locked.code} has measurements and cannot be deleted")
    for component in locked.components.select_related("transaction", "lot"):
        if component.transaction is not None and component.lot is not None:
            return_to_lot(
                lot=component.lot,
                amount=-component.transaction.quantity,
                actor=actor,
                reason=f"cell {locked.code} deleted: {reason}",
            )
    locked._change_reason = reason  # type: ignore[attr-defined]
    locked.delete()
