"""Bulk receive: a supplier delivery as CSV, checked row by row, received all together or not at all.

Columns (header row, case-insensitive; only ``chemical`` and ``quantity`` are required):

    chemical, quantity, supplier, supplier_lot_number, purity, received_on, opened_on, expires_on, location,
    container_count, water_content, status, code, notes

``chemical`` is a name, an abbreviation, a synonym or a CAS number; ``quantity`` is "500 g" or "250 mL";
``purity`` is "99.5%" or 0.995; ``water_content`` is "50 ppm"; dates are YYYY-MM-DD; ``location`` is a path
("Building A > Lab 101 > Glovebox 1") or a location name that is unique; ``status`` is available or quarantine.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import transaction

from formulations.models import Chemical, LotStatus, StockLot, StorageLocation, Supplier
from formulations.services.inventory import receive_lot
from lims.errors import DomainError
from lims.units import UnitError, parse_quantity

COLUMNS = (
    "chemical",
    "quantity",
    "supplier",
    "supplier_lot_number",
    "purity",
    "received_on",
    "opened_on",
    "expires_on",
    "location",
    "container_count",
    "water_content",
    "status",
    "code",
    "notes",
)
REQUIRED = ("chemical", "quantity")
MAX_ROWS = 2000


@dataclass(frozen=True)
class RowError:
    """A problem in one cell of the file: ``row`` counts the header as row 1, like a spreadsheet."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return (
            f"row {self.row}, {self.column}: {self.message}"
            if self.column
            else f"row {self.row}: {self.message}"
        )


class CsvImportError(DomainError):
    """The file was refused; nothing was received. ``errors`` lists every problem found."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        shown = "; ".join(str(e) for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"Nothing was received: {len(errors)} problem(s) in the file: {shown}{more}")


@dataclass
class _Row:
    number: int
    values: dict[str, Any] = field(default_factory=dict)


def _lookups() -> tuple[dict[str, Chemical], dict[str, Supplier], dict[str, list[StorageLocation]]]:
    """Every name a chemical, supplier or location may be given by, read once (no query per row)."""
    chemicals: dict[str, Chemical] = {}
    for chem in Chemical.objects.prefetch_related("synonyms"):
        keys = [chem.name, chem.abbreviation, chem.cas_number, *(s.name for s in chem.synonyms.all())]
        for key in keys:
            if key:
                chemicals.setdefault(key.strip().lower(), chem)
    suppliers = {s.name.strip().lower(): s for s in Supplier.objects.all()}
    all_locations = list(StorageLocation.objects.all())
    by_id = {loc.pk: loc for loc in all_locations}
    locations: dict[str, list[StorageLocation]] = {}
    for loc in all_locations:
        parts = [loc.name]
        parent_id = loc.parent_id
        while parent_id is not None and len(parts) < 12:
            parent = by_id[parent_id]
            parts.append(parent.name)
            parent_id = parent.parent_id
        path = " > ".join(reversed(parts)).lower()
        locations.setdefault(path, []).append(loc)
        if len(parts) > 1:
            locations.setdefault(loc.name.strip().lower(), []).append(loc)
    return chemicals, suppliers, locations


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def parse_delivery(text: str) -> tuple[list[_Row], list[RowError]]:
    """Read and check every row (units, dates, known chemical, supplier and location). Writes nothing."""
    errors: list[RowError] = []
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    if not header:
        return [], [RowError(1, "", "the file is empty: expected a header row with chemical and quantity")]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [h for h in header if h and h not in COLUMNS]
    if missing:
        errors.append(RowError(1, "", f"missing column(s): {', '.join(missing)}"))
    if unknown:
        errors.append(
            RowError(1, "", f"unknown column(s): {', '.join(unknown)} (known: {', '.join(COLUMNS)})")
        )
    if errors:
        return [], errors
    reader.fieldnames = header
    chemicals, suppliers, locations = _lookups()
    codes_in_file: dict[str, int] = {}
    rows: list[_Row] = []
    for index, raw in enumerate(reader, start=2):
        if index - 1 > MAX_ROWS:
            errors.append(RowError(index, "", f"a delivery file holds at most {MAX_ROWS} rows"))
            break
        cells = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(cells.values()):
            continue  # blank line
        row = _Row(number=index)

        def bad(column: str, message: str, _row: int = index) -> None:
            errors.append(RowError(_row, column, message))

        for column in REQUIRED:
            if not cells.get(column):
                bad(column, "required")
        name = cells.get("chemical", "")
        if name:
            chem = chemicals.get(name.lower())
            if chem is None:
                bad("chemical", f"unknown chemical {name!r}: add it to the chemicals first")
            row.values["chemical"] = chem
        if cells.get("quantity"):
            try:
                parse_quantity(
                    cells["quantity"], dimension="mass", unit="g", bare_number_ok=False, allow_zero=False
                )
                row.values["quantity"] = cells["quantity"]
            except UnitError as mass_error:
                try:
                    parse_quantity(
                        cells["quantity"],
                        dimension="volume",
                        unit="mL",
                        bare_number_ok=False,
                        allow_zero=False,
                    )
                    row.values["quantity"] = cells["quantity"]
                except UnitError:
                    msg = str(mass_error)
                    if "expected a mass" in msg:  # another dimension, or no unit at all
                        msg = (
                            f"expected a mass or a volume (e.g. '500 g', '250 mL'), got {cells['quantity']!r}"
                        )
                    bad("quantity", msg)
        if cells.get("supplier"):
            supplier = suppliers.get(cells["supplier"].lower())
            if supplier is None:
                bad("supplier", f"unknown supplier {cells['supplier']!r}")
            row.values["supplier"] = supplier
        for column in ("received_on", "opened_on", "expires_on"):
            if cells.get(column):
                try:
                    row.values[column] = _date(cells[column])
                except ValueError as exc:
                    bad(column, str(exc))
        received = row.values.get("received_on")
        expires = row.values.get("expires_on")
        if isinstance(received, date) and isinstance(expires, date) and expires < received:
            bad("expires_on", f"the expiry date {expires} is before the date received {received}")
        for column, dimension, unit in (
            ("purity", "fraction", "dimensionless"),
            ("water_content", "fraction", "ppm"),
        ):
            if cells.get(column):
                try:
                    value = parse_quantity(cells[column], dimension=dimension, unit=unit).magnitude
                except UnitError as exc:
                    bad(column, str(exc))
                    continue
                if column == "purity" and not 0 < value <= 1:
                    bad(column, f"a purity lies between 0 and 100 %, got {cells[column]!r}")
                row.values[column] = value
        if cells.get("location"):
            found = locations.get(cells["location"].lower(), [])
            if not found:
                bad("location", f"unknown storage location {cells['location']!r}")
            elif len(found) > 1:
                bad(
                    "location",
                    f"{cells['location']!r} names {len(found)} places: give the full path (A > B > C)",
                )
            else:
                row.values["location"] = found[0]
        if cells.get("container_count"):
            try:
                count = int(cells["container_count"])
                if count < 1:
                    raise ValueError
                row.values["container_count"] = count
            except ValueError:
                bad(
                    "container_count",
                    f"expected a whole number of containers (1 or more), got {cells['container_count']!r}",
                )
        if cells.get("status"):
            status = cells["status"].lower()
            if status not in (LotStatus.AVAILABLE, LotStatus.QUARANTINE):
                bad("status", f"a received lot is 'available' or 'quarantine', got {cells['status']!r}")
            row.values["status"] = status
        if cells.get("code"):
            code = cells["code"].upper()
            if code in codes_in_file:
                bad("code", f"the code {code} is also on row {codes_in_file[code]}")
            codes_in_file[code] = index
            row.values["code"] = code
        for column in ("supplier_lot_number", "notes"):
            if cells.get(column):
                row.values[column] = cells[column]
        rows.append(row)
    taken = set(StockLot.objects.filter(code__in=list(codes_in_file)).values_list("code", flat=True))
    errors.extend(
        RowError(codes_in_file[c], "code", f"the code {c} is already used by another lot") for c in taken
    )
    if not rows and not errors:
        errors.append(RowError(2, "", "the file has a header but no rows"))
    errors.sort(key=lambda e: (e.row, COLUMNS.index(e.column) if e.column in COLUMNS else -1))
    return rows, errors


@transaction.atomic
def receive_delivery(*, text: str, actor: Any, default_supplier: Supplier | None = None) -> list[StockLot]:
    """Receive every row of a delivery file as a lot, or none: raises CsvImportError listing every problem."""
    rows, errors = parse_delivery(text)
    if errors:
        raise CsvImportError(errors)
    lots: list[StockLot] = []
    for row in rows:
        values = dict(row.values)
        chemical = values.pop("chemical")
        quantity = values.pop("quantity")
        if values.get("supplier") is None and default_supplier is not None:
            values["supplier"] = default_supplier
        try:
            lots.append(receive_lot(chemical=chemical, quantity=quantity, actor=actor, **values))
        except DomainError as exc:
            errors.append(RowError(row.number, "quantity" if "density" in str(exc) else "", str(exc)))
    if errors:
        raise CsvImportError(errors)  # rolls back the rows received so far
    return lots
