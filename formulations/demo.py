"""Demo inventory: the chemicals of the source paper (../shared/PAPER.md) with their molar masses, densities,
synonyms and CAS numbers, the suppliers, a storage tree and lots with a few ledger rows. Idempotent.

Molar masses are from the formulas (IUPAC 2021 standard atomic weights). Two worked values:
- LLZTO, Li6.4La3Zr1.4Ta0.6O12: 6.4 x 6.94 + 3 x 138.905 + 1.4 x 91.224 + 0.6 x 180.948 + 12 x 15.999
  = 44.416 + 416.715 + 127.714 + 108.569 + 191.988 = 889.40 g/mol. Theoretical density from the cubic garnet cell
  (a = 12.94 Angstrom, Z = 8): 8 x 889.40 / (6.02214e23 x (12.94e-8 cm)^3) = 7115.2 / (6.02214e23 x 2.1667e-21)
  = 5.45 g/cm3.
- LiFePO4: 6.94 + 55.845 + 30.974 + 4 x 15.999 = 157.76 g/mol; theoretical capacity F / (3.6 M)
  = 96485 / (3.6 x 157.76) = 169.9, quoted as 170 mAh/g (so 1 C = 170 mA/g).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from formulations.models import (
    Chemical,
    ChemicalRole,
    LocationKind,
    StockLot,
    StorageLocation,
    Supplier,
)
from formulations.services import inventory as services

R = ChemicalRole

#: name, abbreviation, synonyms, CAS, formula, role, M (g/mol), rho (g/mL), flags, extra fields
CHEMICALS: list[dict[str, Any]] = [
    {
        "name": "Lithium bis(fluorosulfonyl)imide",
        "abbreviation": "LiFSI",
        "synonyms": ["LiN(SO2F)2"],
        "cas_number": "171611-11-3",
        "formula": "LiN(SO2F)2",
        "role": R.SALT,
        "molar_mass": 187.07,
        "moisture_sensitive": True,
        "store_in_glovebox": True,
        "low_stock_threshold": 10.0,
        "hazard_notes": "corrosive; hygroscopic: weigh in the glovebox",
    },
    {
        "name": "Tetraethylene glycol dimethyl ether",
        "abbreviation": "G4",
        "synonyms": ["TEGDME", "tetraglyme"],
        "cas_number": "143-24-8",
        "formula": "C10H22O5",
        "role": R.SOLVENT,
        "molar_mass": 222.28,
        "density": 1.009,
        "moisture_sensitive": True,
        "store_in_glovebox": True,
    },
    {
        "name": "Methacrylic acid",
        "abbreviation": "MAA",
        "synonyms": ["MAAc"],
        "cas_number": "79-41-4",
        "formula": "C4H6O2",
        "role": R.MONOMER,
        "molar_mass": 86.09,
        "density": 1.015,
        "hazard_notes": "corrosive; stabilised with MEHQ",
    },
    {
        "name": "Methyl methacrylate",
        "abbreviation": "MMA",
        "synonyms": [],
        "cas_number": "80-62-6",
        "formula": "C5H8O2",
        "role": R.MONOMER,
        "molar_mass": 100.12,
        "density": 0.94,
        "light_sensitive": True,
        "hazard_notes": "flammable; keep in the fridge",
    },
    {
        "name": "N-Methylmethacrylamide",
        "abbreviation": "NMMAm",
        "synonyms": ["NMMA", "N-methyl methacrylamide"],
        "cas_number": "3887-02-3",
        "formula": "C5H9NO",
        "role": R.MONOMER,
        "molar_mass": 99.13,
        "density": 0.955,
    },
    {
        "name": "2-Hydroxy-2-methyl-1-phenylpropan-1-one",
        "abbreviation": "HMPP",
        "synonyms": ["Darocur 1173", "Omnirad 1173"],
        "cas_number": "7473-98-5",
        "formula": "C10H12O2",
        "role": R.INITIATOR,
        "molar_mass": 164.20,
        "density": 1.08,
        "light_sensitive": True,
        "low_stock_threshold": 10.0,
    },
    {
        "name": "Li6.4La3Zr1.4Ta0.6O12",
        "abbreviation": "LLZTO",
        "synonyms": ["Ta-doped LLZO", "Li-garnet"],
        "cas_number": "",
        "formula": "Li6.4La3Zr1.4Ta0.6O12",
        "role": R.CERAMIC_FILLER,
        "molar_mass": 889.40,
        "theoretical_density": 5.45,
        "moisture_sensitive": True,
        "store_in_glovebox": True,
        "hazard_notes": "forms Li2CO3 in air: keep under argon",
    },
    {
        "name": "N-Methyl-2-pyrrolidone",
        "abbreviation": "NMP",
        "synonyms": ["1-methyl-2-pyrrolidinone"],
        "cas_number": "872-50-4",
        "formula": "C5H9NO",
        "role": R.SLURRY_SOLVENT,
        "molar_mass": 99.13,
        "density": 1.028,
        "moisture_sensitive": True,
        "hazard_notes": "reproductive toxicant: fume hood",
    },
    {
        "name": "Lithium metal foil",
        "abbreviation": "Li",
        "synonyms": ["Li foil", "lithium"],
        "cas_number": "7439-93-2",
        "formula": "Li",
        "role": R.ANODE_METAL,
        "molar_mass": 6.94,
        "density": 0.534,
        "moisture_sensitive": True,
        "store_in_glovebox": True,
        "hazard_notes": "reacts with water",
    },
    {
        "name": "Super P carbon black",
        "abbreviation": "Super-P",
        "synonyms": ["Super P", "carbon black"],
        "cas_number": "1333-86-4",
        "formula": "C",
        "role": R.CONDUCTIVE_ADDITIVE,
        "molar_mass": 12.011,
    },
    {
        "name": "Aluminium foil",
        "abbreviation": "Al",
        "synonyms": ["Al foil", "aluminum foil"],
        "cas_number": "7429-90-5",
        "formula": "Al",
        "role": R.CURRENT_COLLECTOR,
        "molar_mass": 26.98,
        "density": 2.70,
    },
    {
        "name": "Lithium iron phosphate",
        "abbreviation": "LFP",
        "synonyms": ["LiFePO4"],
        "cas_number": "15365-14-7",
        "formula": "LiFePO4",
        "role": R.CATHODE_ACTIVE,
        "molar_mass": 157.76,
        "theoretical_density": 3.60,
        "specific_capacity": 170.0,
    },
    {
        "name": "LiNi0.8Co0.1Mn0.1O2",
        "abbreviation": "NCM811",
        "synonyms": ["NMC811"],
        "cas_number": "",
        "formula": "LiNi0.8Co0.1Mn0.1O2",
        "role": R.CATHODE_ACTIVE,
        "molar_mass": 97.28,
        "specific_capacity": 275.5,
        "moisture_sensitive": True,
        "hazard_notes": "theoretical 275.5 mAh/g = 96485/(3.6 x 97.28); practical ~200 mAh/g",
    },
    {
        "name": "Poly(vinylidene fluoride)",
        "abbreviation": "PVDF",
        "synonyms": ["PVdF"],
        "cas_number": "24937-79-9",
        "formula": "(C2H2F2)n",
        "role": R.BINDER,
        "density": 1.78,
    },
]

SUPPLIERS = [
    ("Aladdin", "https://www.aladdin-e.com"),
    ("Wuxi Kai-Star", ""),
    ("Macklin", "https://www.macklin.cn"),
    ("Canrd", "https://www.canrd.com"),
    ("DoDoChem", ""),
]

# code, chemical abbreviation, supplier, quantity, days since received, days to expiry, location key, extra
LOTS: list[tuple[str, str, str, str, int, int | None, str, dict[str, Any]]] = [
    ("L-LFS25A", "LiFSI", "DoDoChem", "25 g", 60, 300, "gb-shelf", {"purity": 0.995}),
    ("L-G4100A", "G4", "Aladdin", "100 mL", 90, 640, "gb-shelf", {"purity": 0.99}),
    ("L-MAAC2B", "MAA", "Aladdin", "100 mL", 120, 20, "fridge", {"purity": 0.99}),
    ("L-MMA25C", "MMA", "Aladdin", "250 mL", 500, -10, "fridge", {"purity": 0.99}),
    ("L-MMA26D", "MMA", "Aladdin", "250 mL", 30, 700, "fridge", {"purity": 0.99}),
    ("L-NMMA3E", "NMMAm", "Aladdin", "25 g", 45, 500, "fridge", {"purity": 0.98}),
    ("L-HMPP4F", "HMPP", "Aladdin", "5 mL", 200, 500, "cabinet", {"purity": 0.97}),
    ("L-LZT5G", "LLZTO", "Wuxi Kai-Star", "100 g", 80, None, "gb-shelf", {}),
    ("L-NMP6H", "NMP", "Macklin", "500 mL", 40, 700, "cabinet", {"purity": 0.995, "water_content": 32.0}),
    ("L-LIF7J", "Li", "Canrd", "50 g", 20, None, "gb-shelf", {}),
    ("L-SPC8K", "Super-P", "Canrd", "50 g", 150, None, "desiccator", {}),
    ("L-ALF9M", "Al", "Canrd", "100 g", 150, None, "cabinet", {}),
    ("L-LFP2N", "LFP", "Canrd", "100 g", 100, None, "desiccator", {}),
    ("L-NCM3P", "NCM811", "Canrd", "100 g", 100, None, "gb-shelf", {"status": "quarantine"}),
    ("L-PVD4Q", "PVDF", "Canrd", "50 g", 100, None, "desiccator", {}),
]

# The PMA precursor of the paper, drawn once from the demo lots: code, amount, purpose.
DRAWS = [
    ("L-LFS25A", "3.74 g", "PMA precursor (demo)"),
    ("L-G4100A", "5 mL", "PMA precursor (demo)"),
    ("L-MAAC2B", "0.387 g", "PMA precursor (demo)"),
    ("L-MMA26D", "0.9 g", "PMA precursor (demo)"),
    ("L-NMMA3E", "0.446 g", "PMA precursor (demo)"),
    ("L-HMPP4F", "5 uL", "PMA precursor (demo)"),
]


def _locations(user: Any) -> dict[str, StorageLocation]:
    def place(name: str, kind: str, parent: StorageLocation | None) -> StorageLocation:
        found = StorageLocation.objects.filter(name=name, parent=parent).first()
        if found is not None:
            return found
        return services.save_location(actor=user, name=name, kind=kind, parent=parent)

    building = place("Building A", LocationKind.BUILDING, None)
    lab = place("Lab 101", LocationKind.ROOM, building)
    glovebox = place("Glovebox 1 (Ar)", LocationKind.GLOVEBOX, lab)
    return {
        "gb-shelf": place("Shelf 1", LocationKind.SHELF, glovebox),
        "fridge": place("Fridge 1", LocationKind.FRIDGE, lab),
        "cabinet": place("Solvent cabinet", LocationKind.CABINET, lab),
        "desiccator": place(
            "Desiccator 1", LocationKind.DESICCATOR, place("Lab 102", LocationKind.ROOM, building)
        ),
    }


def load(*, user: Any, team: Any, stdout: Any) -> None:
    """Create what is missing; never touches records that exist (safe to run twice)."""
    chemicals: dict[str, Chemical] = {}
    created_chemicals = 0
    for spec in CHEMICALS:
        fields = dict(spec)
        synonyms = fields.pop("synonyms")
        existing = Chemical.objects.filter(name=fields["name"]).first()
        if existing is None:
            existing = services.create_chemical(actor=user, synonyms=synonyms, **fields)
            created_chemicals += 1
        chemicals[spec["abbreviation"]] = existing
    suppliers = {}
    for name, website in SUPPLIERS:
        found = Supplier.objects.filter(name=name).first()
        suppliers[name] = found or services.save_supplier(actor=user, name=name, website=website)
    places = _locations(user)
    today = timezone.localdate()
    new_lots: set[str] = set()
    for code, abbr, supplier, quantity, age, shelf_life, where, extra in LOTS:
        if StockLot.objects.filter(code=code).exists():
            continue
        received = today - timedelta(days=age)
        services.receive_lot(
            chemical=chemicals[abbr],
            quantity=quantity,
            actor=user,
            code=code,
            supplier=suppliers[supplier],
            supplier_lot_number=f"{abbr.upper()}-{received:%y%m}",
            received_on=received,
            opened_on=received + timedelta(days=3),
            expires_on=today + timedelta(days=shelf_life) if shelf_life is not None else None,
            location=places[where],
            **extra,
        )
        new_lots.add(code)
    for code, amount, purpose in DRAWS:
        if code in new_lots:
            lot = StockLot.objects.get(code=code)
            services.consume_from_lot(lot=lot, amount=amount, actor=user, purpose=purpose, reason="demo draw")
    stdout.write(
        f"inventory: {created_chemicals} chemical(s), {len(new_lots)} lot(s) created "
        f"({Chemical.objects.count()} chemicals, {StockLot.objects.count()} lots in all)"
    )
