"""Fill a database with a large, consistent, synthetic lab: ten years of inventory, synthesis, cells and data.

``--scale 1.0`` is the size of a busy lab after ten years (issue 10): 200 chemicals, 5,000 lots, ~100,000 ledger
rows, 2,000 recipe versions, 20,000 batches, 50,000 membranes and pellets, 100,000 cells, 300,000 measurements
(with per-cycle summaries for the cycling ones) and 1,000,000 derived properties. ``--scale 0.01`` is a small
copy for tests.

Rows are written in bulk: PostgreSQL ``COPY ... FROM STDIN`` (psycopg 3) in chunks, ``bulk_create`` on other
databases. Primary keys are assigned here (so foreign keys are known without a round trip) and the sequences are
reset afterwards. The data are consistent by construction:

- every lot's ledger sums to its quantity on hand, ``balance_after`` is the running sum in id order, never
  negative; a lot is consumed only after it was received; depleted lots hold 0, disposed lots end with a dispose row;
- a batch draws each recipe component from a lot of that component's chemical, in the lot's unit;
- a cell's membrane or pellet (exactly one) and cathode belong to the cell's team; measurements and derived
  properties belong to their cell's team; a derived property names its cell's membrane or pellet, as
  ``derive.upsert`` does (so the recipe, filler and electrolyte filters of the derived lists find rows);
- derived properties are unique by (subject_key, name, method_version), as the upsert requires.

Generated rows have NO history rows (bulk writes bypass simple-history): the audit trail of a generated record
starts at its first real change. Raw and Parquet files are not written (``Upload.raw_file`` and
``Measurement.data_file`` name files that do not exist): the generator exercises the database, not the storage.

The command refuses to run on a database that already holds records it did not generate, unless ``--force``.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone

from cells.models import Cell, CellComponent, CellState, CellStateChange
from formulations.models import (
    Batch,
    BatchComponent,
    Chemical,
    ChemicalRole,
    Electrode,
    Membrane,
    Mould,
    Pellet,
    ProcessStep,
    Recipe,
    RecipeComponent,
    RecipeVersion,
    StockLot,
    StockTransaction,
    StorageLocation,
    Supplier,
)
from lims.models import Membership, Team, User
from measurements.models import CycleSummary, DerivedProperty, Instrument, Measurement, Upload

GENERATOR_USERNAME = "lims-generator"
YEARS = 10
COPY_CHUNK_ROWS = 100_000

#: Tables whose rows, when not made by the generator, mean "this database holds real data".
GUARDED_MODELS: tuple[type[models.Model], ...] = (
    Chemical,
    StockLot,
    Recipe,
    Batch,
    Membrane,
    Pellet,
    Cell,
    Upload,
    Measurement,
)


# --------------------------------------------------------------------------------------------------- sizes
@dataclass(frozen=True)
class Counts:
    """How many rows to make. Ledger rows follow from the others (receipts + batch draws + pellet draws)."""

    teams: int = 8
    users: int = 48
    suppliers: int = 30
    chemicals: int = 200
    lots: int = 5_000
    recipes: int = 800
    recipe_versions: int = 2_000
    components_per_version: int = 4
    batches: int = 20_000
    membranes: int = 35_000
    pellets: int = 15_000
    electrodes: int = 3_000
    cells: int = 100_000
    instruments: int = 24
    measurements: int = 300_000
    cycles_per_cycling_measurement: int = 6
    derived: int = 1_000_000

    @classmethod
    def at_scale(cls, scale: float) -> Counts:
        """The issue's sizes times ``scale`` (with the minimum a consistent lab needs)."""
        if scale <= 0:
            raise ValueError("scale must be positive")
        base = cls()
        values: dict[str, int] = {}
        for f in fields(cls):
            full = getattr(base, f.name)
            if f.name in {"components_per_version", "cycles_per_cycling_measurement"}:
                values[f.name] = full
            elif f.name in {"teams", "users", "suppliers", "instruments"}:
                values[f.name] = max(1, min(full, math.ceil(full * math.sqrt(scale))))
            else:
                values[f.name] = max(1, round(full * scale))
        return cls(**values).with_minimums()

    @classmethod
    def uniform(cls, n: int, *, teams: int = 1) -> Counts:
        """About ``n`` rows in every listed table (query-count tests: 3 rows versus 30 rows)."""
        return cls(
            teams=teams,
            users=max(2, n // 5),
            suppliers=n,
            chemicals=n,
            lots=n,
            recipes=n,
            recipe_versions=n,
            components_per_version=4,
            batches=n,
            membranes=n,
            pellets=n,
            electrodes=n,
            cells=n,
            instruments=n,
            measurements=n,
            cycles_per_cycling_measurement=3,
            derived=n,
        ).with_minimums()

    def with_minimums(self) -> Counts:
        chemicals = max(self.chemicals, len(REQUIRED_ROLES))
        return Counts(
            **{
                **{f.name: getattr(self, f.name) for f in fields(self)},
                "chemicals": chemicals,
                "lots": max(self.lots, chemicals),
                "recipe_versions": max(self.recipe_versions, self.recipes),
                "users": max(self.users, self.teams),
                "instruments": max(self.instruments, self.teams),
            }
        )


# --------------------------------------------------------------------------------------------------- catalogue
@dataclass(frozen=True)
class ChemicalSpec:
    name: str
    abbreviation: str
    formula: str
    role: str
    molar_mass: float | None
    density: float | None
    cas: str = ""
    moisture: bool = False
    glovebox: bool = False
    specific_capacity: float | None = None


R = ChemicalRole
CATALOGUE: tuple[ChemicalSpec, ...] = (
    ChemicalSpec(
        "lithium bis(fluorosulfonyl)imide",
        "LiFSI",
        "LiN(SO2F)2",
        R.SALT,
        187.07,
        None,
        "171611-11-3",
        True,
        True,
    ),
    ChemicalSpec(
        "lithium bis(trifluoromethanesulfonyl)imide",
        "LiTFSI",
        "LiC2F6NO4S2",
        R.SALT,
        287.09,
        None,
        "90076-65-6",
        True,
        True,
    ),
    ChemicalSpec(
        "lithium hexafluorophosphate", "LiPF6", "LiPF6", R.SALT, 151.91, None, "21324-40-3", True, True
    ),
    ChemicalSpec("lithium perchlorate", "LiClO4", "LiClO4", R.SALT, 106.39, None, "7791-03-9", True),
    ChemicalSpec(
        "lithium difluoro(oxalato)borate", "LiDFOB", "LiBF2C2O4", R.SALT, 143.77, None, "409071-16-5", True
    ),
    ChemicalSpec("lithium nitrate", "LiNO3", "LiNO3", R.SALT, 68.95, None, "7790-69-4", True),
    ChemicalSpec(
        "tetraethylene glycol dimethyl ether", "G4", "C10H22O5", R.SOLVENT, 222.28, 1.009, "143-24-8"
    ),
    ChemicalSpec("triethylene glycol dimethyl ether", "G3", "C8H18O4", R.SOLVENT, 178.23, 0.986, "112-49-2"),
    ChemicalSpec("1,2-dimethoxyethane", "DME", "C4H10O2", R.SOLVENT, 90.12, 0.868, "110-71-4", True),
    ChemicalSpec("succinonitrile", "SN", "C4H4N2", R.SOLVENT, 80.09, 1.02, "110-61-2"),
    ChemicalSpec("propylene carbonate", "PC", "C4H6O3", R.SOLVENT, 102.09, 1.205, "108-32-7"),
    ChemicalSpec("fluoroethylene carbonate", "FEC", "C3H3FO3", R.SOLVENT, 106.05, 1.454, "114435-02-8"),
    ChemicalSpec("methacrylic acid", "MAAc", "C4H6O2", R.MONOMER, 86.09, 1.015, "79-41-4"),
    ChemicalSpec("methyl methacrylate", "MMA", "C5H8O2", R.MONOMER, 100.12, 0.94, "80-62-6"),
    ChemicalSpec("N-methyl methacrylamide", "NMMAm", "C5H9NO", R.MONOMER, 99.13, None, "3887-02-3"),
    ChemicalSpec("poly(ethylene glycol) diacrylate", "PEGDA", "(C2H4O)nC6H6O3", R.MONOMER, 700.0, 1.12),
    ChemicalSpec("vinylene carbonate", "VC", "C3H2O3", R.MONOMER, 86.05, 1.355, "872-36-6"),
    ChemicalSpec("butyl acrylate", "BA", "C7H12O2", R.MONOMER, 128.17, 0.894, "141-32-2"),
    ChemicalSpec(
        "2-hydroxy-2-methyl-1-phenylpropan-1-one", "HMPP", "C10H12O2", R.INITIATOR, 164.20, 1.08, "7473-98-5"
    ),
    ChemicalSpec("azobisisobutyronitrile", "AIBN", "C8H12N4", R.INITIATOR, 164.21, None, "78-67-1"),
    ChemicalSpec("benzoyl peroxide", "BPO", "C14H10O4", R.INITIATOR, 242.23, None, "94-36-0"),
    ChemicalSpec(
        "Li6.4La3Zr1.4Ta0.6O12 powder", "LLZTO", "Li6.4La3Zr1.4Ta0.6O12", R.CERAMIC_FILLER, 830.0, None
    ),
    ChemicalSpec("Li7La3Zr2O12 powder", "LLZO", "Li7La3Zr2O12", R.CERAMIC_FILLER, 839.9, None),
    ChemicalSpec(
        "Li1.3Al0.3Ti1.7(PO4)3 powder", "LATP", "Li1.3Al0.3Ti1.7(PO4)3", R.CERAMIC_FILLER, 379.0, None
    ),
    ChemicalSpec("fumed silica", "SiO2", "SiO2", R.CERAMIC_FILLER, 60.08, None, "112945-52-5"),
    ChemicalSpec("aluminium oxide nanopowder", "Al2O3", "Al2O3", R.CERAMIC_FILLER, 101.96, None, "1344-28-1"),
    ChemicalSpec(
        "lithium iron phosphate",
        "LFP",
        "LiFePO4",
        R.CATHODE_ACTIVE,
        157.76,
        None,
        "15365-14-7",
        False,
        False,
        170,
    ),
    ChemicalSpec(
        "NCM811", "NCM811", "LiNi0.8Co0.1Mn0.1O2", R.CATHODE_ACTIVE, 97.3, None, "", False, False, 200
    ),
    ChemicalSpec(
        "NCM622", "NCM622", "LiNi0.6Co0.2Mn0.2O2", R.CATHODE_ACTIVE, 96.9, None, "", False, False, 180
    ),
    ChemicalSpec(
        "lithium cobalt oxide",
        "LCO",
        "LiCoO2",
        R.CATHODE_ACTIVE,
        97.87,
        None,
        "12190-79-3",
        False,
        False,
        140,
    ),
    ChemicalSpec("Super-P carbon black", "Super-P", "C", R.CONDUCTIVE_ADDITIVE, 12.01, None, "1333-86-4"),
    ChemicalSpec("carbon nanotubes", "CNT", "C", R.CONDUCTIVE_ADDITIVE, 12.01, None, "308068-56-6"),
    ChemicalSpec("poly(vinylidene fluoride)", "PVDF", "(C2H2F2)n", R.BINDER, None, None, "24937-79-9"),
    ChemicalSpec("carboxymethyl cellulose", "CMC", "", R.BINDER, None, None, "9004-32-4"),
    ChemicalSpec("lithium foil", "Li", "Li", R.ANODE_METAL, 6.94, 0.534, "7439-93-2", True, True),
    ChemicalSpec("aluminium foil", "Al", "Al", R.CURRENT_COLLECTOR, 26.98, 2.70, "7429-90-5"),
    ChemicalSpec("copper foil", "Cu", "Cu", R.CURRENT_COLLECTOR, 63.55, 8.96, "7440-50-8"),
    ChemicalSpec("N-methyl-2-pyrrolidone", "NMP", "C5H9NO", R.SLURRY_SOLVENT, 99.13, 1.028, "872-50-4"),
    ChemicalSpec("acetonitrile", "MeCN", "C2H3N", R.SLURRY_SOLVENT, 41.05, 0.786, "75-05-8"),
)
GRADES = (
    "",
    " (battery grade)",
    " (99.9%)",
    " (anhydrous)",
    " (Aladdin)",
    " (Macklin)",
    " (Sigma)",
    " (TCI)",
)
REQUIRED_ROLES = (
    R.SALT,
    R.SOLVENT,
    R.MONOMER,
    R.INITIATOR,
    R.CERAMIC_FILLER,
    R.CATHODE_ACTIVE,
    R.ANODE_METAL,
)
BY_VOLUME = {R.SOLVENT, R.INITIATOR, R.SLURRY_SOLVENT}
SUPPLIERS = ("Aladdin", "Macklin", "Canrd", "Wuxi Kai-Star", "Sigma-Aldrich", "TCI", "Alfa Aesar", "Gelon")
FIRST_NAMES = (
    "Ana",
    "Bo",
    "Chen",
    "Dara",
    "Eli",
    "Fei",
    "Gus",
    "Hana",
    "Ivo",
    "Jun",
    "Kai",
    "Lena",
    "Mo",
    "Nia",
)
LAST_NAMES = ("Li", "Wang", "Garcia", "Novak", "Okafor", "Suzuki", "Berg", "Rossi", "Kim", "Haddad", "Silva")

# technique: (share of measurements, derived property names with their units)
TECHNIQUES: dict[str, tuple[float, tuple[tuple[str, str], ...]]] = {
    "PEIS": (
        0.40,
        (
            ("bulk_resistance", "ohm"),
            ("ionic_conductivity", "mS/cm"),
            ("interfacial_resistance", "ohm"),
            ("lin_kk_residual", "%"),
        ),
    ),
    "GCPL": (
        0.25,
        (
            ("discharge_capacity", "mAh/g"),
            ("coulombic_efficiency", "%"),
            ("capacity_retention", "%"),
            ("overpotential", "mV"),
        ),
    ),
    "CYCLING": (0.10, (("discharge_capacity", "mAh/g"), ("coulombic_efficiency", "%"), ("cycle_life", "h"))),
    "CA": (0.10, (("steady_state_current", "uA"), ("initial_current", "uA"))),
    "LSV": (0.08, (("stability_window", "V"), ("onset_current_density", "uA/cm2"))),
    "CCD": (0.07, (("critical_current_density", "mA/cm2"),)),
}
CYCLING_TECHNIQUES = {"GCPL", "CYCLING"}
#: g/cm3 of the ceramic powders pellets are pressed from; relative density = geometric / this, as the service does
PELLET_THEORETICAL_DENSITY = 5.5


# --------------------------------------------------------------------------------------------------- writing
class TableWriter:
    """Writes rows (tuples in ``columns`` order) to one model's table; other columns get their default once."""

    def __init__(self, model: type[models.Model], columns: Sequence[str], now: datetime) -> None:
        self.model = model
        concrete = {f.attname: f for f in model._meta.concrete_fields}
        unknown = [c for c in columns if c not in concrete]
        if unknown:
            raise ValueError(f"{model.__name__} has no columns {unknown}")
        self.columns = list(columns)
        self.rest = [name for name in concrete if name not in self.columns]
        self.rest_values = tuple(self._default(concrete[name], now) for name in self.rest)
        self.all_columns = self.columns + self.rest
        self.db_columns = [concrete[name].column for name in self.all_columns]
        is_json = [isinstance(concrete[name], models.JSONField) for name in self.all_columns]
        # JSON columns given per row are dumped per row (COPY text); constant defaults are dumped once here
        self.json_positions = [i for i, name in enumerate(self.columns) if is_json[i]]
        self.rest_values_text = tuple(
            json.dumps(v) if is_json[len(self.columns) + k] and v is not None else v
            for k, v in enumerate(self.rest_values)
        )
        self.rows_written = 0

    @staticmethod
    def _default(f: models.Field[Any, Any], now: datetime) -> Any:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            return now
        if f.has_default():
            value = f.get_default()
            return now if isinstance(value, datetime) else value
        if f.null:
            return None
        if isinstance(f, models.CharField | models.TextField | models.FileField):
            return ""
        raise ValueError(f"{f.model.__name__}.{f.name} needs a value (no default, not null)")

    def write(self, rows: Iterable[tuple[Any, ...]]) -> int:
        if connection.vendor == "postgresql":
            return self._copy(rows)
        return self._bulk_create(rows)

    def _copy(self, rows: Iterable[tuple[Any, ...]]) -> int:
        table = connection.ops.quote_name(self.model._meta.db_table)
        cols = ", ".join(connection.ops.quote_name(str(c)) for c in self.db_columns)
        sql = f"COPY {table} ({cols}) FROM STDIN"
        connection.ensure_connection()
        raw = connection.connection  # the psycopg 3 connection under Django's wrapper
        rest = self.rest_values_text
        json_pos = self.json_positions
        count = 0
        iterator = iter(rows)
        done = False
        while not done:
            chunk = 0
            with raw.cursor() as cur, cur.copy(sql) as copy:
                for row in iterator:
                    if json_pos:
                        values = list(row)
                        for i in json_pos:
                            if values[i] is not None:
                                values[i] = json.dumps(values[i])
                        row = tuple(values)
                    copy.write_row(row + rest)
                    chunk += 1
                    if chunk >= COPY_CHUNK_ROWS:
                        break
                else:
                    done = True
            count += chunk
        self.rows_written += count
        return count

    def _bulk_create(self, rows: Iterable[tuple[Any, ...]]) -> int:
        names = self.all_columns
        rest = self.rest_values
        batch: list[models.Model] = []
        count = 0
        for row in rows:
            batch.append(self.model(**dict(zip(names, row + rest, strict=True))))
            if len(batch) >= 2000:
                self.model._default_manager.bulk_create(batch)
                count += len(batch)
                batch = []
        if batch:
            self.model._default_manager.bulk_create(batch)
            count += len(batch)
        self.rows_written += count
        return count


def next_id(model: type[models.Model]) -> int:
    last = model._default_manager.order_by("-pk").values_list("pk", flat=True).first()
    return int(last or 0) + 1


def reset_sequences(model_list: Sequence[type[models.Model]]) -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), list(model_list))
    if statements:
        with connection.cursor() as cur:
            for sql in statements:
                cur.execute(sql)


WRITTEN_MODELS: list[type[models.Model]] = [
    User,
    Team,
    Membership,
    Supplier,
    StorageLocation,
    Chemical,
    Mould,
    Recipe,
    RecipeVersion,
    RecipeComponent,
    ProcessStep,
    StockLot,
    StockTransaction,
    Batch,
    BatchComponent,
    Pellet,
    Membrane,
    Electrode,
    Cell,
    CellComponent,
    CellStateChange,
    Instrument,
    Upload,
    Measurement,
    CycleSummary,
    DerivedProperty,
]


def _begin_bulk_load() -> bool:
    """On PostgreSQL as a superuser, skip the per-row foreign-key triggers during the load (True).

    Per-row RI triggers cost ~40 us per reference (measured: ~3,500 rows/s for a cell row with 7 foreign keys);
    ``session_replication_role = replica`` skips them and ``verify_foreign_keys`` checks every new reference
    afterwards in one anti-join per foreign key, inside the same transaction. Without the privilege the
    triggers stay on (checked at the end of each COPY chunk) and the load is slower but equally safe.
    """
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cur:
        cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cur.fetchone()
        if row and row[0]:
            cur.execute("SET session_replication_role = replica")
            return True
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    return False


def _end_bulk_load(trusted: bool) -> None:
    if trusted:
        with connection.cursor() as cur:
            cur.execute("SET session_replication_role = DEFAULT")


def verify_foreign_keys(first_ids: dict[type[models.Model], int]) -> int:
    """Every foreign key of every row with id >= first_ids[model] points at an existing row; returns the count
    of references checked. Raises RuntimeError naming the column when one dangles (the transaction rolls back)."""
    qn = connection.ops.quote_name
    checked = 0
    problems = []
    with connection.cursor() as cur:
        for model, first in first_ids.items():
            table = qn(model._meta.db_table)
            for f in model._meta.concrete_fields:
                if not f.is_relation or f.related_model is None:
                    continue
                target = f.related_model._meta
                target_field = f.target_field  # type: ignore[attr-defined]
                col = qn(str(f.column))
                cur.execute(
                    f"SELECT count(c.{col}), count(c.{col}) FILTER (WHERE p.{qn(target_field.column)} IS NULL) "
                    f"FROM {table} c LEFT JOIN {qn(target.db_table)} p ON p.{qn(target_field.column)} = c.{col} "
                    f"WHERE c.{qn(str(model._meta.pk.column))} >= %s AND c.{col} IS NOT NULL",
                    [first],
                )
                total, dangling = cur.fetchone() or (0, 0)
                checked += int(total)
                if dangling:
                    problems.append(f"{model._meta.db_table}.{f.column}: {dangling} dangling")
    if problems:
        raise RuntimeError("generated rows point at missing rows: " + "; ".join(problems))
    return checked


# --------------------------------------------------------------------------------------------------- the lab
@dataclass
class Report:
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


@dataclass
class _Txn:
    """A ledger row before ids are assigned (ids follow time order, so balance_after is monotone in id order)."""

    at: datetime
    lot: int
    kind: str
    quantity: float
    actor: int | None
    batch: int | None = None
    for_team: int | None = None  # the team whose batch or pellet the draw went into
    purpose: str = ""
    reason: str = ""
    entered_as: str = ""
    id: int = 0


class LabGenerator:
    """Builds and writes one synthetic lab. ``generate()`` returns a Report of rows and seconds per table."""

    def __init__(
        self,
        counts: Counts,
        *,
        seed: int = 20260101,
        tag: str = "",
        teams: Sequence[Team] | None = None,
        members: Sequence[User] | None = None,
        now: datetime | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.c = counts
        self.rng = np.random.default_rng(seed)
        self.tag = tag
        self.prefix = f"G{tag}"
        self.given_teams = list(teams or [])
        self.given_members = list(members or [])
        self.now = now or timezone.now()
        self.t0 = self.now - timedelta(days=365 * YEARS)
        self.span_s = (self.now - self.t0).total_seconds()
        self.log = log or (lambda message: None)
        self.report = Report()

    # ----------------------------------------------------------------------------------------- helpers
    def _time(self, offset_s: float) -> datetime:
        return self.t0 + timedelta(seconds=float(offset_s))

    def _write(
        self, model: type[models.Model], columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
    ) -> None:
        start = time.perf_counter()
        writer = TableWriter(model, columns, self.now)
        n = writer.write(rows)
        elapsed = time.perf_counter() - start
        label = model._meta.db_table
        self.report.rows[label] = self.report.rows.get(label, 0) + n
        self.report.seconds[label] = self.report.seconds.get(label, 0.0) + elapsed
        rate = n / elapsed if elapsed > 0 else float("inf")
        self.log(f"{label:<36} {n:>10,} rows {elapsed:8.2f} s {rate:>12,.0f} rows/s")

    def _pick(self, n: int, size: int) -> np.ndarray:
        return self.rng.integers(0, n, size=size)

    # ----------------------------------------------------------------------------------------- run
    def generate(self) -> Report:
        first_ids = {model: next_id(model) for model in WRITTEN_MODELS}
        self.robot = self._robot()
        trusted = _begin_bulk_load()
        try:
            self._people()
            self._inventory_master()
            self._recipes()
            self._lots_batches_pellets()
            self._membranes_electrodes()
            self._cells()
            self._instruments()
            self._measurements()
        finally:
            _end_bulk_load(trusted)
        reset_sequences(WRITTEN_MODELS)
        if trusted:
            start = time.perf_counter()
            checked = verify_foreign_keys(first_ids)
            elapsed = time.perf_counter() - start
            self.report.seconds["(foreign key check)"] = elapsed
            self.log(f"{'(foreign key check, set-based)':<36} {checked:>10,} refs {elapsed:8.2f} s")
        return self.report

    def _robot(self) -> User:
        robot, created = User.objects.get_or_create(
            username=GENERATOR_USERNAME, defaults={"first_name": "Data", "last_name": "Generator"}
        )
        if created:
            robot.set_unusable_password()
            robot.save(update_fields=["password"])
        return robot

    # ----------------------------------------------------------------------------------------- people
    def _people(self) -> None:
        c = self.c
        if self.given_teams:
            self.team_ids = [t.pk for t in self.given_teams]
        else:
            first = next_id(Team)
            self.team_ids = list(range(first, first + c.teams))
            names = ("Polymer electrolytes", "Garnet ceramics", "Interfaces", "Cell engineering", "Sulfides")
            self._write(
                Team,
                ["id", "name", "slug", "description"],
                (
                    (
                        tid,
                        f"{names[i % len(names)]} {i // len(names) + 1}{' ' + self.tag if self.tag else ''}",
                        f"gen{self.tag.lower()}-{i + 1}",
                        "generated team",
                    )
                    for i, tid in enumerate(self.team_ids)
                ),
            )
        # users: the given members first, then generated researchers spread over the teams
        self.users_by_team: dict[int, list[int]] = {tid: [] for tid in self.team_ids}
        for i, user in enumerate(self.given_members):
            self.users_by_team[self.team_ids[i % len(self.team_ids)]].append(user.pk)
        first = next_id(User)
        user_ids = list(range(first, first + c.users))
        user_rows: list[tuple[Any, ...]] = []
        membership_rows: list[tuple[Any, ...]] = []
        mid = next_id(Membership)
        for i, uid in enumerate(user_ids):
            tid = self.team_ids[i % len(self.team_ids)]
            self.users_by_team[tid].append(uid)
            first_name = FIRST_NAMES[i % len(FIRST_NAMES)]
            last_name = LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)]
            user_rows.append(
                (uid, f"gen{self.tag.lower()}-u{i + 1:04d}", "!", first_name, last_name, self._time(0), False)
            )
            role = "manager" if i < len(self.team_ids) else ("viewer" if i % 7 == 6 else "researcher")
            membership_rows.append((mid + i, uid, tid, role))
        self._write(
            User,
            ["id", "username", "password", "first_name", "last_name", "date_joined", "is_instrument"],
            user_rows,
        )
        self._write(Membership, ["id", "user_id", "team_id", "role"], membership_rows)

    def _operator(self, team_id: int, k: int) -> int:
        users = self.users_by_team[team_id]
        return users[k % len(users)]

    # ----------------------------------------------------------------------------------------- inventory
    def _inventory_master(self) -> None:
        c = self.c
        robot = self.robot.pk
        suffix = f" [{self.tag}]" if self.tag else ""
        first = next_id(Supplier)
        self.supplier_ids = list(range(first, first + c.suppliers))
        self._write(
            Supplier,
            ["id", "name", "website", "created_at", "created_by_id"],
            (
                (
                    sid,
                    f"{SUPPLIERS[i % len(SUPPLIERS)]}{'' if i < len(SUPPLIERS) else f' {i // len(SUPPLIERS) + 1}'}{suffix}",
                    "",
                    self.t0,
                    robot,
                )
                for i, sid in enumerate(self.supplier_ids)
            ),
        )
        # locations: building > room > glovebox/fridge/cabinet > shelf
        first = next_id(StorageLocation)
        rows: list[tuple[Any, ...]] = []
        nid = first
        building = nid
        rows.append((nid, f"Chemistry building{suffix}", "building", None, self.t0, robot))
        nid += 1
        self.shelf_ids: list[int] = []
        for room in range(3):
            room_id = nid
            rows.append((nid, f"Lab {101 + room}", "room", building, self.t0, robot))
            nid += 1
            for k, kind in enumerate(("glovebox", "fridge", "cabinet")):
                holder = nid
                rows.append((nid, f"{kind} {k + 1}", kind, room_id, self.t0, robot))
                nid += 1
                for shelf in range(3):
                    self.shelf_ids.append(nid)
                    rows.append((nid, f"shelf {shelf + 1}", "shelf", holder, self.t0, robot))
                    nid += 1
        self._write(StorageLocation, ["id", "name", "kind", "parent_id", "created_at", "created_by_id"], rows)

        first = next_id(Chemical)
        self.chemical_ids = list(range(first, first + c.chemicals))
        # the required roles first, so that a tiny lab still has every role a cell needs
        order = [next(s for s in CATALOGUE if s.role == role) for role in REQUIRED_ROLES]
        order += [s for s in CATALOGUE if s not in order]
        specs = [order[i % len(order)] for i in range(c.chemicals)]
        self.chem_role = {cid: spec.role for cid, spec in zip(self.chemical_ids, specs, strict=True)}
        self.chems_by_role: dict[str, list[int]] = {}
        for cid, spec in zip(self.chemical_ids, specs, strict=True):
            self.chems_by_role.setdefault(spec.role, []).append(cid)
        chem_rows: list[tuple[Any, ...]] = []
        for i, (cid, spec) in enumerate(zip(self.chemical_ids, specs, strict=True)):
            grade = GRADES[(i // len(order)) % len(GRADES)]
            extra = f" #{i // (len(order) * len(GRADES)) + 1}" if i >= len(order) * len(GRADES) else ""
            chem_rows.append(
                (
                    cid,
                    f"{spec.name}{grade}{extra}{suffix}",
                    spec.abbreviation,
                    spec.cas,
                    spec.formula,
                    spec.role,
                    spec.molar_mass,
                    spec.density,
                    spec.specific_capacity,
                    spec.moisture,
                    spec.glovebox,
                    50.0 if spec.role in {R.SALT, R.CERAMIC_FILLER} else None,
                    PELLET_THEORETICAL_DENSITY if spec.role == R.CERAMIC_FILLER else None,
                    self.t0,
                    robot,
                )
            )
        self._write(
            Chemical,
            [
                "id",
                "name",
                "abbreviation",
                "cas_number",
                "formula",
                "role",
                "molar_mass",
                "density",
                "specific_capacity",
                "moisture_sensitive",
                "store_in_glovebox",
                "low_stock_threshold",
                "theoretical_density",
                "created_at",
                "created_by_id",
            ],
            chem_rows,
        )
        first = next_id(Mould)
        self.mould_ids = list(range(first, first + 6))
        self.mould_area = {mid: 4.0 + 2.0 * k for k, mid in enumerate(self.mould_ids)}
        self._write(
            Mould,
            ["id", "name", "shape", "area", "material", "created_at", "created_by_id"],
            (
                (
                    mid,
                    f"{self.prefix} glass mould {k + 1}",
                    "rectangle",
                    self.mould_area[mid],
                    "glass",
                    self.t0,
                    robot,
                )
                for k, mid in enumerate(self.mould_ids)
            ),
        )

    # ----------------------------------------------------------------------------------------- recipes
    def _recipes(self) -> None:
        c = self.c
        robot = self.robot.pk
        first = next_id(Recipe)
        recipe_ids = list(range(first, first + c.recipes))
        recipe_team = {rid: self.team_ids[i % len(self.team_ids)] for i, rid in enumerate(recipe_ids)}
        # recipes are created over the first 9 years
        recipe_t = np.sort(self.rng.uniform(0, self.span_s * 0.9, size=c.recipes))
        recipe_time = {rid: self._time(t) for rid, t in zip(recipe_ids, recipe_t, strict=True)}
        kinds = ("PMA", "LLZTO-PMA", "PEO-LiTFSI", "PEGDA gel", "SN plastic crystal", "LATP-PVDF")
        self._write(
            Recipe,
            ["id", "team_id", "name", "description", "created_at", "created_by_id"],
            (
                (
                    rid,
                    recipe_team[rid],
                    f"{kinds[i % len(kinds)]} {self.prefix}-{i + 1:04d}",
                    "generated recipe",
                    recipe_time[rid],
                    robot,
                )
                for i, rid in enumerate(recipe_ids)
            ),
        )
        # versions: every recipe has one, the rest spread at random
        extra = self.rng.integers(0, c.recipes, size=c.recipe_versions - c.recipes)
        per_recipe = np.bincount(extra, minlength=c.recipes) + 1
        first = next_id(RecipeVersion)
        vid = first
        self.version_ids: list[int] = []
        self.version_team: dict[int, int] = {}
        self.version_time: dict[int, float] = {}
        self.version_components: dict[int, list[tuple[int, int, Any, str, float]]] = {}
        version_rows: list[tuple[Any, ...]] = []
        for ri, rid in enumerate(recipe_ids):
            previous = None
            t = float(recipe_t[ri])
            for number in range(1, int(per_recipe[ri]) + 1):
                filler = None if number == 1 else float(self.rng.choice([0.0, 0.2, 0.4, 0.6]))
                version_rows.append(
                    (vid, rid, number, "", self._time(t + 60), previous, filler, self._time(t), robot)
                )
                self.version_ids.append(vid)
                self.version_team[vid] = recipe_team[rid]
                self.version_time[vid] = t
                previous = vid
                vid += 1
                t += float(self.rng.uniform(3600, 0.1 * self.span_s / max(per_recipe[ri], 1)))
        self._write(
            RecipeVersion,
            [
                "id",
                "recipe_id",
                "number",
                "notes",
                "frozen_at",
                "derived_from_id",
                "filler_fraction",
                "created_at",
                "created_by_id",
            ],
            version_rows,
        )
        # components: salt, solvent, monomer, then filler or initiator (and more monomers when asked)
        roles = [R.SALT, R.SOLVENT, R.MONOMER, R.CERAMIC_FILLER, R.INITIATOR, R.MONOMER, R.MONOMER]
        comp_rows: list[tuple[Any, ...]] = []
        step_rows: list[tuple[Any, ...]] = []
        cid = next_id(RecipeComponent)
        sid = next_id(ProcessStep)
        for k, v in enumerate(self.version_ids):
            comps = []
            for order in range(c.components_per_version):
                role = roles[order % len(roles)]
                if role == R.CERAMIC_FILLER and k % 2 == 0:
                    role = R.INITIATOR
                pool = self.chems_by_role[role]
                chem = pool[(k * 7 + order) % len(pool)]
                kind = "volume" if role in BY_VOLUME else "mass"
                if role == R.SALT:
                    amount = round(float(self.rng.uniform(1.0, 4.0)), 3)
                elif role == R.SOLVENT:
                    amount = float(self.rng.choice([2.0, 5.0, 10.0]))
                elif role == R.INITIATOR:
                    amount = 0.005
                elif role == R.CERAMIC_FILLER:
                    amount = round(float(self.rng.uniform(0.5, 3.0)), 3)
                else:
                    amount = round(float(self.rng.uniform(0.2, 1.0)), 3)
                unit = "mL" if kind == "volume" else "g"
                comp_rows.append(
                    (
                        cid,
                        v,
                        chem,
                        role,
                        order,
                        kind,
                        amount,
                        f"{amount:g} {unit}",
                        self._time(self.version_time[v]),
                    )
                )
                comps.append((cid, chem, role, kind, amount))
                cid += 1
            self.version_components[v] = comps
            step_rows.append((sid, v, 0, "mix", "stir until clear", 3600.0, 25.0, None))
            step_rows.append((sid + 1, v, 1, "uv_cure", "UV 365 nm, 1 h, RT", 3600.0, 25.0, 365.0))
            sid += 2
        self._write(
            RecipeComponent,
            [
                "id",
                "version_id",
                "chemical_id",
                "role",
                "order",
                "amount_kind",
                "amount",
                "entered_as",
                "created_at",
            ],
            comp_rows,
        )
        self._write(
            ProcessStep,
            ["id", "version_id", "order", "kind", "description", "duration", "temperature", "wavelength"],
            step_rows,
        )

    # ----------------------------------------------------------------------------------------- lots + ledger
    def _lots_batches_pellets(self) -> None:
        c = self.c
        robot = self.robot.pk
        rng = self.rng
        day = 86400.0
        # lots: round-robin over the chemicals; each chemical's first lot arrives on day 0
        first = next_id(StockLot)
        lot_ids = list(range(first, first + c.lots))
        lot_chem = [self.chemical_ids[i % len(self.chemical_ids)] for i in range(c.lots)]
        lot_t = rng.uniform(0, self.span_s - 2 * day, size=c.lots)
        lot_t[: len(self.chemical_ids)] = 0.0
        lot_t = np.floor(lot_t / day) * day + 8 * 3600  # received at 08:00
        self.lot_t = {lid: float(t) for lid, t in zip(lot_ids, lot_t, strict=True)}
        lots_of_chem: dict[int, list[tuple[float, int]]] = {}
        for lid, chem in zip(lot_ids, lot_chem, strict=True):
            lots_of_chem.setdefault(chem, []).append((self.lot_t[lid], lid))
        for chem in lots_of_chem:
            lots_of_chem[chem].sort()
        chem_lot_times = {chem: [t for t, _ in v] for chem, v in lots_of_chem.items()}
        lot_unit = {
            lid: ("mL" if self.chem_role[chem] in BY_VOLUME else "g")
            for lid, chem in zip(lot_ids, lot_chem, strict=True)
        }
        self.lots_by_role: dict[str, list[int]] = {}
        for lid, chem in zip(lot_ids, lot_chem, strict=True):
            self.lots_by_role.setdefault(self.chem_role[chem], []).append(lid)

        def lot_for(chem: int, t: float, k: int) -> int:
            """A lot of ``chem`` received before ``t`` (the newest one, sometimes the one before)."""
            times = chem_lot_times[chem]
            eligible = bisect.bisect_left(times, t - day)  # received at least a day before
            idx = max(eligible - 1 - (k % 3 == 0), 0)
            return lots_of_chem[chem][idx][1]

        txns: list[_Txn] = []
        # batches
        first = next_id(Batch)
        batch_ids = list(range(first, first + c.batches))
        batch_version = [self.version_ids[i] for i in self._pick(len(self.version_ids), c.batches)]
        batch_rows: list[tuple[Any, ...]] = []
        comp_rows: list[tuple[Any, ...]] = []
        comp_txn: list[_Txn] = []
        bc_id = next_id(BatchComponent)
        self.batch_team: dict[int, int] = {}
        self.batch_time: dict[int, float] = {}
        self.batch_filler: dict[int, float | None] = {}
        self.completed_batches_by_team: dict[int, list[int]] = {}
        scales = rng.choice([0.5, 1.0, 1.0, 2.0], size=c.batches)
        noise = rng.normal(0.0, 0.012, size=(c.batches, c.components_per_version))
        status_draw = rng.random(c.batches)
        for i, (bid, v) in enumerate(zip(batch_ids, batch_version, strict=True)):
            team = self.version_team[v]
            vt = self.version_time[v]
            t = vt + day + float(rng.uniform(0, max(self.span_s - vt - 2 * day, day)))
            t = min(t, self.span_s - day)
            operator = self._operator(team, i)
            status = (
                "cancelled"
                if status_draw[i] < 0.02
                else ("in_progress" if t > self.span_s - 7 * day else "completed")
            )
            self.batch_team[bid] = team
            self.batch_time[bid] = t
            filler = None
            for j, (rc_id, chem, role, kind, amount) in enumerate(self.version_components[v]):
                planned = amount * float(scales[i])
                actual = round(planned * (1.0 + float(noise[i, j])), 4)
                deviation = (actual - planned) / planned
                lot = lot_for(chem, t, i + j)
                unit = lot_unit[lot]
                txn = _Txn(
                    at=self._time(t + 60 * j),
                    lot=lot,
                    kind="consume",
                    quantity=-actual,
                    actor=operator,
                    batch=bid,
                    for_team=team,
                    purpose=f"batch {self.prefix}-B{i + 1:06d}",
                    entered_as=f"{actual:g} {unit}",
                )
                txns.append(txn)
                comp_txn.append(txn)
                density = 1.0
                comp_rows.append(
                    (
                        bc_id,
                        bid,
                        rc_id,
                        lot,
                        planned,
                        actual,
                        actual * density if kind == "mass" else None,
                        f"{actual:g} {unit}",
                        deviation,
                        abs(deviation) > 0.02,
                        self._time(t),
                        robot,
                    )
                )
                bc_id += 1
                if role == R.CERAMIC_FILLER:
                    filler = 0.2
            self.batch_filler[bid] = filler
            if status == "completed":
                self.completed_batches_by_team.setdefault(team, []).append(bid)
            batch_rows.append(
                (
                    bid,
                    f"{self.prefix}-B{i + 1:06d}",
                    v,
                    operator,
                    self._time(t),
                    self._time(t + 3 * 3600) if status == "completed" else None,
                    float(scales[i]),
                    status,
                    "operator cancelled: precursor turned cloudy" if status == "cancelled" else "",
                    "Ar glovebox, RT",
                    filler,
                    team,
                    self._time(t),
                    robot,
                )
            )
        # every team needs at least one completed batch to cast membranes from
        for team in self.team_ids:
            if team not in self.completed_batches_by_team:
                fallback: int | None = (
                    next(b for b in batch_ids if self.batch_team[b] == team)
                    if team in self.batch_team.values()
                    else None
                )
                if fallback is not None:
                    self.completed_batches_by_team[team] = [fallback]
        # pellets: powder drawn from a ceramic lot
        first = next_id(Pellet)
        pellet_ids = list(range(first, first + c.pellets))
        ceramic_chems = self.chems_by_role[R.CERAMIC_FILLER]
        pellet_rows_pre = []
        pellet_txn: list[_Txn] = []
        self.pellet_team: dict[int, int] = {}
        self.pellet_time: dict[int, float] = {}
        self.pellets_by_team: dict[int, list[int]] = {}
        pellet_t = rng.uniform(30 * day, self.span_s - day, size=c.pellets)
        for i, pid in enumerate(pellet_ids):
            team = self.team_ids[i % len(self.team_ids)]
            t = float(pellet_t[i])
            chem = ceramic_chems[i % len(ceramic_chems)]
            lot = lot_for(chem, t, i)
            powder = round(float(rng.uniform(0.8, 1.5)), 4)
            operator = self._operator(team, i)
            txn = _Txn(
                at=self._time(t),
                lot=lot,
                kind="consume",
                quantity=-powder,
                actor=operator,
                for_team=team,
                purpose=f"pellet {self.prefix}-P{i + 1:06d}",
                entered_as=f"{powder:g} g",
            )
            txns.append(txn)
            pellet_txn.append(txn)
            diameter = round(float(rng.uniform(10.5, 12.5)), 3)
            thickness = round(float(rng.uniform(0.45, 0.6)), 3)
            final_mass = round(powder * float(rng.uniform(0.55, 0.7)), 4)
            volume_ml = math.pi * (diameter / 20.0) ** 2 * (thickness / 10.0)  # mm -> cm, cm3 = mL
            rho = final_mass / volume_ml
            pellet_rows_pre.append(
                (
                    pid,
                    f"{self.prefix}-P{i + 1:06d}",
                    lot,
                    powder,
                    300.0,
                    "isostatic",
                    1180.0,
                    5.0,
                    6 * 3600.0,
                    "air",
                    True,
                    "400, 800, 1200",
                    diameter,
                    thickness,
                    final_mass,
                    rho,
                    rho / PELLET_THEORETICAL_DENSITY,
                    self._time(t + day),
                    team,
                    self._time(t),
                    robot,
                )
            )
            self.pellet_team[pid] = team
            self.pellet_time[pid] = t + day
            self.pellets_by_team.setdefault(team, []).append(pid)

        # receipts: each lot receives what it will give plus a remainder (15% end exactly empty)
        consumed: dict[int, float] = {}
        last_use: dict[int, float] = {}
        for txn in txns:
            consumed[txn.lot] = consumed.get(txn.lot, 0.0) + (-txn.quantity)
        for txn in txns:
            ts = (txn.at - self.t0).total_seconds()
            if ts > last_use.get(txn.lot, -1.0):
                last_use[txn.lot] = ts
        remainder_draw = rng.random(c.lots)
        remainder_size = rng.uniform(0.05, 1.0, size=c.lots)
        dispose_draw = rng.random(c.lots)
        receipts: dict[int, float] = {}
        disposals: dict[int, float] = {}
        for k, lid in enumerate(lot_ids):
            used = round(consumed.get(lid, 0.0), 6)
            if used > 0 and remainder_draw[k] < 0.15:
                received = used
            else:
                received = round(used + float(remainder_size[k]) * max(used, 100.0), 3)
            receipts[lid] = received
            actor = self._operator(self.team_ids[k % len(self.team_ids)], k)
            txns.append(
                _Txn(
                    at=self._time(self.lot_t[lid]),
                    lot=lid,
                    kind="receive",
                    quantity=received,
                    actor=actor,
                    entered_as=f"{received:g} {lot_unit[lid]}",
                )
            )
            remaining = received - used
            dispose_at = max(last_use.get(lid, self.lot_t[lid]), self.lot_t[lid]) + 30 * day
            if remaining > 1e-9 and dispose_draw[k] < 0.03 and dispose_at < self.span_s - day:
                disposals[lid] = remaining
                txns.append(
                    _Txn(
                        at=self._time(dispose_at),
                        lot=lid,
                        kind="dispose",
                        quantity=-remaining,
                        actor=actor,
                        reason="discoloured; disposed as hazardous waste",
                    )
                )
        # ids in time order (receipts first on ties), then running balances per lot
        txns.sort(key=lambda x: (x.at, 0 if x.kind == "receive" else 1))
        first_txn = next_id(StockTransaction)
        balance: dict[int, float] = {}
        ledger_rows: list[tuple[Any, ...]] = []
        for k, txn in enumerate(txns):
            txn.id = first_txn + k
            new_balance = balance.get(txn.lot, 0.0) + txn.quantity
            if abs(new_balance) < 1e-9:
                new_balance = 0.0
            if new_balance < 0:  # float rounding of the last draw: take it exactly to zero
                txn.quantity -= new_balance
                new_balance = 0.0
            balance[txn.lot] = new_balance
            ledger_rows.append(
                (
                    txn.id,
                    txn.lot,
                    txn.kind,
                    txn.quantity,
                    txn.entered_as,
                    new_balance,
                    txn.actor,
                    txn.at,
                    txn.reason,
                    txn.batch,
                    txn.purpose,
                    txn.for_team,
                )
            )
        # lots (written before the ledger: the ledger points at them)
        today = self.now.date()
        lot_rows: list[tuple[Any, ...]] = []
        status_draw = rng.random(c.lots)
        expiry_years = rng.integers(2, 6, size=c.lots)
        for k, lid in enumerate(lot_ids):
            received_on = self._time(self.lot_t[lid]).date()
            expires_on = received_on + timedelta(days=365 * int(expiry_years[k]))
            on_hand = balance[lid]
            if lid in disposals:
                status = "disposed"
            elif on_hand <= 0:
                status = "depleted"
            elif expires_on < today:
                status = "expired"
            elif (today - received_on).days < 30 and status_draw[k] < 0.3:
                status = "quarantine"
            else:
                status = "available"
            chem = lot_chem[k]
            lot_rows.append(
                (
                    lid,
                    f"{self.prefix}-L{k + 1:06d}",
                    chem,
                    self.supplier_ids[k % len(self.supplier_ids)],
                    f"SLN{k * 7919 % 1_000_000:06d}",
                    0.995,
                    received_on,
                    received_on + timedelta(days=1) if lid in consumed else None,
                    expires_on,
                    self.shelf_ids[k % len(self.shelf_ids)],
                    lot_unit[lid],
                    on_hand,
                    30.0 if self.chem_role[chem] in {R.SOLVENT, R.SLURRY_SOLVENT} else None,
                    status,
                    self._time(self.lot_t[lid]),
                    robot,
                )
            )
        self._write(
            StockLot,
            [
                "id",
                "code",
                "chemical_id",
                "supplier_id",
                "supplier_lot_number",
                "purity",
                "received_on",
                "opened_on",
                "expires_on",
                "location_id",
                "quantity_unit",
                "quantity_on_hand",
                "water_content",
                "status",
                "created_at",
                "created_by_id",
            ],
            lot_rows,
        )
        self._write(
            Batch,
            [
                "id",
                "code",
                "recipe_version_id",
                "operator_id",
                "started_at",
                "ended_at",
                "scale_factor",
                "status",
                "cancel_reason",
                "conditions",
                "filler_fraction",
                "team_id",
                "created_at",
                "created_by_id",
            ],
            batch_rows,
        )
        self._write(
            StockTransaction,
            [
                "id",
                "lot_id",
                "kind",
                "quantity",
                "entered_as",
                "balance_after",
                "actor_id",
                "created_at",
                "reason",
                "batch_id",
                "purpose",
                "for_team_id",
            ],
            ledger_rows,
        )
        self._write(
            BatchComponent,
            [
                "id",
                "batch_id",
                "recipe_component_id",
                "lot_id",
                "planned_amount",
                "actual_amount",
                "actual_mass",
                "entered_as",
                "deviation",
                "flagged",
                "created_at",
                "created_by_id",
                "transaction_id",
            ],
            (row + (txn.id,) for row, txn in zip(comp_rows, comp_txn, strict=True)),
        )
        self._write(
            Pellet,
            [
                "id",
                "code",
                "lot_id",
                "powder_mass",
                "press_pressure",
                "press_mode",
                "sinter_temperature",
                "sinter_ramp",
                "sinter_dwell",
                "sinter_atmosphere",
                "mother_powder",
                "sanding_grits",
                "final_diameter",
                "final_thickness",
                "final_mass",
                "geometric_density",
                "relative_density",
                "made_at",
                "team_id",
                "created_at",
                "created_by_id",
                "transaction_id",
            ],
            (row + (txn.id,) for row, txn in zip(pellet_rows_pre, pellet_txn, strict=True)),
        )

    # ----------------------------------------------------------------------------------------- membranes
    def _membranes_electrodes(self) -> None:
        c = self.c
        robot = self.robot.pk
        rng = self.rng
        first = next_id(Membrane)
        self.membranes_by_team: dict[int, list[int]] = {}
        self.membrane_time: dict[int, float] = {}
        rows: list[tuple[Any, ...]] = []
        teams_with_batches = [t for t in self.team_ids if self.completed_batches_by_team.get(t)]
        for i in range(c.membranes):
            mid = first + i
            team = teams_with_batches[i % len(teams_with_batches)]
            pool = self.completed_batches_by_team[team]
            bid = pool[int(rng.integers(0, len(pool)))]
            mould = self.mould_ids[i % len(self.mould_ids)]
            area = self.mould_area[mould]
            cast_mass = round(float(rng.uniform(0.3, 3.0)), 4)
            density = 1.25
            thickness_um = cast_mass / (density * area) * 1e4  # g / (g/cm3 x cm2) = cm -> um
            t = self.batch_time[bid] + 4 * 3600
            self.membranes_by_team.setdefault(team, []).append(mid)
            self.membrane_time[mid] = t
            rows.append(
                (
                    mid,
                    f"{self.prefix}-M{i + 1:06d}",
                    bid,
                    mould,
                    cast_mass,
                    density,
                    True,
                    thickness_um,
                    round(thickness_um * float(rng.uniform(0.9, 1.1)), 1) if i % 3 == 0 else None,
                    self._time(t),
                    365.0,
                    3600.0,
                    25.0,
                    "Ar",
                    self.batch_filler[bid],
                    team,
                    self._time(t),
                    robot,
                )
            )
        self._write(
            Membrane,
            [
                "id",
                "code",
                "batch_id",
                "mould_id",
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
                "filler_fraction",
                "team_id",
                "created_at",
                "created_by_id",
            ],
            rows,
        )
        first = next_id(Electrode)
        active_lots = self.lots_by_role.get(R.CATHODE_ACTIVE, [])
        self.electrodes_by_team: dict[int, list[int]] = {}
        rows = []
        for i in range(c.electrodes if active_lots else 0):
            eid = first + i
            team = self.team_ids[i % len(self.team_ids)]
            lot = active_lots[i % len(active_lots)]
            t = max(self.lot_t[lot] + 86400.0, float(rng.uniform(0, self.span_s - 86400.0)))
            loading = round(float(rng.uniform(1.5, 4.0)), 3)
            area = 1.13
            self.electrodes_by_team.setdefault(team, []).append(eid)
            rows.append(
                (
                    eid,
                    f"{self.prefix}-E{i + 1:06d}",
                    lot,
                    0.8,
                    0.1,
                    0.1,
                    loading,
                    area,
                    loading * area * 0.8 / 1000.0,  # mg/cm2 x cm2 x fraction -> mg -> g
                    self._time(t),
                    team,
                    self._time(t),
                    robot,
                )
            )
        self._write(
            Electrode,
            [
                "id",
                "code",
                "active_lot_id",
                "active_fraction",
                "conductive_fraction",
                "binder_fraction",
                "loading",
                "area",
                "active_mass",
                "made_at",
                "team_id",
                "created_at",
                "created_by_id",
            ],
            rows,
        )

    # ----------------------------------------------------------------------------------------- cells
    def _cells(self) -> None:
        c = self.c
        robot = self.robot.pk
        rng = self.rng
        day = 86400.0
        first = next_id(Cell)
        li_lots = self.lots_by_role.get(R.ANODE_METAL, [])
        configs = rng.choice(
            ["symmetric", "full", "blocking", "li_ss"], p=[0.4, 0.35, 0.15, 0.1], size=c.cells
        )
        use_pellet = rng.random(c.cells) < 0.3
        delays = rng.uniform(day, 120 * day, size=c.cells)
        cell_rows: list[tuple[Any, ...]] = []
        comp_rows: list[tuple[Any, ...]] = []
        change_rows: list[tuple[Any, ...]] = []
        comp_id = next_id(CellComponent)
        change_id = next_id(CellStateChange)
        self.cell_ids: list[int] = []
        self.cell_team: dict[int, int] = {}
        self.cell_time: dict[int, float] = {}
        self.cell_sample: dict[int, tuple[int | None, int | None]] = {}  # cell -> (membrane, pellet)
        teams = [t for t in self.team_ids if self.membranes_by_team.get(t) or self.pellets_by_team.get(t)]
        for i in range(c.cells):
            cid = first + i
            team = teams[i % len(teams)]
            membranes = self.membranes_by_team.get(team, [])
            pellets = self.pellets_by_team.get(team, [])
            pellet = None
            membrane = None
            if (use_pellet[i] and pellets) or not membranes:
                pellet = pellets[int(rng.integers(0, len(pellets)))]
                made = self.pellet_time[pellet]
            else:
                membrane = membranes[int(rng.integers(0, len(membranes)))]
                made = self.membrane_time[membrane]
            t = min(made + float(delays[i]), self.span_s - 3600.0)
            config = str(configs[i])
            cathodes = self.electrodes_by_team.get(team, [])
            cathode = cathodes[i % len(cathodes)] if config == "full" and cathodes else None
            if config == "full" and cathode is None:
                config = "symmetric"
            age_days = (self.span_s - t) / day
            if age_days < 3:
                state, path = "assembled", []
            elif age_days < 60:
                state, path = "on_test", ["on_test"]
            else:
                final = ("finished", "finished", "finished", "shorted", "failed")[i % 5]
                path = ["on_test", final] + (["disassembled"] if i % 4 == 0 else [])
                state = path[-1]
            operator = self._operator(team, i)
            changed = t
            previous = "assembled"
            for step, to_state in enumerate(path):
                changed = t + (step + 1) * day * (1 if step == 0 else 30)
                changed = min(changed, self.span_s - 60.0)
                change_rows.append(
                    (change_id, cid, previous, to_state, self._time(changed), operator, "generated history")
                )
                change_id += 1
                previous = to_state
            self.cell_ids.append(cid)
            self.cell_team[cid] = team
            self.cell_time[cid] = t
            self.cell_sample[cid] = (membrane, pellet)
            cell_rows.append(
                (
                    cid,
                    f"{self.prefix}-C{i + 1:07d}",
                    config,
                    "coin",
                    "CR2032",
                    membrane,
                    pellet,
                    cathode,
                    1.13 if cathode else 2.01,
                    self._time(t),
                    operator,
                    0.1,
                    0.1,
                    state,
                    self._time(changed),
                    state == CellState.SHORTED,
                    team,
                    self._time(t),
                    robot,
                )
            )
            if config != "blocking" and li_lots:
                comp_rows.append(
                    (comp_id, cid, "li_foil", "negative", li_lots[i % len(li_lots)], 2.01, self._time(t))
                )
                comp_id += 1
        self._write(
            Cell,
            [
                "id",
                "code",
                "configuration",
                "cell_format",
                "format_detail",
                "membrane_id",
                "pellet_id",
                "cathode_id",
                "active_area",
                "assembled_at",
                "operator_id",
                "glovebox_o2",
                "glovebox_h2o",
                "state",
                "state_changed_at",
                "dendrites_observed",
                "team_id",
                "created_at",
                "created_by_id",
            ],
            cell_rows,
        )
        self._write(
            CellComponent, ["id", "cell_id", "kind", "position", "lot_id", "area", "created_at"], comp_rows
        )
        self._write(
            CellStateChange,
            ["id", "cell_id", "from_state", "to_state", "at", "actor_id", "reason"],
            change_rows,
        )

    # ----------------------------------------------------------------------------------------- instruments
    def _instruments(self) -> None:
        c = self.c
        robot = self.robot.pk
        first_user = next_id(User)
        first = next_id(Instrument)
        self.instruments_by_team: dict[int, list[tuple[int, int]]] = {}
        user_rows: list[tuple[Any, ...]] = []
        rows: list[tuple[Any, ...]] = []
        makes = (("BioLogic", "VMP-300"), ("Neware", "CT-4008"), ("Gamry", "Interface 1010"))
        for i in range(c.instruments):
            iid = first + i
            uid = first_user + i
            team = self.team_ids[i % len(self.team_ids)]
            make, model = makes[i % len(makes)]
            user_rows.append((uid, f"gen{self.tag.lower()}-instrument-{i + 1:03d}", "!", True, self._time(0)))
            rows.append(
                (
                    iid,
                    f"{make} {model} #{i + 1}{self.prefix}",
                    make,
                    model,
                    f"SN{i:05d}",
                    8,
                    uid,
                    team,
                    self.t0,
                    robot,
                )
            )
            self.instruments_by_team.setdefault(team, []).append((iid, uid))
        self._write(User, ["id", "username", "password", "is_instrument", "date_joined"], user_rows)
        self._write(
            Instrument,
            [
                "id",
                "name",
                "make",
                "model",
                "serial_number",
                "channel_count",
                "service_user_id",
                "team_id",
                "created_at",
                "created_by_id",
            ],
            rows,
        )

    # ----------------------------------------------------------------------------------------- measurements
    def _measurements(self) -> None:
        c = self.c
        robot = self.robot.pk
        rng = self.rng
        names = list(TECHNIQUES)
        shares = np.array([TECHNIQUES[n][0] for n in names])
        techniques = rng.choice(names, p=shares / shares.sum(), size=c.measurements)
        cells = [self.cell_ids[k] for k in self._pick(len(self.cell_ids), c.measurements)]
        offsets = rng.uniform(0.0, 1.0, size=c.measurements)
        temps = rng.choice([20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0], size=c.measurements)
        first_upload = next_id(Upload)
        first_m = next_id(Measurement)
        upload_rows: list[tuple[Any, ...]] = []
        m_rows: list[tuple[Any, ...]] = []
        self.m_info: list[tuple[int, int, int, str, float, datetime]] = []
        for i in range(c.measurements):
            uid = first_upload + i
            mid = first_m + i
            cell = cells[i]
            team = self.cell_team[cell]
            tech = str(techniques[i])
            t0 = self.cell_time[cell]
            t = t0 + float(offsets[i]) * max(self.span_s - t0 - 60.0, 60.0)
            at = self._time(t)
            sha = hashlib.sha256(f"{self.prefix}:{uid}".encode()).hexdigest()
            instrument, service_user = self.instruments_by_team[team][i % len(self.instruments_by_team[team])]
            ext = "mpr" if tech in {"PEIS", "CA", "LSV"} else "nda"
            source = "biologic-mpr" if ext == "mpr" else "neware-nda"
            temperature = float(temps[i]) if tech == "PEIS" else 25.0
            rows_n = int(200 + (i * 7919) % 50_000)
            upload_rows.append(
                (
                    uid,
                    sha,
                    f"raw/{sha[:2]}/{sha}.{ext}",
                    f"{self.prefix}-{i + 1:07d}.{ext}",
                    rows_n * 64,
                    source,
                    tech,
                    cell,
                    temperature,
                    "done",
                    1.0,
                    service_user,
                    instrument,
                    at,
                    at,
                    at + timedelta(seconds=5),
                    1,
                    team,
                    at,
                    robot,
                )
            )
            m_rows.append(
                (
                    mid,
                    uid,
                    cell,
                    tech,
                    source,
                    temperature,
                    at,
                    rows_n,
                    ["time_s", "voltage_V", "current_A"],
                    {},
                    {},
                    f"parquet/{sha[:2]}/{sha}.parquet",
                    team,
                    at,
                    robot,
                )
            )
            self.m_info.append((mid, cell, team, tech, temperature, at))
        self._write(
            Upload,
            [
                "id",
                "sha256",
                "raw_file",
                "original_name",
                "size_bytes",
                "detected_format",
                "technique",
                "cell_id",
                "temperature",
                "stage",
                "progress",
                "uploaded_by_id",
                "instrument_id",
                "enqueued_at",
                "started_at",
                "finished_at",
                "attempts",
                "team_id",
                "created_at",
                "created_by_id",
            ],
            upload_rows,
        )
        self._write(
            Measurement,
            [
                "id",
                "upload_id",
                "cell_id",
                "technique",
                "source_format",
                "temperature",
                "started_at",
                "row_count",
                "columns",
                "parameters",
                "metadata",
                "data_file",
                "team_id",
                "created_at",
                "created_by_id",
            ],
            m_rows,
        )
        del upload_rows, m_rows
        self._write(
            CycleSummary,
            [
                "id",
                "measurement_id",
                "cycle",
                "half_cycle",
                "start_time_s",
                "end_time_s",
                "charge_capacity_Ah",
                "discharge_capacity_Ah",
                "coulombic_efficiency",
                "mean_voltage_V",
                "overpotential_V",
                "mean_current_A",
            ],
            self._cycle_rows(next_id(CycleSummary)),
        )
        self._write(
            DerivedProperty,
            [
                "id",
                "subject_key",
                "name",
                "value",
                "unit",
                "uncertainty",
                "method",
                "method_version",
                "temperature",
                "measurement_id",
                "cell_id",
                "membrane_id",
                "pellet_id",
                "computed_at",
                "team_id",
                "created_at",
                "created_by_id",
            ],
            self._derived_rows(robot, next_id(DerivedProperty)),
        )

    def _cycle_rows(self, first_id: int) -> Iterable[tuple[Any, ...]]:
        # ids are read before the COPY starts: no other query may run on the connection during a COPY
        cid = first_id
        n = self.c.cycles_per_cycling_measurement
        hour = 3600.0
        for mid, _cell, _team, tech, _temp, _at in self.m_info:
            if tech not in CYCLING_TECHNIQUES:
                continue
            capacity = 0.00025 * (1.0 + (mid % 17) / 50.0)  # Ah: ~1.6 mg LFP x 150 mAh/g
            for cycle in range(1, n + 1):
                discharge = capacity * (1.0 - 0.0005 * cycle)
                charge = discharge / 0.9985
                yield (
                    cid,
                    mid,
                    cycle,
                    0,
                    (cycle - 1) * 10 * hour,
                    cycle * 10 * hour,
                    charge,
                    discharge,
                    discharge / charge,
                    3.40,
                    0.045,
                    0.00005,
                )
                cid += 1

    def _derived_rows(self, robot: int, first_id: int) -> Iterable[tuple[Any, ...]]:
        """``derived`` rows, spread over the measurements: name j of the technique's list, version 1.<round>."""
        did = first_id
        m = len(self.m_info)
        if m == 0:
            return
        for k in range(self.c.derived):
            mid, cell, team, tech, temperature, at = self.m_info[k % m]
            j = k // m
            props = TECHNIQUES[tech][1]
            name, unit = props[j % len(props)]
            version = f"1.{j // len(props)}"
            value = _typical_value(name, mid)
            membrane, pellet = self.cell_sample[cell]  # as derive.upsert does: the cell's electrolyte
            yield (
                did + k,
                f"measurement:{mid}",
                name,
                value,
                unit,
                abs(value) * 0.02,
                f"measurements.analysis.{name}",
                version,
                temperature,
                mid,
                cell,
                membrane,
                pellet,
                at,
                team,
                at,
                robot,
            )


TYPICAL_VALUES = {
    "bulk_resistance": 180.0,
    "ionic_conductivity": 0.266,
    "interfacial_resistance": 400.0,
    "lin_kk_residual": 0.4,
    "discharge_capacity": 135.0,
    "coulombic_efficiency": 99.8,
    "capacity_retention": 95.0,
    "overpotential": 45.0,
    "cycle_life": 1200.0,
    "steady_state_current": 6.3,
    "initial_current": 10.0,
    "stability_window": 4.6,
    "onset_current_density": 10.0,
    "critical_current_density": 0.6,
}


def _typical_value(name: str, seed: int) -> float:
    """A plausible magnitude per property (deterministic, varied by ``seed`` by 0-20 %)."""
    wobble = 1.0 + ((seed * 2654435761) % 1000) / 5000.0
    return round(TYPICAL_VALUES.get(name, 1.0) * wobble, 6)


# --------------------------------------------------------------------------------------------------- guard
def non_generated_records() -> dict[str, int]:
    """How many records of the guarded tables were not made by the generator (empty dict: safe to fill)."""
    found: dict[str, int] = {}
    for model in GUARDED_MODELS:
        n = model._default_manager.exclude(created_by__username=GENERATOR_USERNAME).count()
        if n:
            found[model._meta.label] = n
    return found


def analyze() -> None:
    """Fresh planner statistics; outside a transaction also VACUUM, which sets the visibility map so that the
    counts of the list pages are index-only scans instead of reading every heap page of a team's rows."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)")


def generate_lab(
    counts: Counts,
    *,
    seed: int = 20260101,
    tag: str = "",
    teams: Sequence[Team] | None = None,
    members: Sequence[User] | None = None,
    log: Callable[[str], None] | None = None,
) -> Report:
    """Write one generated lab in the current transaction (callers wrap it in ``transaction.atomic``)."""
    return LabGenerator(counts, seed=seed, tag=tag, teams=teams, members=members, log=log).generate()


class Command(BaseCommand):
    help = (
        "Fill the database with a large synthetic lab (10 years). --scale 1.0 = 200 chemicals, 5,000 lots, "
        "~100,000 ledger rows, 2,000 recipe versions, 20,000 batches, 50,000 membranes+pellets, 100,000 cells, "
        "300,000 measurements with cycle summaries, 1,000,000 derived properties. Generated rows have no history."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale", type=float, default=1.0, help="1.0 = the issue's sizes; 0.01 for tests"
        )
        parser.add_argument("--seed", type=int, default=20260101)
        parser.add_argument(
            "--tag",
            default="",
            help="label of this run (codes and names carry it); needed to add a second run",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="run even though the database holds records not made by the generator",
        )
        parser.add_argument("--no-analyze", action="store_true", help="skip VACUUM (ANALYZE) at the end")

    def handle(self, *args: Any, **options: Any) -> None:
        counts = Counts.at_scale(options["scale"])
        tag: str = options["tag"]
        if not tag.replace("-", "").isalnum() and tag:
            raise CommandError("--tag takes letters, digits and dashes")
        foreign = non_generated_records()
        if foreign and not options["force"]:
            listed = ", ".join(f"{label}: {n}" for label, n in foreign.items())
            raise CommandError(
                f"this database already holds records the generator did not make ({listed}); "
                "refusing to mix generated data into real data. Use an empty database or pass --force."
            )
        if StockLot.objects.filter(code=f"G{tag}-L000001").exists():
            raise CommandError(f"a generated lab with tag {tag!r} is already here; pass another --tag")
        self.stdout.write(f"generating a lab at scale {options['scale']:g}: {counts}")
        started = time.perf_counter()
        with transaction.atomic():
            report = generate_lab(counts, seed=options["seed"], tag=tag, log=self.stdout.write)
        if not options["no_analyze"]:
            t = time.perf_counter()
            analyze()
            self.stdout.write(f"{'VACUUM (ANALYZE)':<36} {'':>10}      {time.perf_counter() - t:8.2f} s")
        total = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"generated {report.total_rows:,} rows in {total:.1f} s "
                f"({report.total_rows / max(total, 1e-9):,.0f} rows/s overall); no history rows were written"
            )
        )
