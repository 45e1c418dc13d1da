"""Demo synthesis records: the PMA recipe exactly as PAPER.md gives it, its 0/20/40/60 wt% LLZTO series, a glass
mould, batches drawn from the demo lots, membranes of 100-600 um, sintered pellets and LFP / NCM811 electrodes.

Runs after ``formulations/demo.py`` (chemicals and lots; looked up here by abbreviation, name or synonym).
Idempotent: every record has a fixed code or name and is skipped when present.

From the paper: the recipe, the UV cure (365 nm, 1 h, RT), the series fractions, the 100-600 um range, pressing at
300 MPa isostatic, sintering at 1180 C for 6 h in mother powder, sanding to ~500 um, LFP at 170 mAh/g.
Illustrative (not in the paper, labelled here): the slurry densities (entered as measured values), the mould size,
pellet dimensions and masses, sanding grits, electrode loadings and the 80:10:10 electrode composition.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone

from formulations import domain
from formulations.models import (
    Batch,
    Chemical,
    Electrode,
    LotStatus,
    Membrane,
    Mould,
    Pellet,
    Recipe,
    RecipeVersion,
    StockLot,
)
from formulations.services import synthesis as svc

PMA_RECIPE = [
    ("LiFSI", "3.74 g"),
    ("G4", "5 mL"),
    ("MAAc", "0.387 g"),
    ("MMA", "0.9 g"),
    ("NMMAm", "0.446 g"),
]
PMA_RECIPE.append(("HMPP", "5.0 uL"))
PMA_STEPS: list[dict[str, Any]] = [
    {"kind": "dissolve", "description": "dissolve LiFSI in tetraglyme", "temperature": "RT"},
    {"kind": "mix", "description": "add MAAc, MMA, NMMAm and HMPP with stirring", "temperature": "RT"},
    {
        "kind": "uv_cure",
        "description": "cure",
        "wavelength": "365 nm",
        "duration": "1 h",
        "temperature": "RT",
    },
]
MOULD = ("Glass mould 4 x 4 cm (demo)", "16 cm^2")
SLURRY_DENSITY = {0.0: "1.25 g/mL", 0.2: "1.50 g/mL"}  # illustrative "measured" values
THICKNESSES_UM = [100, 200, 300, 400, 500, 600]


def _chemical(key: str) -> Chemical | None:
    return (
        Chemical.objects.filter(
            Q(abbreviation__iexact=key) | Q(name__iexact=key) | Q(synonyms__name_lower=key.lower())
        )
        .distinct()
        .first()
    )


def _lot(chemical: Chemical) -> StockLot | None:
    """The usable lot of a chemical with the most on hand (kept in g or mL)."""
    lots = StockLot.objects.filter(chemical=chemical, status=LotStatus.AVAILABLE, quantity_on_hand__gt=0)
    lots = lots.exclude(expires_on__lt=timezone.localdate())
    return lots.order_by("-quantity_on_hand").first()


def _batch(version: RecipeVersion, code: str, user: Any, stdout: Any) -> Batch | None:
    found = Batch.objects.filter(code=code).first()
    if found is not None:
        return found
    draws = []
    for component in version.components.select_related("chemical"):
        if component.amount == 0:
            continue
        lot = _lot(component.chemical)
        if lot is None:
            stdout.write(f"  synthesis demo: no usable lot of {component.chemical}; batch {code} skipped")
            return None
        draws.append(
            {"component": component, "lot": lot, "amount": f"{component.amount!r} {_unit(component)}"}
        )
    return svc.record_batch(
        version=version,
        actor=user,
        draws=draws,
        code=code,
        conditions="glovebox Ar, O2 < 0.1 ppm, H2O < 0.1 ppm; magnetic stirring",
        notes="demo batch",
    )


def _unit(component: Any) -> str:
    return {"mass": "g", "volume": "mL", "amount": "mol"}[component.amount_kind]


def load(*, user: Any, team: Any, stdout: Any) -> None:
    keys = [k for k, _ in PMA_RECIPE] + ["LLZTO", "LFP", "NCM811", "Super-P", "PVDF"]
    chemicals = {k: _chemical(k) for k in keys}
    missing = [k for k, c in chemicals.items() if c is None]
    if missing:
        stdout.write(
            f"  synthesis demo skipped: chemicals {', '.join(missing)} not found (run the inventory demo)"
        )
        return
    chem: dict[str, Chemical] = {k: c for k, c in chemicals.items() if c is not None}

    recipe = Recipe.objects.filter(team=team, name="PMA").first()
    if recipe is None:
        recipe = svc.create_recipe(
            team=team,
            name="PMA",
            description="PMA precursor: LiFSI in tetraglyme with MAAc/MMA/NMMAm (about 1:2:1), HMPP, UV cured "
            "(Li et al., Nano-Micro Lett. 18:189, 2026)",
            components=[{"chemical": chem[k], "amount": a} for k, a in PMA_RECIPE],
            steps=PMA_STEPS,
            actor=user,
        )
    pma = recipe.versions.get(number=1)
    series = svc.filler_series(base=pma, filler=chem["LLZTO"], actor=user)
    by_fraction = {round(v.filler_fraction or 0.0, 3): v for v in series}

    mould = Mould.objects.filter(name=MOULD[0]).first() or svc.create_mould(
        name=MOULD[0], area=MOULD[1], actor=user, notes="illustrative size"
    )

    pma_batch = _batch(pma, "B-DEMO-PMA", user, stdout)
    composite = _batch(by_fraction[0.2], "B-DEMO-L20", user, stdout)
    for batch, fraction, thicknesses in ((pma_batch, 0.0, [500]), (composite, 0.2, THICKNESSES_UM)):
        if batch is None:
            continue
        rho = float(SLURRY_DENSITY[fraction].split()[0])
        for t in thicknesses:
            code = f"M-DEMO-{int(fraction * 100)}-{t}"
            if Membrane.objects.filter(code=code).exists():
                continue
            mass = domain.cast_mass_for_thickness_g(t, rho, mould.area)
            svc.cast_membrane(
                batch=batch,
                mould=mould,
                cast_mass=f"{mass:.4f} g",
                slurry_density=SLURRY_DENSITY[fraction],
                code=code,
                appearance="transparent, flexible" if fraction == 0 else "white, flexible",
                actor=user,
            )

    llzto_lot = _lot(chem["LLZTO"])
    for i, (final_t, final_m) in enumerate([("0.50 mm", "0.279 g"), ("0.52 mm", "0.287 g")], start=1):
        code = f"P-DEMO-{i}"
        if Pellet.objects.filter(code=code).exists() or llzto_lot is None:
            continue
        svc.make_pellet(
            team=team,
            lot=llzto_lot,
            code=code,
            powder_mass="0.80 g",
            press_pressure="300 MPa",
            press_mode="isostatic",
            sinter_temperature="1180 C",
            sinter_dwell="6 h",
            mother_powder=True,
            sanding_grits="400, 800, 1200 (illustrative)",
            green_diameter="14 mm",
            green_thickness="2.1 mm",
            final_diameter="12 mm",
            final_thickness=final_t,
            final_mass=final_m,
            actor=user,
        )

    conductive = _lot(chem["Super-P"])
    binder = _lot(chem["PVDF"])
    for code, key, loading in (("E-DEMO-LFP", "LFP", "2.0 mg/cm^2"), ("E-DEMO-NCM", "NCM811", "2.5 mg/cm^2")):
        if Electrode.objects.filter(code=code).exists():
            continue
        active = StockLot.objects.filter(chemical=chem[key]).exclude(status=LotStatus.DISPOSED).first()
        if active is None:
            continue
        svc.make_electrode(
            team=team,
            code=code,
            active_lot=active,
            conductive_lot=conductive,
            binder_lot=binder,
            active_fraction=0.8,
            conductive_fraction=0.1,
            binder_fraction=0.1,
            loading=loading,
            diameter="12 mm",
            actor=user,
            override_reason="demo: lot in quarantine used for illustration"
            if active.status != "available"
            else "",
        )
    stdout.write("  synthesis demo: PMA recipe, LLZTO series, batches, membranes, pellets, electrodes")
