"""Fixtures shared by the synthesis tests (imported with ``from ...test_synthesis_support import *``).

The chemicals carry the paper's molar masses (g/mol): LiFSI 187.07, G4 222.28, MAAc 86.09, MMA 100.12, NMMAm 99.13,
HMPP 164.20; densities (g/mL): G4 1.009, HMPP 1.08, MMA 0.94 (literature, for volume dosing). LLZTO's theoretical
density 5.1 g/cm3 is a literature value for cubic garnet; LFP 170 mAh/g is the paper's theoretical capacity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from formulations.models import Batch, Chemical, ChemicalRole, Mould, RecipeVersion, StockLot
from formulations.services.inventory import receive_lot
from formulations.services.synthesis import create_mould, create_recipe, record_batch

__all__ = ["PMA", "chem", "make_pma", "pma"]

PMA_LINES = [
    ("LiFSI", "3.74 g"),
    ("G4", "5 mL"),
    ("MAAc", "0.387 g"),
    ("MMA", "0.9 g"),
    ("NMMAm", "0.446 g"),
    ("HMPP", "5.0 uL"),
]
PMA_STEPS: list[dict[str, Any]] = [
    {"kind": "dissolve", "description": "dissolve LiFSI in tetraglyme", "temperature": "RT"},
    {"kind": "mix", "description": "add monomers and HMPP with stirring", "temperature": "RT"},
    {"kind": "uv_cure", "wavelength": "365 nm", "duration": "1 h", "temperature": "RT"},
]


def chem(name: str, abbreviation: str, role: str, **props: float) -> Chemical:
    return Chemical.objects.create(name=name, abbreviation=abbreviation, role=role, **props)


@dataclass
class PMA:
    chemicals: dict[str, Chemical]
    lots: dict[str, StockLot]
    version: RecipeVersion
    mould: Mould


def make_pma(team: Any, user: Any) -> PMA:
    chemicals = {
        "LiFSI": chem("lithium bis(fluorosulfonyl)imide", "LiFSI", ChemicalRole.SALT, molar_mass=187.07),
        "G4": chem("tetraglyme", "G4", ChemicalRole.SOLVENT, molar_mass=222.28, density=1.009),
        "MAAc": chem("methacrylic acid", "MAAc", ChemicalRole.MONOMER, molar_mass=86.09),
        "MMA": chem("methyl methacrylate", "MMA", ChemicalRole.MONOMER, molar_mass=100.12, density=0.94),
        "NMMAm": chem("N-methyl methacrylamide", "NMMAm", ChemicalRole.MONOMER, molar_mass=99.13),
        "HMPP": chem(
            "2-hydroxy-2-methyl-1-phenylpropan-1-one",
            "HMPP",
            ChemicalRole.INITIATOR,
            molar_mass=164.20,
            density=1.08,
        ),
        "LLZTO": chem(
            "Li6.4La3Zr1.4Ta0.6O12",
            "LLZTO",
            ChemicalRole.CERAMIC_FILLER,
            density=5.1,
            theoretical_density=5.1,
        ),
        "LFP": chem("lithium iron phosphate", "LFP", ChemicalRole.CATHODE_ACTIVE, specific_capacity=170.0),
    }
    stock = {"LiFSI": "25 g", "G4": "100 mL", "MAAc": "10 g", "MMA": "10 g", "NMMAm": "10 g", "HMPP": "5 mL"}
    stock.update({"LLZTO": "50 g", "LFP": "20 g"})
    lots = {key: receive_lot(chemical=chemicals[key], quantity=q, actor=user) for key, q in stock.items()}
    recipe = create_recipe(
        team=team,
        name="PMA",
        actor=user,
        components=[{"chemical": chemicals[k], "amount": a} for k, a in PMA_LINES],
        steps=PMA_STEPS,
    )
    mould = create_mould(name="glass 4x5", area="20 cm^2", actor=user)
    return PMA(chemicals=chemicals, lots=lots, version=recipe.versions.get(number=1), mould=mould)


def record_pma_batch(pma: PMA, user: Any) -> Batch:
    """One batch of the PMA recipe as entered, each component drawn from its own lot."""
    draws = [
        {
            "component": c,
            "lot": pma.lots[c.chemical.abbreviation],
            "amount": dict(PMA_LINES)[c.chemical.abbreviation],
        }
        for c in pma.version.components.select_related("chemical")
    ]
    return record_batch(version=pma.version, actor=user, draws=draws)


@pytest.fixture
def pma(team: Any, researcher: Any) -> PMA:
    return make_pma(team, researcher)
