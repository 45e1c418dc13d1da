"""Shared fixtures of the inventory tests (imported by the test_inventory_* modules), and a check of them."""

from __future__ import annotations

from typing import Any

import pytest

from formulations.models import Chemical, ChemicalRole, StorageLocation, Supplier
from formulations.services import inventory as services


@pytest.fixture
def tetraglyme(db: Any) -> Chemical:
    """G4: M = 222.28 g/mol, rho = 1.009 g/mL (dosed by volume in the paper)."""
    return services.create_chemical(
        actor=None,
        name="Tetraethylene glycol dimethyl ether",
        abbreviation="G4",
        cas_number="143-24-8",
        role=ChemicalRole.SOLVENT,
        molar_mass=222.28,
        density=1.009,
        synonyms=["TEGDME", "tetraglyme"],
    )


@pytest.fixture
def lifsi(db: Any) -> Chemical:
    """LiFSI: M = 187.07 g/mol, no density recorded (a powder)."""
    return services.create_chemical(
        actor=None,
        name="Lithium bis(fluorosulfonyl)imide",
        abbreviation="LiFSI",
        cas_number="171611-11-3",
        role=ChemicalRole.SALT,
        molar_mass=187.07,
        moisture_sensitive=True,
        store_in_glovebox=True,
        low_stock_threshold=10.0,
    )


@pytest.fixture
def nmma(db: Any) -> Chemical:
    return services.create_chemical(
        actor=None,
        name="N-Methylmethacrylamide",
        abbreviation="NMMAm",
        cas_number="3887-02-3",
        role=ChemicalRole.MONOMER,
        molar_mass=99.13,
        density=0.955,
        synonyms=["NMMA", "N-methyl methacrylamide"],
    )


@pytest.fixture
def aladdin(db: Any) -> Supplier:
    return services.save_supplier(actor=None, name="Aladdin")


@pytest.fixture
def shelf(db: Any) -> StorageLocation:
    """Building A > Lab 101 > Glovebox 1 > Shelf 1."""
    building = services.save_location(actor=None, name="Building A", kind="building", parent=None)
    lab = services.save_location(actor=None, name="Lab 101", kind="room", parent=building)
    box = services.save_location(actor=None, name="Glovebox 1", kind="glovebox", parent=lab)
    return services.save_location(actor=None, name="Shelf 1", kind="shelf", parent=box)


def test_the_shared_fixtures_build_a_four_level_location_path(shelf: StorageLocation) -> None:
    assert shelf.path == "Building A > Lab 101 > Glovebox 1 > Shelf 1"
