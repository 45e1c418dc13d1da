"""Concurrent consumptions of one lot on PostgreSQL: the row lock serialises them, so the final quantity is exact,
never negative, the ledger sums to it, and every refused request got a clear reason."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from formulations import selectors_inventory as selectors
from formulations.models import LotStatus, StockLot, StockTransaction, TransactionKind
from formulations.services import inventory as services
from lims.errors import ConflictError

TRIES = 50


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_consumptions_exceeding_the_stock_end_exact_and_never_negative(capsys):
    """100 g on hand, 50 requests of 3 g each (150 g asked): 33 x 3 = 99 g can be given, 17 are refused,
    1 g stays; the ledger is 100 - 33 x 3 = 1 g."""
    from lims.models import Membership, Team, User

    team = Team.objects.create(name="Concurrency", slug="concurrency")
    user = User.objects.create_user(username="conc", password="x")
    Membership.objects.create(user=user, team=team, role="researcher")
    chemical = services.create_chemical(actor=user, name="LiFSI (concurrency)", molar_mass=187.07)
    lot = services.receive_lot(chemical=chemical, quantity="100 g", actor=user)

    barrier = threading.Barrier(TRIES)
    outcomes: list[tuple[str, str]] = []
    lock = threading.Lock()

    def consume(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            try:
                services.consume_from_lot(lot=lot.pk, amount="3 g", actor=user, purpose=f"try {i}")
                result = ("accepted", "")
            except ConflictError as exc:
                result = ("refused", str(exc))
            except Exception as exc:  # anything else is a failure of the test, reported below
                result = ("error", f"{type(exc).__name__}: {exc}")
            with lock:
                outcomes.append(result)
        finally:
            connection.close()  # each thread had its own connection

    with ThreadPoolExecutor(max_workers=TRIES) as pool:
        list(pool.map(consume, range(TRIES)))

    accepted = [o for o in outcomes if o[0] == "accepted"]
    refused = [o for o in outcomes if o[0] == "refused"]
    errors = [o for o in outcomes if o[0] == "error"]
    with capsys.disabled():
        print(
            f"\nconcurrency: tries={TRIES} accepted={len(accepted)} refused={len(refused)} errors={len(errors)}"
        )
    assert errors == []
    assert (len(accepted), len(refused)) == (33, 17)
    assert all(
        msg.startswith("Not enough LiFSI (concurrency) in lot") and "3 g requested" in msg
        for _, msg in refused
    )
    assert all("1 g on hand" in msg for _, msg in refused)

    final = StockLot.objects.get(pk=lot.pk)
    assert final.quantity_on_hand == pytest.approx(1.0, abs=1e-9)
    assert final.quantity_on_hand >= 0
    assert final.status == LotStatus.AVAILABLE
    assert selectors.ledger_sum(final) == pytest.approx(final.quantity_on_hand, abs=1e-9)
    consumes = StockTransaction.objects.filter(lot=final, kind=TransactionKind.CONSUME)
    assert consumes.count() == 33
    # the balances form one chain: each row saw the balance the previous one left
    balances = sorted(consumes.values_list("balance_after", flat=True), reverse=True)
    assert balances == pytest.approx([100 - 3 * k for k in range(1, 34)])
