"""A shared lot's ledger is everyone's; what a draw was for is its team's.

A draw into a batch, a pellet or a cell records that team (``StockTransaction.for_team``). Its reason and purpose
name the record ("LiFSI for batch SECA-B1 (PMA v1)"), so anyone outside the team but staff reads the row with its
amount, balance, time and who drew it, and ``OTHER_TEAMS_DRAW`` for what it was for, in the API (the ledger, one
row, a lot's ledger) and on the lot's page; the lot's own history, shown on that page, says only what changed.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from cells.tests import factories as f
from formulations.models import StockTransaction
from formulations.selectors_inventory import OTHER_TEAMS_DRAW
from formulations.services import synthesis
from tests.conftest import MIXED, OUTSIDER, RESEARCHER, STAFF, VIEWER
from tests.world import MARKER

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _draw_of_batch(world: Any) -> StockTransaction:
    return StockTransaction.objects.get(lot=world.lot, purpose__contains=world.batch.code)


def test_draws_into_team_records_carry_the_team_and_others_do_not(world: Any) -> None:
    team = world.team
    assert _draw_of_batch(world).for_team_id == team.pk
    pellet = synthesis.make_pellet(
        team=team, lot=world.llzto_lot, powder_mass="0.6 g", press_pressure="300 MPa",
        sinter_temperature="1180 C", sinter_dwell="6 h", final_diameter="10 mm", final_thickness="1.5 mm",
        final_mass="0.5 g", actor=world.people[RESEARCHER],
    )  # fmt: skip
    assert pellet.transaction is not None and pellet.transaction.for_team_id == team.pk
    cell = f.symmetric_cell(
        team=team, user=world.people[RESEARCHER], membrane_=world.membrane, li=world.li_lot
    )
    foil = cell.components.exclude(transaction=None).first()
    assert foil is not None and foil.transaction is not None and foil.transaction.for_team_id == team.pk
    assert not StockTransaction.objects.filter(kind="receive").exclude(for_team=None).exists()


def _ledger(client: Client, world: Any) -> dict[int, dict[str, Any]]:
    rows = client.get("/api/v1/stock-transactions/", {"lot": world.lot.pk}).json()["results"]
    return {r["id"]: r for r in rows}


def test_outsiders_read_the_amounts_but_not_what_a_team_drew_them_for(world: Any) -> None:
    draw = _draw_of_batch(world)
    for kind in (VIEWER, RESEARCHER, STAFF, OUTSIDER, MIXED):
        client = Client()
        client.force_login(world.people[kind])
        listed = _ledger(client, world)[draw.pk]
        one = client.get(reverse("stock-transaction-detail", args=[draw.pk])).json()
        of_lot = {
            r["id"]: r for r in client.get(reverse("lot-transactions", args=[world.lot.pk])).json()["results"]
        }[draw.pk]
        page = client.get(reverse("formulations:lot-detail", args=[world.lot.pk])).content.decode()
        for row in (listed, one, of_lot):
            assert row.get("quantity") == draw.quantity and row["balance_after"] == draw.balance_after, (
                kind,
                row,
            )
            if kind == OUTSIDER:
                assert (row["purpose"], row["reason"], row["batch"]) == (OTHER_TEAMS_DRAW, "", None), kind
            else:
                assert (row["purpose"], row["reason"], row["batch"]) == (
                    draw.purpose,
                    draw.reason,
                    draw.batch_id,
                )
        if kind == OUTSIDER:
            assert MARKER not in page
            assert escape(OTHER_TEAMS_DRAW) in page
        else:
            assert world.batch.code in page


def test_the_lots_history_says_what_changed_not_what_for(world: Any) -> None:
    reasons = [h.history_change_reason or "" for h in world.lot.history.all()]
    assert reasons and not any(MARKER in r for r in reasons)
    assert any(r.startswith("consume -0.5 g") for r in reasons)


def test_the_migration_gives_existing_draws_their_team(world: Any) -> None:
    from importlib import import_module

    migration = import_module("formulations.migrations.0006_ledger_for_team")
    cell = f.symmetric_cell(
        team=world.team, user=world.people[RESEARCHER], membrane_=world.membrane, li=world.li_lot
    )
    foil: Any = cell.components.exclude(transaction=None).values_list("transaction_id", flat=True).first()
    pellet: Any = synthesis.make_pellet(
        team=world.team, lot=world.llzto_lot, powder_mass="0.6 g", press_pressure="300 MPa",
        sinter_temperature="1180 C", sinter_dwell="6 h", final_diameter="10 mm", final_thickness="1.5 mm",
        final_mass="0.5 g", actor=world.people[RESEARCHER],
    ).transaction_id  # fmt: skip
    before = dict(StockTransaction.objects.values_list("pk", "for_team_id"))
    assert before[_draw_of_batch(world).pk] == before[foil] == before[pellet] == world.team.pk
    StockTransaction.objects.update(for_team=None)
    migration.team_of_each_draw(apps, None)
    assert dict(StockTransaction.objects.values_list("pk", "for_team_id")) == before


def test_the_ledger_is_not_filtered_by_another_teams_batch(world: Any) -> None:
    draw = _draw_of_batch(world)
    for kind in (RESEARCHER, STAFF, OUTSIDER):
        client = Client()
        client.force_login(world.people[kind])
        response = client.get("/api/v1/stock-transactions/", {"batch": world.batch.pk})
        if kind == OUTSIDER:  # as for an id that does not exist: not one of the choices
            assert response.status_code == 400, response.content[:200]
        else:
            assert response.status_code == 200
            assert draw.pk in {r["id"] for r in response.json()["results"]}
        assert client.get("/api/v1/stock-transactions/", {"batch": 10**9}).status_code == 400
