"""The provenance graph in both directions, on a dataset with several batches, membranes and cells, with the
number of SQL queries asserted to stay flat when the dataset grows five-fold."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cells import selectors
from cells.tests import factories as f
from formulations.models import BatchComponent, ChemicalRole
from measurements.models import DerivedProperty, Measurement, Upload

pytestmark = pytest.mark.django_db


def _measurement(cell: Any, user: Any, technique: str = "PEIS") -> Measurement:
    k = f.n()
    upload = Upload.objects.create(
        team=cell.team,
        sha256=f"{k:064d}",
        raw_file=f"raw/{k}.mpr",
        original_name=f"{k}.mpr",
        size_bytes=10,
        cell=cell,
        uploaded_by=user,
    )
    return Measurement.objects.create(
        team=cell.team,
        upload=upload,
        cell=cell,
        technique=technique,
        source_format="biologic-mpr",
        temperature=20,
    )


def build_dataset(team: Any, user: Any, *, scale: int) -> dict[str, Any]:
    """``scale`` batches, each drawing LiFSI (one shared lot) and a tetraglyme lot of its own, each cast into two
    membranes, each membrane built into two symmetric cells with one EIS measurement and one derived property;
    plus ``scale`` pellets from one LLZTO lot, each in a blocking cell, and ``scale`` LFP full cells."""
    lifsi = f.lot(user=user, chem=f.chemical("LiFSI", role=ChemicalRole.SALT), supplier=f.supplier("Aladdin"))
    llzto = f.lot(user=user, chem=f.chemical("LLZTO", role=ChemicalRole.CERAMIC_FILLER))
    lfp = f.lot(user=user, chem=f.chemical("LiFePO4", role=ChemicalRole.CATHODE_ACTIVE))
    li = f.li_foil_lot(user=user, quantity="100 g")
    version = f.recipe_version(team=team, user=user, name=f"LLZTO-PMA {f.n()}", filler_fraction=0.2)
    data: dict[str, Any] = {
        "lifsi": lifsi,
        "llzto": llzto,
        "li": li,
        "cells": [],
        "batches": [],
        "membranes": [],
    }
    for _ in range(scale):
        g4 = f.lot(user=user, chem=f.chemical("tetraglyme", role=ChemicalRole.SOLVENT))
        b = f.batch(team=team, user=user, version=version, lots=[lifsi, g4])
        data["batches"].append(b)
        for _ in range(2):
            m = f.membrane(team=team, user=user, b=b, filler_fraction=0.2)
            data["membranes"].append(m)
            for _ in range(2):
                cell = f.symmetric_cell(team=team, user=user, membrane_=m, li=li)
                meas = _measurement(cell, user)
                DerivedProperty.objects.create(
                    team=team,
                    subject_key=f"measurement:{meas.pk}",
                    name="interfacial_resistance",
                    value=472.0,
                    unit="ohm",
                    method="eis_fit",
                    method_version="1",
                    measurement=meas,
                    cell=cell,
                )
                data["cells"].append(cell)
        p = f.pellet(team=team, user=user, powder=llzto)
        data["cells"].append(f.blocking_cell(team=team, user=user, pellet_=p))
        e = f.electrode(team=team, user=user, active=lfp)
        from cells.models import Configuration
        from cells.services import CellSpec, assemble_cell, standard_components

        full = assemble_cell(
            team=team,
            actor=user,
            spec=CellSpec(
                configuration=Configuration.FULL,
                membrane=data["membranes"][-1],
                cathode=e,
                components=standard_components(
                    configuration=Configuration.FULL,
                    li_foil_lot=li,
                    li_foil_amount="40 mg",
                    li_foil_area_cm2=1.9,
                ),
            ),
        )
        data["cells"].append(full)
    return data


def _count_queries(fn: Any) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    return len(ctx.captured_queries), result


def _ids(graph: dict[str, Any], kind: str) -> set[int]:
    return {int(n["id"].split(":")[1]) for n in graph["nodes"] if n["kind"] == kind}


def test_upward_provenance_reaches_membrane_batch_recipe_lots_chemicals_and_suppliers(team, researcher):
    data = build_dataset(team, researcher, scale=1)
    cell = data["cells"][0]
    graph = selectors.provenance_up(cells=[cell.pk])
    kinds = {n["kind"] for n in graph["nodes"]}
    assert kinds == {"cell", "membrane", "batch", "recipe_version", "recipe", "lot", "chemical", "supplier"}
    membrane = cell.membrane
    edges = {(e["source"], e["target"], e["relation"]) for e in graph["edges"]}
    assert (f"membrane:{membrane.pk}", f"cell:{cell.pk}", "electrolyte of") in edges
    assert (f"batch:{membrane.batch_id}", f"membrane:{membrane.pk}", "cast into") in edges
    assert (f"lot:{data['lifsi'].pk}", f"batch:{membrane.batch_id}", "drawn into") in edges
    assert (f"lot:{data['li'].pk}", f"cell:{cell.pk}", "Li foil") in edges
    assert (f"supplier:{data['lifsi'].supplier_id}", f"lot:{data['lifsi'].pk}", "supplied") in edges
    node = next(n for n in graph["nodes"] if n["id"] == f"cell:{cell.pk}")
    assert node["url"] == f"/cells/{cell.pk}/" and node["label"] == cell.code
    assert all(e["source"] in {n["id"] for n in graph["nodes"]} for e in graph["edges"])


def test_upward_provenance_starts_from_a_derived_property_through_its_measurement(team, researcher):
    data = build_dataset(team, researcher, scale=1)
    prop = DerivedProperty.objects.filter(cell=data["cells"][0]).get()
    graph = selectors.provenance_up(derived=[prop.pk])
    assert _ids(graph, "derived") == {prop.pk}
    assert _ids(graph, "measurement") == {prop.measurement_id}
    assert _ids(graph, "cell") == {data["cells"][0].pk}
    assert data["lifsi"].pk in _ids(graph, "lot")


def test_a_pellet_cell_goes_up_to_the_powder_lot_and_a_full_cell_to_the_cathode_active_lot(team, researcher):
    data = build_dataset(team, researcher, scale=1)
    blocking, full = data["cells"][-2], data["cells"][-1]
    graph = selectors.provenance_up(cells=[blocking.pk, full.pk])
    edges = {(e["source"], e["target"], e["relation"]) for e in graph["edges"]}
    assert (f"lot:{data['llzto'].pk}", f"pellet:{blocking.pellet_id}", "pressed into") in edges
    assert (f"electrode:{full.cathode_id}", f"cell:{full.pk}", "cathode of") in edges
    assert (
        f"lot:{full.cathode.active_lot_id}",
        f"electrode:{full.cathode_id}",
        "active material of",
    ) in edges


def test_where_used_finds_every_cell_made_from_a_lifsi_lot(team, researcher):
    """scale 2: 2 batches x 2 membranes x 2 cells = 8 symmetric cells + 2 full cells on the last membrane of each
    batch = 10 cells used the LiFSI lot; the 2 pellet cells did not."""
    data = build_dataset(team, researcher, scale=2)
    graph = selectors.where_used(lots=[data["lifsi"].pk])
    cells_on_membranes = {c.pk for c in data["cells"] if c.membrane_id}
    assert _ids(graph, "cell") == cells_on_membranes and len(cells_on_membranes) == 10
    assert _ids(graph, "batch") == {b.pk for b in data["batches"]}
    assert _ids(graph, "membrane") == {m.pk for m in data["membranes"]}
    assert len(_ids(graph, "measurement")) == 8 and len(_ids(graph, "derived")) == 8
    assert len(selectors.cells_in_graph(graph)) == 10


def test_where_used_from_a_batch_a_membrane_and_the_li_foil_lot(team, researcher):
    data = build_dataset(team, researcher, scale=2)
    b = data["batches"][0]
    from_batch = selectors.where_used(batches=[b.pk])
    assert _ids(from_batch, "cell") == {
        c.pk for c in data["cells"] if c.membrane and c.membrane.batch_id == b.pk
    }
    m = data["membranes"][0]
    from_membrane = selectors.where_used(membranes=[m.pk])
    assert _ids(from_membrane, "cell") == {c.pk for c in data["cells"] if c.membrane_id == m.pk}
    from_li = selectors.where_used(lots=[data["li"].pk])
    assert _ids(from_li, "cell") == {c.pk for c in data["cells"] if c.configuration != "blocking"}
    from_powder = selectors.where_used(lots=[data["llzto"].pk])
    assert _ids(from_powder, "cell") == {c.pk for c in data["cells"] if c.pellet_id}


def test_provenance_hides_the_records_of_teams_the_user_is_not_in(team, other_team, researcher, outsider):
    data = build_dataset(team, researcher, scale=1)
    theirs = build_dataset(other_team, outsider, scale=1)
    graph = selectors.where_used(lots=[data["li"].pk, theirs["li"].pk], team_ids=[team.pk])
    assert _ids(graph, "cell") == {c.pk for c in data["cells"] if c.configuration != "blocking"}
    up = selectors.provenance_up(cells=[theirs["cells"][0].pk], team_ids=[team.pk])
    assert up["nodes"] == [] and up["edges"] == []


def test_the_number_of_queries_stays_flat_when_the_dataset_grows_five_fold(
    team, other_team, researcher, outsider
):
    """Small dataset: scale 1 (6 cells); big: scale 5 (30 cells, 5 batches, 10 membranes, 10 lots more).

    Both directions must use the same number of queries for both: one per kind/relation, never one per row."""
    small = build_dataset(team, researcher, scale=1)
    big = build_dataset(other_team, outsider, scale=5)

    def counts(data: dict[str, Any]) -> tuple[int, int, int, int]:
        up_n, up = _count_queries(lambda: selectors.provenance_up(cells=[c.pk for c in data["cells"]]))
        derived = list(DerivedProperty.objects.filter(cell__in=data["cells"]).values_list("pk", flat=True))
        dp_n, _ = _count_queries(lambda: selectors.provenance_up(derived=derived))
        down_n, down = _count_queries(lambda: selectors.where_used(lots=[data["lifsi"].pk, data["li"].pk]))
        mem_n, _ = _count_queries(lambda: selectors.where_used(membranes=[m.pk for m in data["membranes"]]))
        assert len(_ids(up, "cell")) == len(data["cells"])
        assert len(_ids(down, "cell")) == len([c for c in data["cells"] if c.configuration != "blocking"])
        return up_n, dp_n, down_n, mem_n

    small_counts = counts(small)
    big_counts = counts(big)
    print(
        f"queries (up, up from derived, where-used lots, where-used membranes): small {small_counts}, big {big_counts}"
    )
    assert small_counts == big_counts
    assert max(big_counts) <= 12


def test_the_layout_places_every_node_and_edge_without_a_query(team, researcher, django_assert_num_queries):
    data = build_dataset(team, researcher, scale=1)
    graph = selectors.provenance_up(cells=[data["cells"][0].pk])
    with django_assert_num_queries(0):
        layout = selectors.layered_layout(graph)
    assert len(layout["nodes"]) == len(graph["nodes"]) and len(layout["edges"]) == len(graph["edges"])
    xs = {n["kind"]: n["x"] for n in layout["nodes"]}
    assert xs["supplier"] < xs["lot"] < xs["batch"] < xs["membrane"] < xs["cell"]


def _as_sets(graph: dict[str, Any]) -> tuple[set[str], set[str]]:
    nodes = {repr(sorted(n.items())) for n in graph["nodes"]}
    edges = {repr(sorted(e.items())) for e in graph["edges"]}
    return nodes, edges


def test_the_walk_seeded_with_the_cell_pages_records_is_the_walk_that_reads_them(
    team, other_team, researcher, outsider
):
    """The cell page hands its walk the records it has read (``cell_page(...).known``: the cell, its parts,
    electrolyte and electrodes, the draws of its membrane's batch and every lot its lineage can reach): for every
    kind of cell, for staff, a member, someone of another team and a member of both, the graph is the one the
    walk reads by itself, including when the cell's electrolyte, cathode or a part's electrode belongs to a team
    the requester is not in (the walk leaves those out, and the lots behind them: so must the records handed to
    it), and the seeded walk reads nothing."""
    data = build_dataset(team, researcher, scale=2)
    theirs = build_dataset(other_team, outsider, scale=1)
    cells = data["cells"]
    # a cell whose membrane is the other team's, and a full cell whose cathode is the other team's
    borrowed = next(c for c in cells if c.membrane_id)
    borrowed.membrane = next(c.membrane for c in theirs["cells"] if c.membrane_id)
    borrowed.save(update_fields=["membrane"])
    full = next(c for c in cells if c.cathode_id)
    full.cathode = next(c.cathode for c in theirs["cells"] if c.cathode_id)
    full.save(update_fields=["cathode"])
    for team_ids in (None, [team.pk], [other_team.pk], [team.pk, other_team.pk], []):
        for cell in cells:
            page = selectors.cell_page(user=researcher, pk=cell.pk)
            assert page is not None
            with CaptureQueriesContext(connection) as reading:
                read = selectors.provenance_up(cells=[cell.pk], team_ids=team_ids)
            with CaptureQueriesContext(connection) as seeding:
                seeded = selectors.provenance_up(cells=[cell.pk], team_ids=team_ids, known=page.known)
            assert _as_sets(seeded) == _as_sets(read), (cell.code, team_ids)
            assert len(seeding.captured_queries) == 0, (cell.code, team_ids)
            if team_ids is None or team.pk in team_ids:
                assert read["nodes"] and _ids(read, "lot") and len(reading.captured_queries) > 0
    member = selectors.provenance_up(cells=[borrowed.pk], team_ids=[team.pk])
    assert not _ids(member, "membrane")  # the other team's membrane is left out, as the walk leaves it out
    # the page did read the lots drawn into the other team's batch: the seeded walk leaves them out too
    their_draws = set(
        BatchComponent.objects.filter(batch_id=borrowed.membrane.batch_id).values_list("lot_id", flat=True)
    )
    page = selectors.cell_page(user=researcher, pk=borrowed.pk)
    assert page is not None
    held, _ = page.known.take("lot", their_draws, None)
    assert held and {lot.pk for lot in held} == their_draws
    seeded = selectors.provenance_up(cells=[borrowed.pk], team_ids=[team.pk], known=page.known)
    assert not _ids(seeded, "lot") & (their_draws - _ids(member, "lot"))


def test_known_records_refuse_a_kind_the_walk_does_not_read() -> None:
    with pytest.raises(KeyError):
        selectors.Known().add("spaceship", 1, object())
