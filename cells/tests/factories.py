"""Small factories for the records cells are built from (created with the ORM and the inventory services)."""

from __future__ import annotations

import itertools
from typing import Any

from cells.models import Cell, Configuration
from cells.services import CellSpec, ComponentSpec, assemble_cell, standard_components
from formulations.models import (
    AmountKind,
    Batch,
    BatchComponent,
    Chemical,
    ChemicalRole,
    Electrode,
    Membrane,
    Mould,
    Pellet,
    Recipe,
    RecipeComponent,
    RecipeVersion,
    StockLot,
    Supplier,
)
from formulations.services.inventory import consume_from_lot, receive_lot
from lims.models import Team

_seq = itertools.count(1)


def n() -> int:
    return next(_seq)


def chemical(name: str = "", role: str = ChemicalRole.OTHER, **fields: Any) -> Chemical:
    name = name or f"chemical {n()}"
    obj, _ = Chemical.objects.get_or_create(name=name, defaults={"role": role, **fields})
    return obj


def supplier(name: str = "Canrd") -> Supplier:
    obj, _ = Supplier.objects.get_or_create(name=name)
    return obj


def lot(*, user: Any, chem: Chemical | None = None, quantity: str = "100 g", **fields: Any) -> StockLot:
    chem = chem or chemical()
    fields.setdefault("supplier", supplier())
    return receive_lot(chemical=chem, quantity=quantity, actor=user, **fields)


def li_foil_lot(*, user: Any, quantity: str = "10 g") -> StockLot:
    li = chemical("Li foil", role=ChemicalRole.ANODE_METAL, molar_mass=6.94, density=0.534)
    return lot(user=user, chem=li, quantity=quantity)


def recipe_version(
    *, team: Team, user: Any, name: str = "", filler_fraction: float | None = None
) -> RecipeVersion:
    recipe = Recipe.objects.create(team=team, name=name or f"PMA {n()}", created_by=user)
    return RecipeVersion.objects.create(recipe=recipe, number=1, filler_fraction=filler_fraction)


def batch(
    *, team: Team, user: Any, version: RecipeVersion, lots: list[StockLot], amount: str = "1 g"
) -> Batch:
    """A batch that drew ``amount`` from each lot (one recipe component per lot)."""
    b = Batch.objects.create(
        team=team, code=f"B-{n():04d}", recipe_version=version, operator=user, created_by=user
    )
    for order, stock in enumerate(lots):
        rc = RecipeComponent.objects.create(
            version=version,
            chemical=stock.chemical,
            role=stock.chemical.role,
            order=order,
            amount_kind=AmountKind.MASS,
            amount=1.0,
        )
        tx = consume_from_lot(lot=stock, amount=amount, actor=user, batch=b, purpose=f"batch {b.code}")
        BatchComponent.objects.create(
            batch=b,
            recipe_component=rc,
            lot=stock,
            planned_amount=1.0,
            actual_amount=1.0,
            deviation=0.0,
            transaction=tx,
        )
    return b


def mould() -> Mould:
    obj, _ = Mould.objects.get_or_create(name="glass 4x4", defaults={"area": 16.0})
    return obj


def membrane(*, team: Team, user: Any, b: Batch, filler_fraction: float | None = None) -> Membrane:
    return Membrane.objects.create(
        team=team,
        code=f"M-{n():04d}",
        batch=b,
        mould=mould(),
        cast_mass=0.8,
        slurry_density=1.0,
        thickness_from_mass=500.0,
        filler_fraction=filler_fraction,
        created_by=user,
    )


def pellet(*, team: Team, user: Any, powder: StockLot) -> Pellet:
    return Pellet.objects.create(
        team=team,
        code=f"P-{n():04d}",
        lot=powder,
        powder_mass=0.5,
        press_pressure=300,
        sinter_temperature=1180,
        sinter_dwell=6 * 3600,
        final_diameter=12.0,
        final_thickness=0.5,
        final_mass=0.3,
        created_by=user,
    )


def electrode(
    *, team: Team, user: Any, active: StockLot, active_mass_g: float = 0.003, area: float = 1.131
) -> Electrode:
    return Electrode.objects.create(
        team=team,
        code=f"E-{n():04d}",
        active_lot=active,
        active_fraction=0.8,
        area=area,
        active_mass=active_mass_g,
        created_by=user,
    )


def symmetric_cell(*, team: Team, user: Any, membrane_: Membrane, li: StockLot, code: str = "") -> Cell:
    spec = CellSpec(
        configuration=Configuration.SYMMETRIC,
        membrane=membrane_,
        components=standard_components(
            configuration=Configuration.SYMMETRIC,
            li_foil_lot=li,
            li_foil_amount="40 mg",
            li_foil_area_cm2=1.911,
        ),
    )
    return assemble_cell(team=team, actor=user, spec=spec, code=code or f"C-{n():05d}")


def blocking_cell(*, team: Team, user: Any, pellet_: Pellet, code: str = "") -> Cell:
    spec = CellSpec(
        configuration=Configuration.BLOCKING,
        pellet=pellet_,
        components=[
            ComponentSpec(kind="stainless", position="negative", area_cm2=1.131),
            ComponentSpec(kind="stainless", position="positive", area_cm2=1.131),
        ],
    )
    return assemble_cell(team=team, actor=user, spec=spec, code=code or f"C-{n():05d}")


def two_membranes_and_a_pellet(*, team: Team, user: Any) -> dict[str, Any]:
    """Two membranes of one PMA-LiFSI version (a batch each) and an LLZTO pellet, all of ``team``."""
    salt = lot(user=user, chem=chemical("LiFSI", role=ChemicalRole.SALT))
    version = recipe_version(team=team, user=user, name="PMA-LiFSI")
    m1 = membrane(team=team, user=user, b=batch(team=team, user=user, version=version, lots=[salt]))
    m2 = membrane(team=team, user=user, b=batch(team=team, user=user, version=version, lots=[salt]))
    powder = lot(user=user, chem=chemical("LLZTO", role=ChemicalRole.CERAMIC_FILLER))
    return {
        "salt": salt,
        "version": version,
        "m1": m1,
        "m2": m2,
        "pellet": pellet(team=team, user=user, powder=powder),
    }
