"""The cell page reads its records through queries compiled once per process (cells.selectors.cell_for_page,
the provenance walk, the headline results, the measurements and attachments): each read gives the same model
instances, with the same related records loaded, as the queryset it replaced, for every kind of requester.

The instances are compared whole: every attribute, every related record loaded with it (``select_related``) and
every prefetched list, recursively. The records are those of the test world (tests/world.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from cells import selectors
from cells.models import Cell
from lims.permissions import scope_to_teams
from measurements.selectors_derived import HEADLINE_NAMES, cell_headline, headline_rows
from measurements.selectors_ingest import (
    cell_page_measurement_rows,
    latest_measurements_of_cell,
)
from tests.conftest import MIXED, OUTSIDER, RESEARCHER, STAFF, VIEWER

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

KINDS = (VIEWER, RESEARCHER, STAFF, OUTSIDER, MIXED)


def dump(obj: Any, seen: frozenset[int] = frozenset()) -> Any:
    """An instance as plain data: its attributes, and what it holds of related records (loaded and prefetched)."""
    if not isinstance(obj, Model):
        return obj
    if id(obj) in seen:  # a child's link back to its parent
        return ("parent", type(obj).__name__, obj.pk)
    seen = seen | {id(obj)}
    out: dict[str, Any] = {"model": type(obj).__name__, "db": obj._state.db, "adding": obj._state.adding}
    for name, value in obj.__dict__.items():
        if name == "_state":
            out["related"] = {k: dump(v, seen) for k, v in sorted(obj._state.fields_cache.items())}
        elif name == "_prefetched_objects_cache":
            out["prefetched"] = {k: [dump(r, seen) for r in qs] for k, qs in sorted(value.items())}
        else:
            out[name] = value
    return out


def _people(world: Any) -> list[tuple[str, Any]]:
    return [(kind, world.people[kind]) for kind in KINDS]


def test_the_cell_page_reads_the_cells_the_querysets_read(world: Any, django_assert_num_queries: Any) -> None:
    seen = 0
    for kind, person in _people(world):
        for pk in (world.cell.pk, world.spare_cell.pk, 10**12):
            expected = selectors.cell_detail(user=person).filter(pk=pk).first()
            got = selectors.cell_for_page(user=person, pk=pk)
            assert dump(got) == dump(expected), (kind, pk)
            if got is not None:
                assert expected is not None
                seen += 1
                with django_assert_num_queries(0):  # the parts and state changes are held, as prefetched
                    parts = list(got.components.all())
                    assert all(part.cell is got for part in parts)
                    assert list(got.state_changes.all()) == list(expected.state_changes.all())
    assert seen >= 2 * 4  # both cells, for the viewer, researcher, staff and the mixed member


def test_the_cell_pages_other_reads_are_those_of_their_querysets(world: Any) -> None:
    cell = world.cell
    shown = {"headline": 0, "measurements": 0, "attachments": 0}
    for kind, person in _people(world):
        rank = {name: k for k, name in enumerate(HEADLINE_NAMES)}
        headline = sorted(
            scope_to_teams(headline_rows(), person)
            .filter(cell_id=cell.pk, name__in=HEADLINE_NAMES)
            .order_by("temperature", "measurement_id", "id"),
            key=lambda r: rank[r.name],
        )
        assert [dump(r) for r in cell_headline(person, cell.pk)] == [dump(r) for r in headline], kind
        measurements = list(
            scope_to_teams(cell_page_measurement_rows(), person)
            .filter(cell=cell)
            .order_by("-created_at")[:50]
        )
        got = latest_measurements_of_cell(person, cell.pk)
        assert [dump(m) for m in got] == [dump(m) for m in measurements], kind
        shown["headline"] += len(headline)
        shown["measurements"] += len(measurements)
    for pk in (world.cell.pk, world.spare_cell.pk):
        record = Cell.objects.get(pk=pk)
        expected = [dump(a) for a in selectors.attachments_of(record)]
        assert [dump(a) for a in selectors.attachment_rows(record)] == expected
        shown["attachments"] += len(expected)
    assert all(shown.values()), shown  # the world has results, measurements and a photo of its cell


def test_the_provenance_walk_keeps_to_the_requesters_teams(world: Any) -> None:
    graphs = {
        kind: selectors.provenance_up(cells=[world.cell.pk], team_ids=selectors.visible_team_ids(person))
        for kind, person in _people(world)
    }
    member_ids = {n["id"] for n in graphs[RESEARCHER]["nodes"]}
    assert {f"cell:{world.cell.pk}", f"pellet:{world.pellet.pk}", f"lot:{world.llzto_lot.pk}"} <= member_ids
    assert any(n.startswith("supplier:") for n in member_ids)  # up to the shared lots and their suppliers
    assert graphs[VIEWER] == graphs[RESEARCHER] == graphs[MIXED] == graphs[STAFF]
    assert graphs[OUTSIDER] == {"nodes": [], "edges": []}
    # from a derived property and its measurement to the same cell
    up = selectors.provenance_up(
        measurements=[world.measurement.pk],
        derived=[world.derived.pk],
        team_ids=selectors.visible_team_ids(world.people[RESEARCHER]),
    )
    ids = {n["id"] for n in up["nodes"]}
    assert {
        f"derived:{world.derived.pk}",
        f"measurement:{world.measurement.pk}",
        f"cell:{world.cell.pk}",
    } <= ids


def test_the_cell_page_answers_as_before_for_everyone(world: Any) -> None:
    for kind, person in _people(world):
        client = Client()
        client.force_login(person)
        for pk in (world.cell.pk, 10**12):
            response = client.get(reverse("cells:cell-detail", args=[pk]))
            visible = kind != OUTSIDER and pk == world.cell.pk
            assert response.status_code == (200 if visible else 404), (kind, pk)
            if visible:
                assert world.cell.code in response.content.decode()


def test_ids_beyond_the_columns_range_find_nothing_rather_than_fail(world: Any) -> None:
    """Found by the schemathesis run: ``?cell=`` beyond bigint reached PostgreSQL's cast of the id array."""
    client = Client()
    client.force_login(world.people[RESEARCHER])
    for kind in ("cell", "measurement", "derived_property"):
        response = client.get("/api/v1/provenance/lineage/", {kind: [str(2**63), str(world.cell.pk)]})
        assert response.status_code == 200, (kind, response.content[:200])
    graph = client.get("/api/v1/provenance/lineage/", {"cell": [str(10**30), str(world.cell.pk)]}).json()
    assert f"cell:{world.cell.pk}" in {n["id"] for n in graph["nodes"]}
    assert client.get("/api/v1/provenance/lineage/", {"cell": str(2**63)}).json() == {
        "nodes": [],
        "edges": [],
    }
