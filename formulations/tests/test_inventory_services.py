"""The stock ledger services: conversions, refusals, the rules on expired/quarantined lots, and the invariants
(on-hand = sum of the ledger, never negative) that every change keeps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from formulations import selectors_inventory as selectors
from formulations.models import LotStatus, StockLot, StockTransaction, TransactionKind
from formulations.services import inventory as services
from formulations.tests.test_inventory_fixtures import *  # noqa: F403  (fixtures)
from lims.errors import ConflictError, DomainError

pytestmark = pytest.mark.django_db


def assert_ledger_matches(lot: StockLot) -> None:
    lot.refresh_from_db()
    assert lot.quantity_on_hand >= 0
    assert lot.quantity_on_hand == pytest.approx(selectors.ledger_sum(lot), abs=1e-9)


# --------------------------------------------------------------------------------------------- receive


def test_a_received_mass_keeps_the_lot_in_grams_with_one_receive_row(lifsi, researcher, aladdin, shelf):
    lot = services.receive_lot(
        chemical=lifsi, quantity="25 g", actor=researcher, supplier=aladdin, location=shelf
    )
    assert (lot.quantity_unit, lot.quantity_on_hand, lot.status) == ("g", 25.0, "available")
    rows = list(lot.transactions.all())
    assert [(r.kind, r.quantity, r.balance_after, r.actor) for r in rows] == [
        ("receive", 25.0, 25.0, researcher)
    ]
    assert lot.code.startswith("L-")
    assert_ledger_matches(lot)


def test_a_received_volume_keeps_the_lot_in_millilitres(tetraglyme, researcher):
    lot = services.receive_lot(chemical=tetraglyme, quantity="0.1 L", actor=researcher)
    assert (lot.quantity_unit, lot.quantity_on_hand) == ("mL", pytest.approx(100.0))


def test_receiving_a_lot_already_past_its_expiry_date_marks_it_expired(lifsi, researcher):
    yesterday = timezone.localdate() - timedelta(days=1)
    lot = services.receive_lot(
        chemical=lifsi,
        quantity="5 g",
        actor=researcher,
        received_on=yesterday - timedelta(days=5),
        expires_on=yesterday,
    )
    assert lot.status == LotStatus.EXPIRED


def test_an_expiry_date_before_the_date_received_is_refused(lifsi, researcher):
    today = timezone.localdate()
    with pytest.raises(DomainError, match="before the date received"):
        services.receive_lot(
            chemical=lifsi,
            quantity="5 g",
            actor=researcher,
            received_on=today,
            expires_on=today - timedelta(days=1),
        )
    assert StockLot.objects.count() == 0


def test_receiving_a_temperature_is_refused_with_the_unit_message(lifsi, researcher):
    with pytest.raises(DomainError, match="expected a mass, a volume or an amount of substance"):
        services.receive_lot(chemical=lifsi, quantity="25 degC", actor=researcher, quantity_unit="g")


# --------------------------------------------------------------------------------------------- conversions


def test_consuming_5_ml_from_a_lot_kept_in_grams_converts_through_the_density(tetraglyme, researcher):
    """100 g of G4 (rho = 1.009 g/mL); 5 mL = 5 x 1.009 = 5.045 g; 100 - 5.045 = 94.955 g left."""
    lot = services.receive_lot(chemical=tetraglyme, quantity="100 g", actor=researcher)
    tx = services.consume_from_lot(lot=lot, amount="5 mL", actor=researcher, purpose="PMA precursor")
    assert tx.quantity == pytest.approx(-5.045)
    assert tx.entered_as == "5 mL"
    lot.refresh_from_db()
    assert lot.quantity_on_hand == pytest.approx(94.955)
    assert_ledger_matches(lot)


def test_consuming_a_mass_from_a_lot_kept_in_millilitres_divides_by_the_density(tetraglyme, researcher):
    """100 mL of G4; 10.09 g / 1.009 g/mL = 10 mL; 90 mL left."""
    lot = services.receive_lot(chemical=tetraglyme, quantity="100 mL", actor=researcher)
    services.consume_from_lot(lot=lot, amount="10.09 g", actor=researcher)
    lot.refresh_from_db()
    assert lot.quantity_on_hand == pytest.approx(90.0)


def test_consuming_an_amount_of_substance_goes_through_the_molar_mass(lifsi, researcher):
    """LiFSI, M = 187.07 g/mol: 20 mmol = 0.020 x 187.07 = 3.7414 g."""
    lot = services.receive_lot(chemical=lifsi, quantity="25 g", actor=researcher)
    tx = services.consume_from_lot(lot=lot, amount="20 mmol", actor=researcher)
    assert tx.quantity == pytest.approx(-3.7414)


def test_a_volume_of_a_chemical_without_density_is_refused_with_a_clear_message(lifsi, researcher):
    lot = services.receive_lot(chemical=lifsi, quantity="25 g", actor=researcher)
    with pytest.raises(DomainError, match="has no density recorded, so a volume cannot be converted"):
        services.consume_from_lot(lot=lot, amount="5 mL", actor=researcher)
    lot.refresh_from_db()
    assert lot.quantity_on_hand == 25.0
    assert lot.transactions.count() == 1


def test_a_bare_number_is_read_in_the_lots_own_unit(lifsi, researcher):
    lot = services.receive_lot(chemical=lifsi, quantity="25 g", actor=researcher)
    services.consume_from_lot(lot=lot, amount="2.5", actor=researcher)
    lot.refresh_from_db()
    assert lot.quantity_on_hand == pytest.approx(22.5)


@pytest.mark.parametrize("amount", ["-1 g", "0 g", "3 cm", ""])
def test_negative_zero_and_wrong_dimension_amounts_are_refused(lifsi, researcher, amount):
    lot = services.receive_lot(chemical=lifsi, quantity="25 g", actor=researcher)
    with pytest.raises(DomainError):
        services.consume_from_lot(lot=lot, amount=amount, actor=researcher)
    assert_ledger_matches(lot)
    assert lot.quantity_on_hand == 25.0


# --------------------------------------------------------------------------------------------- refusals


def test_consuming_more_than_on_hand_is_refused_and_changes_nothing(lifsi, researcher):
    lot = services.receive_lot(chemical=lifsi, quantity="5 g", actor=researcher)
    with pytest.raises(ConflictError, match=r"Not enough .* 6 g requested, 5 g on hand"):
        services.consume_from_lot(lot=lot, amount="6 g", actor=researcher)
    lot.refresh_from_db()
    assert lot.quantity_on_hand == 5.0
    assert lot.transactions.count() == 1


def test_a_lot_consumed_to_zero_is_depleted_and_a_return_makes_it_available_again(lifsi, researcher):
    lot = services.receive_lot(chemical=lifsi, quantity="5 g", actor=researcher)
    services.consume_from_lot(lot=lot, amount="5 g", actor=researcher)
    lot.refresh_from_db()
    assert (lot.quantity_on_hand, lot.status) == (0.0, LotStatus.DEPLETED)
    with pytest.raises(ConflictError, match="is depleted"):
        services.consume_from_lot(lot=lot, amount="1 g", actor=researcher)
    services.return_to_lot(lot=lot, amount="0.5 g", actor=researcher, reason="weighed out too much")
    lot.refresh_from_db()
    assert (lot.quantity_on_hand, lot.status) == (0.5, LotStatus.AVAILABLE)
    assert_ledger_matches(lot)


def test_an_adjustment_sets_the_counted_quantity_and_needs_a_reason(lifsi, researcher):
    """25 g on the books, 24.2 g counted: an adjust row of 24.2 - 25 = -0.8 g."""
    lot = services.receive_lot(chemical=lifsi, quantity="25 g", actor=researcher)
    with pytest.raises(DomainError, match="needs a reason"):
        services.adjust_lot(lot=lot, counted="24.2 g", actor=researcher, reason=" ")
    tx = services.adjust_lot(lot=lot, counted="24.2 g", actor=researcher, reason="stock count")
    assert (tx.kind, tx.quantity) == (TransactionKind.ADJUST, pytest.approx(-0.8))
    tx = services.adjust_lot(lot=lot, counted="0 g", actor=researcher, reason="container found empty")
    lot.refresh_from_db()
    assert (lot.quantity_on_hand, lot.status) == (0.0, LotStatus.DEPLETED)
    assert_ledger_matches(lot)


def test_disposing_writes_off_the_rest_and_the_lot_is_never_offered_again(lifsi, researcher):
    lot = services.receive_lot(chemical=lifsi, quantity="25 g", actor=researcher)
    tx = services.dispose_lot(lot=lot, actor=researcher, reason="turned yellow")
    assert tx.quantity == -25.0
    lot.refresh_from_db()
    assert (lot.quantity_on_hand, lot.status) == (0.0, LotStatus.DISPOSED)
    assert lot not in selectors.usable_lots(lifsi)
    for action in (
        lambda: services.consume_from_lot(lot=lot, amount="1 g", actor=researcher),
        lambda: services.return_to_lot(lot=lot, amount="1 g", actor=researcher),
        lambda: services.dispose_lot(lot=lot, actor=researcher, reason="again"),
        lambda: services.adjust_lot(lot=lot, counted="3 g", actor=researcher, reason="found some"),
    ):
        with pytest.raises(ConflictError):
            action()
    assert_ledger_matches(lot)


# --------------------------------------------------------------------------------------------- expired/quarantine


@pytest.fixture
def expired_lot(lifsi, researcher):
    today = timezone.localdate()
    return services.receive_lot(
        chemical=lifsi,
        quantity="10 g",
        actor=researcher,
        received_on=today - timedelta(days=400),
        expires_on=today - timedelta(days=1),
    )


def test_an_expired_lot_is_not_offered_and_consuming_it_without_override_is_refused(
    expired_lot, lifsi, researcher
):
    assert expired_lot not in selectors.usable_lots(lifsi)
    with pytest.raises(ConflictError, match="is expired: using it needs a manager and a reason"):
        services.consume_from_lot(lot=expired_lot, amount="1 g", actor=researcher)


def test_a_researcher_cannot_override_the_expiry(expired_lot, researcher):
    with pytest.raises(ConflictError, match="only a manager may use it"):
        services.consume_from_lot(
            lot=expired_lot, amount="1 g", actor=researcher, override_reason="still dry"
        )
    assert_ledger_matches(expired_lot)
    assert expired_lot.quantity_on_hand == 10.0


def test_a_manager_may_use_an_expired_lot_with_a_reason_recorded_in_the_ledger(expired_lot, manager):
    tx = services.consume_from_lot(
        lot=expired_lot,
        amount="1 g",
        actor=manager,
        reason="test cell",
        override_reason="KF 8 ppm, still dry",
    )
    assert tx.override_by == manager
    assert "override: KF 8 ppm, still dry" in tx.reason
    assert_ledger_matches(expired_lot)


def test_a_quarantined_lot_needs_a_manager_to_use_or_to_release(lifsi, researcher, manager):
    lot = services.receive_lot(chemical=lifsi, quantity="10 g", actor=researcher, status=LotStatus.QUARANTINE)
    assert lot not in selectors.usable_lots(lifsi)
    with pytest.raises(ConflictError, match="in quarantine"):
        services.consume_from_lot(lot=lot, amount="1 g", actor=researcher)
    with pytest.raises(ConflictError, match="Only a manager"):
        services.release_lot(lot=lot, actor=researcher, reason="KF ok")
    services.release_lot(lot=lot, actor=manager, reason="KF titration 12 ppm")
    lot.refresh_from_db()
    assert lot.status == LotStatus.AVAILABLE
    assert lot in selectors.usable_lots(lifsi)
    assert lot.history.latest().history_change_reason == "released: KF titration 12 ppm"


def test_the_database_check_constraint_refuses_a_negative_quantity_even_bypassing_the_service(
    lifsi, researcher
):
    lot = services.receive_lot(chemical=lifsi, quantity="1 g", actor=researcher)
    with pytest.raises(IntegrityError, match="lot_quantity_never_negative"), transaction.atomic():
        StockLot.objects.filter(pk=lot.pk).update(quantity_on_hand=-0.5)
    lot.refresh_from_db()
    assert lot.quantity_on_hand == 1.0


def test_every_change_keeps_on_hand_equal_to_the_ledger_sum(tetraglyme, researcher, manager):
    """500 g; -5 mL (5.045 g); -12.5 g; +2 g back; counted 480 g; -3 mmol (3 x 0.22228 g = 0.66684 g)."""
    lot = services.receive_lot(chemical=tetraglyme, quantity="500 g", actor=researcher)
    services.consume_from_lot(lot=lot, amount="5 mL", actor=researcher)
    services.consume_from_lot(lot=lot, amount="12.5 g", actor=researcher)
    services.return_to_lot(lot=lot, amount="2 g", actor=researcher)
    services.adjust_lot(lot=lot, counted="480 g", actor=manager, reason="stock count")
    services.consume_from_lot(lot=lot, amount="3 mmol", actor=researcher)
    lot.refresh_from_db()
    assert lot.quantity_on_hand == pytest.approx(480 - 0.66684)
    assert_ledger_matches(lot)
    balances = list(
        StockTransaction.objects.filter(lot=lot).order_by("id").values_list("balance_after", flat=True)
    )
    assert balances[-1] == pytest.approx(lot.quantity_on_hand)


def test_editing_a_lot_never_touches_its_quantity(lifsi, researcher, shelf):
    lot = services.receive_lot(chemical=lifsi, quantity="10 g", actor=researcher)
    with pytest.raises(DomainError, match="cannot be edited directly: quantity_on_hand"):
        services.update_lot(lot=lot, actor=researcher, quantity_on_hand=99.0)
    services.update_lot(
        lot=lot, actor=researcher, location=shelf, water_content=12.0, reason="moved to the box"
    )
    lot.refresh_from_db()
    assert (lot.location, lot.water_content, lot.quantity_on_hand) == (shelf, 12.0, 10.0)


# --------------------------------------------------------------------------------------------- chemicals


def test_a_chemical_with_a_wrong_cas_check_digit_is_refused(researcher):
    with pytest.raises(DomainError, match="check digit should be 8"):
        services.create_chemical(actor=researcher, name="Tetraglyme", cas_number="143-24-9")


@pytest.mark.parametrize("text", ["NMMA", "nmmam", "N-methyl methacrylamide", "3887-02-3", "Methylmethacryl"])
def test_every_name_of_nmmam_finds_the_same_record(nmma, tetraglyme, text):
    assert list(selectors.find_chemicals(text)) == [nmma]


def test_a_synonym_may_name_one_chemical_only(nmma, tetraglyme, researcher):
    with pytest.raises(DomainError, match="'NMMA' already names N-Methylmethacrylamide"):
        services.update_chemical(chemical=tetraglyme, actor=researcher, synonyms=["G4", "nmma"])


def test_a_chemical_used_by_a_lot_cannot_be_deleted(lifsi, researcher):
    services.receive_lot(chemical=lifsi, quantity="1 g", actor=researcher)
    with pytest.raises(ConflictError, match="cannot be deleted"):
        services.delete_chemical(chemical=lifsi, actor=researcher)


def test_low_stock_counts_available_lots_and_volumes_through_the_density(lifsi, tetraglyme, researcher):
    """LiFSI threshold 10 g: 6 g available + 50 g quarantined -> low. G4 threshold 100 g:
    90 mL x 1.009 = 90.81 g + 10 g = 100.81 g -> not low."""
    services.receive_lot(chemical=lifsi, quantity="6 g", actor=researcher)
    services.receive_lot(chemical=lifsi, quantity="50 g", actor=researcher, status=LotStatus.QUARANTINE)
    services.update_chemical(chemical=tetraglyme, actor=researcher, low_stock_threshold=100.0)
    services.receive_lot(chemical=tetraglyme, quantity="90 mL", actor=researcher)
    services.receive_lot(chemical=tetraglyme, quantity="10 g", actor=researcher)
    low = list(selectors.low_stock_chemicals())
    assert low == [lifsi]
    assert low[0].on_hand_g == pytest.approx(6.0)  # type: ignore[attr-defined]
    g4 = selectors.chemical_detail(tetraglyme.pk)
    assert g4.on_hand_g == pytest.approx(100.81)  # type: ignore[attr-defined]


def test_a_location_cannot_be_moved_inside_itself(shelf, researcher):
    building = shelf.parent.parent.parent
    with pytest.raises(DomainError, match="inside itself"):
        services.save_location(actor=researcher, location=building, parent=shelf)
