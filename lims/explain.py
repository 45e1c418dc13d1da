"""EXPLAIN of the filtered list queries (issue 10): the filter values, the URLs of every filter of every FilterSet in
*/filters*.py, and the walk of a plan for sequential scans. Used by bench/explain_filters.py on the large lab and
by tests/test_indexes.py on a tiny one (there with ``enable_seqscan = off``, so that a Seq Scan in a plan means no
index can serve the query).
"""

from __future__ import annotations

import json
from typing import Any

#: tables that grow with the lab; a sequential scan of one of them in a filtered list is a missing index
GROWING_TABLES = frozenset(
    {
        "cells_cell",
        "cells_cellcomponent",
        "cells_cellstatechange",
        "formulations_batch",
        "formulations_batchcomponent",
        "formulations_membrane",
        "formulations_pellet",
        "formulations_stocktransaction",
        "measurements_cyclesummary",
        "measurements_derivedproperty",
        "measurements_measurement",
        "measurements_upload",
    }
)


def _nth(qs: Any, n: int) -> Any:
    """The n-th row (by id), or the last one of a small lab."""
    count = qs.count()
    if count == 0:
        raise LookupError(f"no {qs.model.__name__} for the filter values")
    return qs.order_by("id")[min(n, count - 1)]


def sample_values(user: Any) -> dict[str, Any]:
    """Filter values that exist in the user's team (so every filter returns rows, as in real use)."""
    from cells.models import Cell
    from formulations.models import Batch, Electrode, Membrane, Pellet, RecipeVersion, StockLot
    from lims.permissions import team_ids_for
    from measurements.models import DerivedProperty, Instrument, Measurement, Upload

    team = team_ids_for(user)[0]
    cell = _nth(Cell.objects.filter(team_id=team, membrane__isnull=False), 500)
    pellet_cell = _nth(Cell.objects.filter(team_id=team, pellet__isnull=False), 100)
    membrane = _nth(Membrane.objects.filter(team_id=team), 300)
    batch = _nth(Batch.objects.filter(team_id=team), 200)
    version = _nth(RecipeVersion.objects.filter(recipe__team_id=team), 20)
    lot = _nth(StockLot.objects.all(), 1000)
    pellet = _nth(Pellet.objects.filter(team_id=team), 100)
    electrode = _nth(Electrode.objects.filter(team_id=team), 10)
    measurement = _nth(Measurement.objects.filter(team_id=team), 1000)
    upload = _nth(Upload.objects.filter(team_id=team), 1000)
    instrument = Instrument.objects.filter(team_id=team).order_by("id").first()
    derived = _nth(DerivedProperty.objects.filter(team_id=team), 1000)
    return {
        "team": team,
        "cell": cell,
        "pellet_cell": pellet_cell,
        "membrane": membrane,
        "batch": batch,
        "version": version,
        "lot": lot,
        "pellet": pellet,
        "electrode": electrode,
        "measurement": measurement,
        "upload": upload,
        "instrument": instrument,
        "derived": derived,
    }


def filter_urls(v: dict[str, Any]) -> list[str]:
    """URL + query string per filter (API first, then the list page that shares the FilterSet)."""
    cell, lot, batch, version, membrane = v["cell"], v["lot"], v["batch"], v["version"], v["membrane"]
    pellet, electrode, measurement, upload = v["pellet"], v["electrode"], v["measurement"], v["upload"]
    filters: dict[tuple[str, ...], list[str]] = {
        ("/api/v1/lots/", "/inventory/lots/"): [
            "",
            f"q={lot.code}",
            f"q={lot.chemical.name[:8]}",
            f"chemical={lot.chemical_id}",
            f"location={lot.location_id or ''}",
            f"supplier={lot.supplier_id or ''}",
            "status=available",
            "expires_before=2020-01-01",
            f"code={lot.code}",
        ],
        ("/api/v1/stock-transactions/",): [
            "",
            f"lot={lot.pk}",
            f"code={lot.code}",
            f"chemical={lot.chemical_id}",
            "kind=consume",
            "since=2024-01-01T00:00:00Z",
            "until=2018-01-01T00:00:00Z",
            f"batch={batch.pk}",
            f"actor={batch.operator_id}",
        ],
        ("/api/v1/recipes/", "/recipes/"): ["", "q=PMA", f"team={v['team']}"],
        ("/api/v1/recipe-versions/",): ["", f"recipe={version.recipe_id}", "frozen=true"],
        ("/api/v1/batches/", "/batches/"): [
            "",
            f"q={batch.code}",
            "status=completed",
            f"recipe={version.recipe_id}",
            "flagged=true",
            "started_after=2025-01-01",
            "started_before=2018-01-01",
            f"recipe_version={batch.recipe_version_id}",
            f"operator={batch.operator_id}",
        ],
        ("/api/v1/membranes/", "/membranes/"): [
            "",
            f"q={membrane.code}",
            "min_thickness_um=0.02",
            "max_thickness_um=0.001",
            f"batch={membrane.batch_id}",
            f"mould={membrane.mould_id or ''}",
        ],
        ("/api/v1/pellets/", "/pellets/"): [
            "",
            f"q={pellet.code}",
            "press_mode=uniaxial",
            f"lot={pellet.lot_id}",
        ],
        ("/api/v1/electrodes/", "/electrodes/"): [
            "",
            f"q={electrode.code}",
            f"chemical={electrode.active_lot.chemical_id}",
            f"active_lot={electrode.active_lot_id}",
        ],
        ("/api/v1/cells/", "/cells/"): [
            "",
            f"code={cell.code}",
            "state=shorted",
            "configuration=blocking",
            "cell_format=pouch",
            "electrolyte=pellet",
            f"recipe={membrane.batch.recipe_version.recipe_id}",
            f"recipe_version={membrane.batch.recipe_version_id}",
            f"membrane={membrane.pk}",
            f"membrane_code={membrane.code.lower()}",
            f"pellet={pellet.pk}",
            f"pellet_code={pellet.code}",
            f"team={v['team']}&recipe_version={version.pk}",
            "filler_wt=20",
            "filler_wt_min=30",
            "filler_wt_max=5",
            f"team={v['team']}",
            "assembled_after=2025-06-01",
            "assembled_before=2017-01-01",
        ],
        ("/api/v1/uploads/", "/uploads/"): [
            "",
            "stage=failed",
            "technique=CCD",
            f"cell={upload.cell_id}",
            f"cell_code={upload.cell.code}",
            f"instrument={upload.instrument_id}",
            "instrument_name=a",
            f"name={upload.original_name[-12:]}",
        ],
        ("/api/v1/measurements/", "/measurements/"): [
            "",
            "technique=LSV",
            f"cell={measurement.cell_id}",
            f"cell_code={measurement.cell.code}",
            f"membrane={membrane.pk}",
            f"membrane_code={membrane.code}",
            f"pellet={pellet.pk}",
            f"pellet_code={pellet.code}",
            "temperature_min=85",
            "temperature_max=25",
        ],
        ("/api/v1/derived-properties/", "/derived/"): [
            "",
            "name=ionic_conductivity",
            f"cell={cell.pk}",
            f"cell_code={cell.code}",
            f"measurement={measurement.pk}",
            "series=1",
            "series_name=arr",
            f"membrane={membrane.pk}",
            f"membrane_code={membrane.code}",
            f"pellet={pellet.pk}",
            f"pellet_code={pellet.code}",
            f"recipe={version.recipe_id}",
            f"recipe_version={version.pk}",
            f"recipe_name={version.recipe.name[:6]}",
            "filler_min=30",
            "filler_max=5",
            "temperature_min=85",
            "temperature_max=25",
            "method_version=1.1",
        ],
        ("/api/v1/series/", "/series/"): [
            "",
            "kind=arrhenius",
            f"cell={cell.pk}",
            f"cell_code={cell.code}",
            "name=x",
        ],
        ("/api/v1/measurements/{m}/cycles/",): [""],
        ("/api/v1/lots/{lot}/transactions/",): [""],
    }
    urls: list[str] = []
    for paths, params in filters.items():
        for path in paths:
            path = path.format(m=measurement.pk, lot=lot.pk)
            for p in params:
                urls.append(f"{path}?{p}" if p else path)
    return urls


def big_tables(threshold: int) -> set[str]:
    """Tables of more than ``threshold`` rows (pg_class.reltuples)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND reltuples > %s "
            "AND relnamespace = 'public'::regnamespace",
            [threshold],
        )
        return {r[0] for r in cur.fetchall()}


def seq_scans(plan: dict[str, Any], big: set[str], threshold: int) -> list[str]:
    """Big tables read whole: a Seq Scan, or (EXPLAIN ANALYZE only) any scan that threw away more than
    ``threshold`` rows by its filter (an index walked end to end for its order is a full scan in disguise)."""
    found = []
    relation = plan.get("Relation Name")
    if relation in big:
        loops = int(plan.get("Actual Loops", 1) or 1)
        removed = int(plan.get("Rows Removed by Filter", 0)) * loops
        if plan.get("Node Type") == "Seq Scan":
            found.append(str(relation))
        elif removed > threshold:
            found.append(f"{relation} ({plan.get('Node Type')} removing {removed:,} rows)")
    for child in plan.get("Plans", []):
        found.extend(seq_scans(child, big, threshold))
    return found


def explain(sql: str, analyze: bool) -> tuple[dict[str, Any], float]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(f"EXPLAIN ({'ANALYZE, ' if analyze else ''}FORMAT JSON) {sql}")
        body = cur.fetchone()[0]
    return _plan_and_ms(body)


def _plan_and_ms(body: Any) -> tuple[dict[str, Any], float]:
    """The plan of an ``EXPLAIN (FORMAT JSON)`` answer, and its planning plus execution time (ANALYZE only)."""
    doc = body if isinstance(body, list) else json.loads(body)
    # planning counts: a page that joins eight tables can spend more time planning than executing
    return doc[0]["Plan"], float(doc[0].get("Planning Time", 0.0)) + float(doc[0].get("Execution Time", 0.0))


def _numbered(sql: str) -> str:
    """Django's ``%s`` placeholders as PostgreSQL's ``$1, $2, ...`` (``%%`` is a literal percent sign)."""
    out, n, i = [], 0, 0
    while i < len(sql):
        if sql.startswith("%%", i):
            out.append("%")
            i += 2
        elif sql.startswith("%s", i):
            n += 1
            out.append(f"${n}")
            i += 2
        else:
            out.append(sql[i])
            i += 1
    return "".join(out)


def explain_generic(sql: str, params: Any, analyze: bool) -> tuple[dict[str, Any], float]:
    """The plan PostgreSQL runs for ``sql`` as a prepared statement under ``plan_cache_mode =
    force_generic_plan`` (what the LIMS runs with prepared statements on, lims/settings.py): planned once without
    the values, so a filter value's frequency cannot steer it. Needs a client-side binding connection (the
    default): the values reach ``EXECUTE`` as literals."""
    from django.db import connection

    values = list(params or ())
    with connection.cursor() as cur:
        cur.execute("SET plan_cache_mode = force_generic_plan")
        cur.execute(f"PREPARE lims_explain AS {_numbered(sql)}")
        try:
            args = f"({', '.join(['%s'] * len(values))})" if values else ""
            cur.execute(
                f"EXPLAIN ({'ANALYZE, ' if analyze else ''}FORMAT JSON) EXECUTE lims_explain{args}", values
            )
            body = cur.fetchone()[0]
        finally:
            cur.execute("DEALLOCATE lims_explain")
            cur.execute("RESET plan_cache_mode")
    return _plan_and_ms(body)
