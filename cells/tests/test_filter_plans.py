"""The filters by code and name added next to the API's ids (membrane_code, pellet_code, series_name,
instrument_name, the choice lists) are planned without a sequential scan of a table that grows with the lab,
the way tests/test_indexes.py checks the others (a small generated lab, ``enable_seqscan = off``: a Seq Scan
left in a plan means no index can serve the query)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from lims.explain import GROWING_TABLES, sample_values, seq_scans
from lims.management.commands.generate_lab import Counts, generate_lab

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _plan(sql: str) -> dict[str, Any]:
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        body = cur.fetchone()[0]
        cur.execute("SET LOCAL enable_seqscan = on")
    return dict(body[0]["Plan"])


def test_the_code_and_name_filters_need_no_sequential_scan_of_a_growing_table(team, researcher) -> None:  # type: ignore[no-untyped-def]
    if connection.vendor != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    generate_lab(Counts.at_scale(0.002), seed=11, teams=[team], members=[researcher])
    v = sample_values(researcher)
    membrane, pellet, cell, version = v["membrane"], v["pellet"], v["cell"], v["version"]
    urls: list[str] = []
    for path in ("/api/v1/cells/", "/cells/"):
        urls += [
            f"{path}?membrane_code={membrane.code.lower()}",
            f"{path}?pellet_code={pellet.code}",
            f"{path}?team={v['team']}&recipe_version={version.pk}",
        ]
    for path in ("/api/v1/derived-properties/", "/derived/"):
        urls += [
            f"{path}?membrane_code={membrane.code}",
            f"{path}?pellet_code={pellet.code}",
            f"{path}?series_name=arr",
        ]
    for path in ("/api/v1/measurements/", "/measurements/"):
        urls += [f"{path}?membrane_code={membrane.code}", f"{path}?pellet_code={pellet.code}"]
    urls += [
        "/api/v1/uploads/?instrument_name=a",
        "/uploads/?instrument_name=a",
        f"/api/v1/series/?cell_code={cell.code}",
        f"/batches/?recipe={version.recipe_id}",
        f"/electrodes/?chemical={v['electrode'].active_lot.chemical_id}",
    ]
    client = Client()
    client.force_login(researcher)
    problems: list[str] = []
    for url in urls:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(
                url, HTTP_ACCEPT="application/json" if url.startswith("/api/") else "text/html"
            )
        assert response.status_code == 200, f"{url}: {response.status_code}"
        for q in ctx.captured_queries:
            if q["sql"].lstrip().upper().startswith("SELECT"):
                problems += [
                    f"{url}: Seq Scan on {t}\n    {q['sql'][:300]}"
                    for t in seq_scans(_plan(q["sql"]), set(GROWING_TABLES), threshold=10**12)
                ]
    assert not problems, "\n".join(problems)
