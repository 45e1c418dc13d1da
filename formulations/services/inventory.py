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


def amount_in_lot_unit(*, chemical: Chemical, lot_unit: str, amount: Any) -> Amount:
    """Convert "5 mL", "3.74 g", a number (read in the lot's unit) or a mol amount into the lot's unit (g or mL).

    Mass <-> volume goes through the chemical's density (g/mL); mol -> mass through its molar mass. Without the
    needed property the conversion is refused with a message that says which one is missing.
    """
    text = str(amount).strip()
    if isinstance(amount, int | float) and not isinstance(amount, bool):
        text = f"{amount} {lot_unit}"
    for dimension, unit in (("mass", "g"), ("volume", "mL"), ("amount", "mol")):
        try:
            q = parse_quantity(text, dimension=dimension, unit=unit, bare_number_ok=False, allow_zero=False)
        except UnitError as exc:
            if "expected " in str(exc) and ", got " in str(exc):
                continue  # another dimension: try the next one
            raise DomainError(str(exc)) from None
        return Amount(_to_lot_unit(chemical, lot_unit, dimension, q.magnitude), text)
    raise DomainError(f"expected a mass, a volume or an amount of substance, got {text!r}")


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
    override_by: Any = None,
) -> StockTransaction:
    """Apply ``delta`` to a lot that the caller has locked, and write its ledger row."""
    new_balance = lot.quantity_on_hand + delta
    if new_balance < -1e-12:
        raise ConflictError(
            f"Not enough {lot.chemical.name} in lot {lot.code}: {-delta:g} {lot.quantity_unit} requested, "
            f"{lot.quantity_on_hand:g} {lot.quantity_unit} on hand"
        )
    new_balance = max(new_balance, 0.0)
    lot.quantity_on_hand = new_balance
    if new_balance == 0.0 and lot.status == LotStatus.AVAILABLE and kind != TransactionKind.RECEIVE:
        lot.status = LotStatus.DEPLETED
    elif new_balance > 0 and lot.status == LotStatus.DEPLETED:
        lot.status = LotStatus.AVAILABLE
    lot._change_reason = reason or f"{kind} {delta:+g} {lot.quantity_unit}"  # type: ignore[attr-defined]
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
    override_reason: str = "",
) -> StockTransaction:
    """Take ``amount`` ("5 mL", "0.387 g", a number in the lot's unit) out of a lot, atomically.

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
    converted = (
        amount_in_lot_unit(chemical=locked.chemical, lot_unit=locked.quantity_unit, amount=counted)
        if str(counted).strip() not in ("0", "0.0")
        else Amount(0.0, str(counted))
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
