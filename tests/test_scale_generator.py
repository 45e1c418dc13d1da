"""The large-lab generator (``manage.py generate_lab``) at a small scale on PostgreSQL: counts, the ledger
invariant, foreign-key and team consistency, no history rows, and the refusal to mix into real data."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, models, transaction

from cells.models import Cell
from formulations.models import (
    Batch,
    BatchComponent,
    Chemical,
    Membrane,
    Pellet,
    RecipeVersion,
    StockLot,
    StockTransaction,
)
from lims.management.commands.generate_lab import (
    CYCLING_TECHNIQUES,
    GENERATOR_USERNAME,
    Counts,
    generate_lab,
    non_generated_records,
    verify_foreign_keys,
)
from measurements.models import CycleSummary, DerivedProperty, Measurement

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

SMALL = Counts.at_scale(0.002)


def _rows(sql: str, params: list[Any] | None = None) -> list[tuple[object, ...]]:
    with connection.cursor() as cur:
        cur.execute(sql, params or [])
        return list(cur.fetchall())


@pytest.fixture
def lab():  # type: ignore[no-untyped-def]
    return generate_lab(SMALL, seed=7)


def test_a_small_lab_has_the_counts_asked_for(lab) -> None:  # type: ignore[no-untyped-def]
    """At scale 0.002: 200 x 0.002 = 0.4 -> at least the 7 chemicals a cell needs; 5,000 x 0.002 = 10 lots;
    20,000 x 0.002 = 40 batches; 100,000 x 0.002 = 200 cells; 300,000 x 0.002 = 600 measurements;
    1,000,000 x 0.002 = 2,000 derived properties."""
    c = SMALL
    assert (c.chemicals, c.lots, c.batches, c.cells, c.measurements, c.derived) == (7, 10, 40, 200, 600, 2000)
    assert Chemical.objects.count() == c.chemicals
    assert StockLot.objects.count() == c.lots
    assert RecipeVersion.objects.count() == c.recipe_versions
    assert Batch.objects.count() == c.batches
    assert BatchComponent.objects.count() == c.batches * c.components_per_version
    assert Membrane.objects.count() == c.membranes
    assert Pellet.objects.count() == c.pellets
    assert Cell.objects.count() == c.cells
    assert Measurement.objects.count() == c.measurements
    assert DerivedProperty.objects.count() == c.derived
    cycling = Measurement.objects.filter(technique__in=CYCLING_TECHNIQUES).count()
    assert CycleSummary.objects.count() == cycling * c.cycles_per_cycling_measurement
    # ledger = one receipt per lot + one draw per batch component + one per pellet + the disposals
    disposals = StockTransaction.objects.filter(kind="dispose").count()
    assert (
        StockTransaction.objects.count()
        == c.lots + c.batches * c.components_per_version + c.pellets + disposals
    )
    assert lab.rows["formulations_stocktransaction"] == StockTransaction.objects.count()


def test_every_lot_ledger_sums_to_its_quantity_on_hand_and_never_goes_negative(lab) -> None:  # type: ignore[no-untyped-def]
    mismatched = _rows(
        """
        SELECT l.id, l.quantity_on_hand, sum(t.quantity)
        FROM formulations_stocklot l JOIN formulations_stocktransaction t ON t.lot_id = l.id
        GROUP BY l.id HAVING abs(l.quantity_on_hand - sum(t.quantity)) > 1e-6
        """
    )
    assert mismatched == []
    # balance_after is the running sum in id order, never negative, and the first row of a lot is its receipt
    bad_running = _rows(
        """
        SELECT id FROM (
            SELECT id, kind, balance_after,
                   sum(quantity) OVER (PARTITION BY lot_id ORDER BY id) AS running,
                   row_number() OVER (PARTITION BY lot_id ORDER BY id) AS n
            FROM formulations_stocktransaction) x
        WHERE abs(running - balance_after) > 1e-6 OR balance_after < 0 OR (n = 1 AND kind <> 'receive')
        """
    )
    assert bad_running == []
    last_balance_differs = _rows(
        """
        SELECT l.id FROM formulations_stocklot l
        JOIN LATERAL (SELECT balance_after FROM formulations_stocktransaction t
                      WHERE t.lot_id = l.id ORDER BY id DESC LIMIT 1) last ON true
        WHERE abs(last.balance_after - l.quantity_on_hand) > 1e-9
        """
    )
    assert last_balance_differs == []
    assert not StockLot.objects.filter(status="depleted", quantity_on_hand__gt=0).exists()
    assert not StockLot.objects.filter(status="disposed", quantity_on_hand__gt=0).exists()


def test_every_draw_comes_from_a_lot_of_the_component_chemical_received_before_it(lab) -> None:  # type: ignore[no-untyped-def]
    wrong_chemical = _rows(
        """
        SELECT bc.id FROM formulations_batchcomponent bc
        JOIN formulations_recipecomponent rc ON rc.id = bc.recipe_component_id
        JOIN formulations_stocklot l ON l.id = bc.lot_id
        JOIN formulations_stocktransaction t ON t.id = bc.transaction_id
        WHERE rc.chemical_id <> l.chemical_id OR t.lot_id <> bc.lot_id OR t.batch_id <> bc.batch_id
           OR abs(t.quantity + bc.actual_amount) > 1e-9
        """
    )
    assert wrong_chemical == []
    before_receipt = _rows(
        """
        SELECT t.id FROM formulations_stocktransaction t
        JOIN formulations_stocktransaction r ON r.lot_id = t.lot_id AND r.kind = 'receive'
        WHERE t.kind <> 'receive' AND t.created_at < r.created_at
        """
    )
    assert before_receipt == []


def test_cells_measurements_and_properties_stay_inside_their_team(lab) -> None:  # type: ignore[no-untyped-def]
    crossing = _rows(
        """
        SELECT c.id FROM cells_cell c
        LEFT JOIN formulations_membrane m ON m.id = c.membrane_id
        LEFT JOIN formulations_pellet p ON p.id = c.pellet_id
        LEFT JOIN formulations_electrode e ON e.id = c.cathode_id
        WHERE coalesce(m.team_id, p.team_id) <> c.team_id OR (e.id IS NOT NULL AND e.team_id <> c.team_id)
        """
    )
    assert crossing == []
    assert (
        _rows(
            """
        SELECT ms.id FROM measurements_measurement ms
        JOIN cells_cell c ON c.id = ms.cell_id
        JOIN measurements_upload u ON u.id = ms.upload_id
        WHERE ms.team_id <> c.team_id OR u.team_id <> c.team_id OR u.cell_id <> ms.cell_id
        """
        )
        == []
    )
    assert (
        _rows(
            """
        SELECT d.id FROM measurements_derivedproperty d
        JOIN measurements_measurement ms ON ms.id = d.measurement_id
        WHERE d.cell_id <> ms.cell_id OR d.team_id <> ms.team_id
           OR d.subject_key <> 'measurement:' || ms.id::text
        """
        )
        == []
    )
    assert Cell.objects.filter(configuration="full", cathode__isnull=True).count() == 0


def test_a_derived_property_names_the_electrolyte_and_pellets_their_theoretical_density(lab) -> None:  # type: ignore[no-untyped-def]
    """As derive.upsert writes them: the cell's membrane or pellet on every property (the recipe, filler and
    electrolyte filters of the derived lists depend on it); and relative density = geometric / theoretical of the
    pellet's powder (the pellet page divides by the chemical's theoretical density)."""
    assert (
        _rows(
            """
        SELECT d.id FROM measurements_derivedproperty d JOIN cells_cell c ON c.id = d.cell_id
        WHERE d.membrane_id IS DISTINCT FROM c.membrane_id OR d.pellet_id IS DISTINCT FROM c.pellet_id
        """
        )
        == []
    )
    assert DerivedProperty.objects.filter(membrane__isnull=False).exists()
    assert DerivedProperty.objects.filter(pellet__isnull=False).exists()
    inconsistent = _rows(
        """
        SELECT p.id FROM formulations_pellet p JOIN formulations_stocklot l ON l.id = p.lot_id
        JOIN formulations_chemical ch ON ch.id = l.chemical_id
        WHERE ch.theoretical_density IS NULL
           OR abs(p.relative_density - p.geometric_density / ch.theoretical_density) > 1e-9
        """
    )
    assert inconsistent == []


def test_generated_rows_have_no_history_rows(lab) -> None:  # type: ignore[no-untyped-def]
    """History starts at the first real change: bulk writes bypass simple-history on purpose."""
    for model in (
        Chemical,
        StockLot,
        StockTransaction,
        Batch,
        Cell,
        Measurement,
        DerivedProperty,
        CycleSummary,
    ):
        assert model.history.count() == 0, model.__name__  # type: ignore[attr-defined]


def test_records_created_after_the_generator_get_fresh_ids(lab) -> None:  # type: ignore[no-untyped-def]
    """The identity sequences were moved past the generated ids, so the ORM can insert again."""
    highest = Chemical.objects.order_by("-pk").values_list("pk", flat=True).first()
    new = Chemical.objects.create(name="freshly bought salt")
    assert highest is not None and new.pk > highest


def test_the_foreign_key_check_finds_a_dangling_reference(lab) -> None:  # type: ignore[no-untyped-def]
    """With the per-row triggers off during the load, the set-based check is what guarantees FK validity:
    prove it catches a cell pointing at a membrane that does not exist."""
    first: dict[type[models.Model], int] = {Cell: 0}
    assert verify_foreign_keys(first) >= SMALL.cells  # every cell has an operator, team and electrolyte
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")
            cur.execute(
                "UPDATE cells_cell SET membrane_id = 987654321 "
                "WHERE id = (SELECT min(id) FROM cells_cell WHERE membrane_id IS NOT NULL)"
            )
        with pytest.raises(RuntimeError, match="cells_cell.membrane_id: 1 dangling"):
            verify_foreign_keys(first)
        transaction.set_rollback(True)


def test_the_command_refuses_a_database_holding_real_records_unless_forced(db) -> None:  # type: ignore[no-untyped-def]
    Chemical.objects.create(name="a real bottle of LiFSI")
    assert non_generated_records() == {"formulations.Chemical": 1}
    with pytest.raises(CommandError, match="refusing to mix generated data into real data"):
        call_command("generate_lab", "--scale", "0.0005", "--no-analyze")
    assert Cell.objects.count() == 0
    call_command("generate_lab", "--scale", "0.0005", "--no-analyze", "--force")
    assert Cell.objects.filter(created_by__username=GENERATOR_USERNAME).count() == 50


def test_a_second_run_needs_its_own_tag(db) -> None:  # type: ignore[no-untyped-def]
    call_command("generate_lab", "--scale", "0.0005", "--no-analyze")
    with pytest.raises(CommandError, match="already here; pass another --tag"):
        call_command("generate_lab", "--scale", "0.0005", "--no-analyze")
    call_command("generate_lab", "--scale", "0.0005", "--no-analyze", "--tag", "b")
    assert Cell.objects.count() == 100
