"""Stock lots and their ledger: the only code that changes ``StockLot.quantity_on_hand``.

Every change is a StockTransaction row written in the same database transaction as the new on-hand quantity,
under a row lock on the lot (``SELECT ... FOR UPDATE``), so concurrent consumptions serialise and the on-hand
quantity always equals the sum of the ledger. A CHECK constraint refuses a negative quantity as the last line.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from formulations.models import (
    Chemical,
    LotStatus,
    StockLot,
    StockTransaction,
    StockUnit,
    TransactionKind,
)
from lims.dates import refuse_future
from lims.errors import ConflictError, DomainError
from lims.models import Role
from lims.permissions import has_role
from lims.units import UnitError, parse_quantity

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed from labels


def new_code(prefix: str, exists: Any, length: int = 6) -> str:
    """A short unique label code such as 'L-7KQ2MX'; ``exists(code)`` tells whether one is taken."""
    for _ in range(20):
        code = f"{prefix}-" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(length))
        if not exists(code):
            return code
    raise RuntimeError("could not find a free label code")


@dataclass(frozen=True)
class Amount:
    """An amount converted to a lot's unit, with the text it was entered as."""

    value: float
    entered_as: str


def amount_in_lot_unit(*, chemical: Chemical, lot_unit: str, amount: Any, allow_zero: bool = False) -> Amount:
    """Convert "5 mL", "3.74 g", a number (read in the lot's unit) or a mol amount into the lot's unit (g or mL).

    Mass <-> volume goes through the chemical's density (g/mL); mol -> mass through its molar mass. Without the
    needed property the conversion is refused with a message that says which one is missing.
    Example: 5 mL of tetraglyme (1.009 g/mL) from a lot kept in g is 5 x 1.009 = 5.045 g.
    """
    if amount is None or isinstance(amount, bool):
        raise DomainError("expected a mass, a volume or an amount of substance, e.g. '5 mL' or '3.74 g'")
    text = str(amount).strip()
    if isinstance(amount, int | float):
        text = f"{amount} {lot_unit}"
    elif _is_bare_number(text):
        text = f"{text} {lot_unit}"  # a bare number typed into a form is read in the lot's own unit
    if not text:
        raise DomainError("expected a mass, a volume or an amount of substance, e.g. '5 mL' or '3.74 g'")
    for dimension, unit in (("mass", "g"), ("volume", "mL"), ("amount", "mol")):
        try:
            q = parse_quantity(
                text, dimension=dimension, unit=unit, bare_number_ok=False, allow_zero=allow_zero
            )
        except UnitError as exc:
            if "expected " in str(exc) and ", got " in str(exc):
                continue  # another dimension: try the next one
            raise DomainError(str(exc)) from None
        return Amount(_to_lot_unit(chemical, lot_unit, dimension, q.magnitude), text)
    raise DomainError(f"expected a mass, a volume or an amount of substance, got {text!r}")


def _is_bare_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _to_lot_unit(chemical: Chemical, lot_unit: str, dimension: str, magnitude: float) -> float:
    if dimension == "amount":
        if not chemical.molar_mass:
            raise DomainError(
                f"{chemical.name} has no molar mass recorded: give the amount as a mass or a volume"
            )
        dimension, magnitude = "mass", magnitude * chemical.molar_mass
    if (
        dimension == "mass"
        and lot_unit == StockUnit.GRAM
        or dimension == "volume"
        and lot_unit == StockUnit.MILLILITRE
    ):
        return magnitude
    if not chemical.density:
        kept = "by mass (g)" if lot_unit == StockUnit.GRAM else "by volume (mL)"
        raise DomainError(
            f"{chemical.name} is kept {kept} and has no density recorded, so a {dimension} cannot be converted; "
            f"record the density or give the amount in {lot_unit}"
        )
    return magnitude * chemical.density if dimension == "volume" else magnitude / chemical.density


def _write(
    *,
    lot: StockLot,
    kind: str,
    delta: float,
    actor: Any,
    entered_as: str = "",
    reason: str = "",
    purpose: str = "",
    batch: Any = None,
    for_team_id: int | None = None,
    override_by: Any = None,
) -> StockTransaction:
    """Apply ``delta`` to a lot that the caller has locked, and write its ledger row.

    ``for_team_id``: the team whose record (batch, pellet, cell) the draw went into. The row's reason and purpose name
    that record, so they are shown to that team only (``selectors_inventory.ledger_as_seen_by``), and the lot's
    own history, which everyone reads on the lot's page, gets the plain change instead of the reason."""
    new_balance = lot.quantity_on_hand + delta
    if new_balance < -1e-12:
        raise ConflictError(
            f"Not enough {lot.chemical.name} in lot {lot.code}: {-delta:g} {lot.quantity_unit} requested, "
            f"{lot.quantity_on_hand:g} {lot.quantity_unit} on hand"
        )
    if new_balance < 0.0:  # float dust from a unit conversion: take exactly what is left
        new_balance, delta = 0.0, -lot.quantity_on_hand
    lot.quantity_on_hand = new_balance
    if new_balance == 0.0 and lot.status == LotStatus.AVAILABLE and kind != TransactionKind.RECEIVE:
        lot.status = LotStatus.DEPLETED
    elif new_balance > 0 and lot.status == LotStatus.DEPLETED:
        lot.status = LotStatus.AVAILABLE
    shared_reason = reason if for_team_id is None else ""
    lot._change_reason = shared_reason or f"{kind} {delta:+g} {lot.quantity_unit}"  # type: ignore[attr-defined]
    lot.save(update_fields=["quantity_on_hand", "status", "updated_at"])
    return StockTransaction.objects.create(
        lot=lot,
        kind=kind,
        quantity=delta,
        entered_as=entered_as,
        balance_after=new_balance,
        actor=actor,
        reason=reason,
        purpose=purpose,
        batch=batch,
        for_team_id=for_team_id,
        override_by=override_by,
    )


def _locked(lot: StockLot | int) -> StockLot:
    pk = lot.pk if isinstance(lot, StockLot) else lot
    return StockLot.objects.select_for_update().select_related("chemical").get(pk=pk)


@transaction.atomic
def receive_lot(
    *,
    chemical: Chemical,
    quantity: Any,
    actor: Any,
    quantity_unit: str | None = None,
    code: str | None = None,
    status: str = LotStatus.AVAILABLE,
    **fields: Any,
) -> StockLot:
    """Create a lot and its first ledger row (receive). The lot is kept in the unit the quantity was given in
    (g for a mass, mL for a volume) unless ``quantity_unit`` says otherwise."""
    if quantity_unit is None:
        try:
            parse_quantity(str(quantity), dimension="volume", unit="mL", bare_number_ok=False)
            quantity_unit = StockUnit.MILLILITRE
        except UnitError:
            quantity_unit = StockUnit.GRAM
    amount = amount_in_lot_unit(chemical=chemical, lot_unit=quantity_unit, amount=quantity)
    expires_on = fields.get("expires_on")
    received_on = fields.get("received_on") or timezone.localdate()
    refuse_future(received_on, what="The date received")
    refuse_future(fields.get("opened_on"), what="The date opened")
    if isinstance(expires_on, date) and expires_on < received_on:
        raise DomainError(f"The expiry date {expires_on} is before the date received {received_on}")
    if code and StockLot.objects.filter(code=code).exists():
        raise ConflictError(f"The label code {code} is already used by another lot")
    if isinstance(expires_on, date) and expires_on < timezone.localdate() and status == LotStatus.AVAILABLE:
        status = LotStatus.EXPIRED
    lot = StockLot(
        chemical=chemical,
        quantity_unit=quantity_unit,
        code=code or new_code("L", lambda c: StockLot.objects.filter(code=c).exists()),
        status=status,
        created_by=actor,
        **fields,
    )
    lot.save()
    _write(
        lot=lot,
        kind=TransactionKind.RECEIVE,
        delta=amount.value,
        actor=actor,
        entered_as=amount.entered_as,
        reason="received",
    )
    return lot


def check_lot_usable(lot: StockLot, *, actor: Any, override_reason: str = "") -> Any:
    """Refuse expired, quarantined, depleted or disposed lots; a manager may use an expired or quarantined lot
    with a reason (returns the overriding manager, else None)."""
    expired = lot.status == LotStatus.EXPIRED or (
        lot.expires_on is not None and lot.expires_on < timezone.localdate()
    )
    if lot.status in (LotStatus.DISPOSED, LotStatus.DEPLETED):
        raise ConflictError(f"Lot {lot.code} is {lot.status} and cannot be used")
    if expired or lot.status == LotStatus.QUARANTINE:
        state = "expired" if expired else "in quarantine"
        if not override_reason:
            raise ConflictError(
                f"Lot {lot.code} is {state}: using it needs a manager and a reason (override)"
            )
        if not has_role(actor, _any_team_of(actor), Role.MANAGER):
            raise ConflictError(f"Lot {lot.code} is {state}: only a manager may use it")
        return actor
    return None


def _any_team_of(actor: Any) -> int | None:
    from lims.permissions import team_ids_for

    ids = team_ids_for(actor, Role.MANAGER)
    return ids[0] if ids else None


@transaction.atomic
def consume_from_lot(
    *,
    lot: StockLot | int,
    amount: Any,
    actor: Any,
    reason: str = "",
    purpose: str = "",
    batch: Any = None,
    for_team_id: int | None = None,
    override_reason: str = "",
) -> StockTransaction:
    """Take ``amount`` ("5 mL", "0.387 g", a number in the lot's unit) out of a lot, atomically.

    ``for_team_id``: the team whose batch, pellet or cell the material went into (see ``_write``); a batch's team when
    ``batch`` is given and ``for_team_id`` is not.

    Refused with ConflictError (and nothing changed) when the lot holds too little, or is expired/quarantined
    without a manager's override, or is depleted/disposed.
    """
    locked = _locked(lot)
    override_by = check_lot_usable(locked, actor=actor, override_reason=override_reason)
    converted = amount_in_lot_unit(chemical=locked.chemical, lot_unit=locked.quantity_unit, amount=amount)
    if override_by is not None:
        reason = f"{reason} [override: {override_reason}]".strip()
    return _write(
        lot=locked,
        kind=TransactionKind.CONSUME,
        delta=-converted.value,
        actor=actor,
        entered_as=converted.entered_as,
        reason=reason,
        purpose=purpose,
        batch=batch,
        for_team_id=for_team_id if for_team_id is not None or batch is None else batch.team_id,
        override_by=override_by,
    )


@transaction.atomic
def return_to_lot(*, lot: StockLot | int, amount: Any, actor: Any, reason: str = "") -> StockTransaction:
    """Put unused material back into a lot (e.g. weighed out too much)."""
    locked = _locked(lot)
    if locked.status == LotStatus.DISPOSED:
        raise ConflictError(f"Lot {locked.code} was disposed")
    converted = amount_in_lot_unit(chemical=locked.chemical, lot_unit=locked.quantity_unit, amount=amount)
    return _write(
        lot=locked,
        kind=TransactionKind.RETURN,
        delta=converted.value,
        actor=actor,
        entered_as=converted.entered_as,
        reason=reason or "returned",
    )


@transaction.atomic
def adjust_lot(*, lot: StockLot | int, counted: Any, actor: Any, reason: str) -> StockTransaction:
    """Set the on-hand quantity to what a stock count found; the difference is an ``adjust`` ledger row."""
    if not reason.strip():
        raise DomainError("An adjustment needs a reason (e.g. 'stock count 2026-11-01')")
    locked = _locked(lot)
    if locked.status == LotStatus.DISPOSED:
        raise ConflictError(f"Lot {locked.code} was disposed; a disposed lot is not counted again")
    converted = amount_in_lot_unit(
        chemical=locked.chemical, lot_unit=locked.quantity_unit, amount=counted, allow_zero=True
    )
    return _write(
        lot=locked,
        kind=TransactionKind.ADJUST,
        delta=converted.value - locked.quantity_on_hand,
        actor=actor,
        entered_as=converted.entered_as,
        reason=reason,
    )


@transaction.atomic
def dispose_lot(*, lot: StockLot | int, actor: Any, reason: str) -> StockTransaction:
    """Dispose of whatever is left; the lot becomes ``disposed`` and is never offered again."""
    if not reason.strip():
        raise DomainError("Disposing of a lot needs a reason")
    locked = _locked(lot)
    if locked.status == LotStatus.DISPOSED:
        raise ConflictError(f"Lot {locked.code} was already disposed")
    tx = _write(
        lot=locked, kind=TransactionKind.DISPOSE, delta=-locked.quantity_on_hand, actor=actor, reason=reason
    )
    locked.status = LotStatus.DISPOSED
    locked.save(update_fields=["status", "updated_at"])
    return tx


# --------------------------------------------------------------------------------------------- lot records


#: Lot fields a person may change directly (the quantity and the status go through the ledger and the rules).
LOT_EDITABLE_FIELDS = (
    "supplier",
    "supplier_lot_number",
    "purity",
    "received_on",
    "opened_on",
    "expires_on",
    "location",
    "container_count",
    "water_content",
    "notes",
    "certificate",
)


@transaction.atomic
def update_lot(*, lot: StockLot | int, actor: Any, reason: str = "", **changes: Any) -> StockLot:
    """Change the descriptive fields of a lot (location, dates, water content...). Never the quantity."""
    unknown = set(changes) - set(LOT_EDITABLE_FIELDS)
    if unknown:
        raise DomainError(
            f"These lot fields cannot be edited directly: {', '.join(sorted(unknown))} "
            "(the quantity changes through receive/consume/adjust/dispose)"
        )
    locked = _locked(lot)
    for name, value in changes.items():
        setattr(locked, name, value)
    for name, what in (("received_on", "The date received"), ("opened_on", "The date opened")):
        if name in changes:
            refuse_future(changes[name], what=what)
    if locked.expires_on is not None and locked.expires_on < locked.received_on:
        raise DomainError(
            f"The expiry date {locked.expires_on} is before the date received {locked.received_on}"
        )
    if locked.opened_on is not None and locked.opened_on < locked.received_on:
        raise DomainError(
            f"The date opened {locked.opened_on} is before the date received {locked.received_on}"
        )
    today = timezone.localdate()
    if locked.status == LotStatus.AVAILABLE and locked.expires_on is not None and locked.expires_on < today:
        locked.status = LotStatus.EXPIRED
    elif locked.status == LotStatus.EXPIRED and (locked.expires_on is None or locked.expires_on >= today):
        locked.status = LotStatus.AVAILABLE if locked.quantity_on_hand > 0 else LotStatus.DEPLETED
    locked._change_reason = reason or "lot details edited"  # type: ignore[attr-defined]
    locked.save()
    return locked


@transaction.atomic
def quarantine_lot(*, lot: StockLot | int, actor: Any, reason: str) -> StockLot:
    """Hold a lot back (suspected contamination, water content to check): not offered until released."""
    if not reason.strip():
        raise DomainError("Putting a lot in quarantine needs a reason")
    locked = _locked(lot)
    if locked.status in (LotStatus.DISPOSED, LotStatus.DEPLETED):
        raise ConflictError(f"Lot {locked.code} is {locked.status}: there is nothing to hold back")
    locked.status = LotStatus.QUARANTINE
    locked._change_reason = f"quarantine: {reason}"  # type: ignore[attr-defined]
    locked.save(update_fields=["status", "updated_at"])
    return locked


@transaction.atomic
def release_lot(*, lot: StockLot | int, actor: Any, reason: str) -> StockLot:
    """Release a quarantined lot for use; only a manager may, with a reason (e.g. "KF titration 12 ppm")."""
    if not reason.strip():
        raise DomainError("Releasing a lot from quarantine needs a reason")
    locked = _locked(lot)
    if locked.status != LotStatus.QUARANTINE:
        raise ConflictError(f"Lot {locked.code} is {locked.status}, not in quarantine")
    if not has_role(actor, _any_team_of(actor), Role.MANAGER):
        raise ConflictError(f"Only a manager may release lot {locked.code} from quarantine")
    expired = locked.expires_on is not None and locked.expires_on < timezone.localdate()
    if expired:
        locked.status = LotStatus.EXPIRED
    else:
        locked.status = LotStatus.AVAILABLE if locked.quantity_on_hand > 0 else LotStatus.DEPLETED
    locked._change_reason = f"released: {reason}"  # type: ignore[attr-defined]
    locked.save(update_fields=["status", "updated_at"])
    return locked


def mark_expired_lots(*, today: date | None = None) -> list[int]:
    """Mark available lots whose expiry date has passed as ``expired``; returns their ids. Idempotent.

    Each lot is locked and re-checked, so a lot changed meanwhile (re-dated, disposed) is left as it is.
    """
    today = today or timezone.localdate()
    candidates = list(
        StockLot.objects.filter(status=LotStatus.AVAILABLE, expires_on__lt=today).values_list("pk", flat=True)
    )
    marked: list[int] = []
    for pk in candidates:
        with transaction.atomic():
            lot = StockLot.objects.select_for_update().get(pk=pk)
            if lot.status == LotStatus.AVAILABLE and lot.expires_on is not None and lot.expires_on < today:
                lot.status = LotStatus.EXPIRED
                lot._change_reason = f"expired on {lot.expires_on}"  # type: ignore[attr-defined]
                lot.save(update_fields=["status", "updated_at"])
                marked.append(pk)
    return marked


# --------------------------------------------------------------------------------------------- chemicals


CHEMICAL_FIELDS = (
    "name",
    "abbreviation",
    "cas_number",
    "formula",
    "role",
    "molar_mass",
    "density",
    "theoretical_density",
    "specific_capacity",
    "moisture_sensitive",
    "store_in_glovebox",
    "light_sensitive",
    "hazard_notes",
    "low_stock_threshold",
)


def _clean_chemical_fields(fields: dict[str, Any]) -> dict[str, Any]:
    from formulations.domain.cas import CasNumberError, normalise_cas

    unknown = set(fields) - set(CHEMICAL_FIELDS)
    if unknown:
        raise DomainError(f"Unknown chemical fields: {', '.join(sorted(unknown))}")
    cleaned = dict(fields)
    if "name" in cleaned:
        cleaned["name"] = str(cleaned["name"]).strip()
        if not cleaned["name"]:
            raise DomainError("A chemical needs a name")
    if cleaned.get("cas_number"):
        try:
            cleaned["cas_number"] = normalise_cas(str(cleaned["cas_number"]))
        except CasNumberError as exc:
            raise DomainError(str(exc)) from None
    return cleaned


def _set_synonyms(chemical: Chemical, synonyms: list[str] | None, actor: Any) -> None:
    from formulations.models import ChemicalSynonym

    if synonyms is None:
        return
    wanted: dict[str, str] = {}
    for raw in synonyms:
        name = str(raw).strip()
        if name and name.lower() not in wanted:
            wanted[name.lower()] = name
    taken = (
        ChemicalSynonym.objects.filter(name_lower__in=list(wanted))
        .exclude(chemical=chemical)
        .select_related("chemical")
    )
    clashes = [f"'{s.name}' already names {s.chemical.name}" for s in taken]
    if clashes:
        raise DomainError("Synonyms must name one chemical only: " + "; ".join(clashes))
    existing = {s.name_lower: s for s in chemical.synonyms.all()}
    for lower, syn in existing.items():
        if lower not in wanted:
            syn.delete()
    for lower, name in wanted.items():
        if lower not in existing:
            ChemicalSynonym(chemical=chemical, name=name, created_by=actor).save()
        elif existing[lower].name != name:
            existing[lower].name = name
            existing[lower].save()


@transaction.atomic
def create_chemical(*, actor: Any, synonyms: list[str] | None = None, **fields: Any) -> Chemical:
    """Create a chemical; the CAS number is checked (check digit) and stored in canonical form."""
    cleaned = _clean_chemical_fields(fields)
    if Chemical.objects.filter(name__iexact=cleaned.get("name", "")).exists():
        raise ConflictError(f"A chemical named {cleaned['name']!r} already exists")
    chemical = Chemical(created_by=actor, **cleaned)
    chemical.save()
    _set_synonyms(chemical, synonyms, actor)
    return chemical


@transaction.atomic
def update_chemical(
    *, chemical: Chemical | int, actor: Any, synonyms: list[str] | None = None, **fields: Any
) -> Chemical:
    cleaned = _clean_chemical_fields(fields)
    pk = chemical.pk if isinstance(chemical, Chemical) else chemical
    locked = Chemical.objects.select_for_update().get(pk=pk)
    if "name" in cleaned and Chemical.objects.filter(name__iexact=cleaned["name"]).exclude(pk=pk).exists():
        raise ConflictError(f"A chemical named {cleaned['name']!r} already exists")
    for name, value in cleaned.items():
        setattr(locked, name, value)
    locked.save()
    _set_synonyms(locked, synonyms, actor)
    return locked


@transaction.atomic
def delete_chemical(*, chemical: Chemical | int, actor: Any) -> None:
    """Delete a chemical that no lot and no recipe uses (else refused: its history must stay readable)."""
    from django.db.models import ProtectedError

    pk = chemical.pk if isinstance(chemical, Chemical) else chemical
    target = Chemical.objects.get(pk=pk)
    try:
        target.delete()
    except ProtectedError:
        raise ConflictError(f"{target.name} is used by stock lots or recipes and cannot be deleted") from None


# --------------------------------------------------------------------------------------------- suppliers, places


@transaction.atomic
def save_supplier(*, actor: Any, supplier: Any = None, **fields: Any) -> Any:
    """Create (``supplier=None``) or update a supplier."""
    from formulations.models import Supplier

    name = str(fields.get("name", supplier.name if supplier else "")).strip()
    if not name:
        raise DomainError("A supplier needs a name")
    clash = Supplier.objects.filter(name__iexact=name)
    if supplier is not None:
        clash = clash.exclude(pk=supplier.pk)
    if clash.exists():
        raise ConflictError(f"A supplier named {name!r} already exists")
    target = supplier or Supplier(created_by=actor)
    for key, value in fields.items():
        setattr(target, key, value)
    target.name = name
    target.save()
    return target


@transaction.atomic
def save_location(*, actor: Any, location: Any = None, **fields: Any) -> Any:
    """Create (``location=None``) or update a storage location; a location cannot sit inside itself."""
    from formulations.models import StorageLocation

    target = location or StorageLocation(created_by=actor)
    for key, value in fields.items():
        setattr(target, key, value)
    target.name = str(target.name).strip()
    if not target.name:
        raise DomainError("A storage location needs a name")
    node = target.parent
    depth = 0
    while node is not None:
        if target.pk is not None and node.pk == target.pk:
            raise DomainError(f"{target.name} cannot be placed inside itself")
        node = node.parent
        depth += 1
        if depth > 10:
            raise DomainError("Storage locations nest at most 10 levels deep")
    clash = StorageLocation.objects.filter(parent=target.parent, name__iexact=target.name)
    if target.pk is not None:
        clash = clash.exclude(pk=target.pk)
    if clash.exists():
        where = f"in {target.parent}" if target.parent else "at the top level"
        raise ConflictError(f"There is already a location named {target.name!r} {where}")
    target.save()
    return target


@transaction.atomic
def delete_record(*, record: Any, actor: Any) -> None:
    """Delete a supplier or a location that nothing refers to (else refused with the reason)."""
    from django.db.models import ProtectedError

    try:
        record.delete()
    except ProtectedError:
        raise ConflictError(f"{record} is still referred to by lots or other locations") from None
