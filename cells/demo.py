"""Demo cells of the paper (Li et al., Nano-Micro Lett. 18:189, 2026), built from the demo membranes, pellets,
electrodes and Li foil lots that the formulations demo creates. Idempotent: a cell whose code exists is skipped.

Li discs: 15.6 mm across, 1.911 cm2 (pi x 0.78^2), about 46 mg each (1.911 cm2 x 0.045 cm x 0.534 g/cm3 =
0.0459 g). Stainless-steel spacers: 16 mm, 2.011 cm2. Conditions: glovebox O2 and H2O below 0.1 ppm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from cells.models import Cell, CellFormat, Configuration
from cells.services import CellSpec, assemble_cell, change_state, standard_components
from formulations.models import ChemicalRole, Electrode, LotStatus, Membrane, Pellet, StockLot
from lims.errors import DomainError
from measurements.demo_paper import SYMMETRIC_RUNS

LI_DISC_AREA_CM2 = 1.911
LI_DISC_MASS = "46 mg"
SS_AREA_CM2 = 2.011


@dataclass
class DemoCell:
    code: str
    configuration: str
    electrolyte: str  # "lp20", "pma" or "pellet"
    cathode: str = ""  # "lfp" or "ncm"
    cell_format: str = CellFormat.COIN
    format_detail: str = "CR2032"
    states: tuple[tuple[str, str], ...] = ()
    notes: str = ""


DEMO_CELLS = [
    DemoCell(
        "DEMO-LP20-SYM-001",
        Configuration.SYMMETRIC,
        "lp20",
        states=(("on_test", "0.1 mA/cm2, 0.1 mAh/cm2"),),
        notes="Li|LLZTO-PMA|Li, > 10,000 h at ~400 mV in the paper",
    ),
    DemoCell(
        "DEMO-LP20-SYM-002", Configuration.SYMMETRIC, "lp20", states=(("on_test", "CCD: stepped current"),)
    ),
    DemoCell(
        "DEMO-PMA-SYM-001",
        Configuration.SYMMETRIC,
        "pma",
        states=(("on_test", "0.1 mA/cm2"), ("shorted", "short after 740 h"), ("disassembled", "post-mortem")),
    ),
    DemoCell(
        "DEMO-PEL-SYM-001",
        Configuration.SYMMETRIC,
        "pellet",
        format_detail="CR2032",
        states=(("on_test", "0.1 mA/cm2"), ("shorted", "short after 140 h")),
    ),
    *[
        DemoCell(
            code,
            Configuration.SYMMETRIC,
            {"llzto_pma": "lp20", "pma": "pma"}[key],
            states=(("on_test", f"{j:g} mA/cm2, {j:g} mAh/cm2"),)
            + ((("shorted", f"short after {short:g} h"),) if short else ()),
        )
        for code, key, j, _eta, _hours, short in SYMMETRIC_RUNS
    ],
    DemoCell("DEMO-LP20-BLK-001", Configuration.BLOCKING, "lp20", states=(("on_test", "EIS 20-90 degC"),)),
    DemoCell("DEMO-PMA-BLK-001", Configuration.BLOCKING, "pma", states=(("on_test", "EIS 20-90 degC"),)),
    DemoCell("DEMO-PEL-BLK-001", Configuration.BLOCKING, "pellet", states=(("on_test", "EIS 20-90 degC"),)),
    DemoCell("DEMO-LP20-LSS-001", Configuration.LI_SS, "lp20", states=(("on_test", "LSV to 6 V"),)),
    DemoCell("DEMO-LP20-LFP-001", Configuration.FULL, "lp20", cathode="lfp", states=(("on_test", "0.2 C"),)),
    DemoCell(
        "DEMO-LP20-LFP-002", Configuration.FULL, "lp20", cathode="lfp", states=(("on_test", "rate 0.1-2 C"),)
    ),
    DemoCell("DEMO-PMA-LFP-001", Configuration.FULL, "pma", cathode="lfp", states=(("on_test", "0.2 C"),)),
    DemoCell(
        "DEMO-PEL-LFP-001",
        Configuration.FULL,
        "pellet",
        cathode="lfp",
        states=(("on_test", "0.2 C"), ("shorted", "short after 227 cycles")),
    ),
    DemoCell("DEMO-LP20-NCM-001", Configuration.FULL, "lp20", cathode="ncm", states=(("on_test", "0.5 C"),)),
    DemoCell(
        "DEMO-LP20-POUCH-001",
        Configuration.FULL,
        "lp20",
        cathode="lfp",
        cell_format=CellFormat.POUCH,
        format_detail="single-layer pouch",
        notes="abuse tests: folding, penetration, cutting while powering an LED",
    ),
]


def _membranes(team: Any) -> dict[str, Membrane | None]:
    """The thickest-to-~500 um LLZTO-PMA (20 wt%) membrane and a PMA (no filler) membrane of the team."""
    membranes = list(
        Membrane.objects.filter(team=team).select_related("batch__recipe_version").order_by("code")
    )

    def filler(m: Membrane) -> float | None:
        return m.filler_fraction if m.filler_fraction is not None else m.batch.recipe_version.filler_fraction

    def pick(wanted: float) -> Membrane | None:
        found = (
            [m for m in membranes if (filler(m) or 0.0) == 0.0]
            if wanted == 0
            else [m for m in membranes if filler(m) is not None and abs((filler(m) or 0) - wanted) < 0.01]
        )
        return min(found, key=lambda m: abs(m.thickness_um - 500)) if found else None

    return {"lp20": pick(0.2), "pma": pick(0.0)}


def _electrodes(team: Any) -> dict[str, list[Electrode]]:
    free = Electrode.objects.filter(team=team, cells__isnull=True, active_mass__gt=0).select_related(
        "active_lot__chemical"
    )
    out: dict[str, list[Electrode]] = {"lfp": [], "ncm": []}
    for e in free.order_by("code"):
        chem = e.active_lot.chemical
        name = f"{chem.name} {chem.abbreviation} {chem.formula}".lower()
        if "lfp" in name or "lifepo4" in name:
            out["lfp"].append(e)
        elif "ncm" in name or "nmc" in name:
            out["ncm"].append(e)
    return out


def _more_discs(team: Any, user: Any, kind: str, needed: int, free: list[Electrode]) -> list[Electrode]:
    """Punch further discs like the demo's first electrode of a kind (one disc goes into one cell)."""
    from formulations.services.synthesis import make_electrode

    if len(free) >= needed:
        return free
    names = ("lfp", "lifepo4") if kind == "lfp" else ("ncm", "nmc")
    template = next(
        (
            e
            for e in Electrode.objects.filter(team=team)
            .select_related("active_lot__chemical")
            .order_by("code")
            if any(
                n in f"{e.active_lot.chemical.name} {e.active_lot.chemical.abbreviation}".lower()
                for n in names
            )
        ),
        None,
    )
    if template is None or not template.loading:
        return free
    for i in range(len(free), needed):
        code = f"{template.code}-D{i + 1:02d}"
        if Electrode.objects.filter(code=code).exists():
            continue
        lot_ok = template.active_lot.status == LotStatus.AVAILABLE
        try:
            free.append(
                make_electrode(
                    team=team,
                    code=code,
                    active_lot=template.active_lot,
                    conductive_lot=template.conductive_lot,
                    binder_lot=template.binder_lot,
                    active_fraction=template.active_fraction,
                    conductive_fraction=template.conductive_fraction,
                    binder_fraction=template.binder_fraction,
                    loading=f"{template.loading} mg/cm^2",
                    area=f"{template.area} cm^2",
                    actor=user,
                    override_reason="" if lot_ok else "demo: lot in quarantine used for illustration",
                    notes=f"disc punched like {template.code} for the demo cells",
                )
            )
        except DomainError:
            break
    return free


def _li_lot(grams_needed: float) -> StockLot | None:
    return (
        StockLot.objects.filter(
            Q(chemical__role=ChemicalRole.ANODE_METAL),
            status=LotStatus.AVAILABLE,
            quantity_unit="g",
            quantity_on_hand__gte=grams_needed,
        )
        .select_related("chemical")
        .order_by("-quantity_on_hand")
        .first()
    )


def load(*, user: Any, team: Any, stdout: Any) -> None:
    existing = set(Cell.objects.filter(code__in=[d.code for d in DEMO_CELLS]).values_list("code", flat=True))
    todo = [d for d in DEMO_CELLS if d.code not in existing]
    if not todo:
        stdout.write("cells: demo cells already present")
        return
    electrolytes: dict[str, Any] = dict(_membranes(team))
    electrolytes["pellet"] = Pellet.objects.filter(team=team).order_by("code").first()
    if not any(electrolytes.values()):
        stdout.write("cells: no demo membranes or pellets found (load the formulations demo first); skipped")
        return
    li_lot = _li_lot(2 * 0.046 * len(todo))
    if li_lot is None:
        stdout.write(
            "cells: no available Li foil lot with enough on hand (load the inventory demo first); skipped"
        )
        return
    electrodes = _electrodes(team)
    for kind in ("lfp", "ncm"):
        needed = sum(1 for d in todo if d.cathode == kind)
        electrodes[kind] = _more_discs(team, user, kind, needed, electrodes[kind])
    made, skipped = 0, []
    for d in todo:
        electrolyte = electrolytes.get(d.electrolyte)
        if electrolyte is None:
            skipped.append(f"{d.code} (no {d.electrolyte} electrolyte)")
            continue
        cathode = None
        if d.cathode:
            if not electrodes[d.cathode]:
                skipped.append(f"{d.code} (no free {d.cathode.upper()} electrode)")
                continue
            cathode = electrodes[d.cathode].pop(0)
        spec = CellSpec(
            configuration=d.configuration,
            cell_format=d.cell_format,
            format_detail=d.format_detail,
            membrane=electrolyte if isinstance(electrolyte, Membrane) else None,
            pellet=electrolyte if isinstance(electrolyte, Pellet) else None,
            cathode=cathode,
            components=standard_components(
                configuration=d.configuration,
                li_foil_lot=li_lot,
                li_foil_amount=LI_DISC_MASS,
                li_foil_area_cm2=LI_DISC_AREA_CM2,
                stainless_area_cm2=SS_AREA_CM2,
            ),
            stack_pressure_MPa=None,
            glovebox_o2_ppm=0.1,
            glovebox_h2o_ppm=0.1,
            notes=d.notes,
        )
        try:
            cell = assemble_cell(team=team, actor=user, spec=spec, code=d.code)
            for state, reason in d.states:
                cell = change_state(cell=cell, to_state=state, actor=user, reason=reason)
        except DomainError as exc:
            skipped.append(f"{d.code} ({exc})")
            continue
        made += 1
    stdout.write(
        f"cells: {made} demo cells assembled" + (f"; skipped: {'; '.join(skipped)}" if skipped else "")
    )
