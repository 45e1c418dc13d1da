"""The indexes the filtered lists need exist (issue 10).

1. Every index declared in a model's ``Meta.indexes`` is in ``pg_indexes`` (the migrations made it).
2. Every filter of every FilterSet (lims/explain.py lists one URL per filter, API and page) is planned without a
   sequential scan of a table that grows with the lab, on a small generated lab with ``enable_seqscan = off``:
   the planner then takes an index whenever one can serve the query, so a Seq Scan left in a plan means that no
   index can. (On the large lab, bench/explain_filters.py checks the real plans with EXPLAIN ANALYZE.)
"""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from lims.explain import GROWING_TABLES, filter_urls, sample_values, seq_scans
from lims.management.commands.generate_lab import Counts, generate_lab

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_every_declared_index_exists_in_the_database() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("pg_indexes is PostgreSQL's")
    with connection.cursor() as cur:
        cur.execute("SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public'")
        present = set(cur.fetchall())
    missing = [
        f"{model._meta.db_table}.{index.name}"
        for model in apps.get_models()
        for index in model._meta.indexes
        if (model._meta.db_table, index.name) not in present
    ]
    assert missing == []


def _plan(sql: str) -> dict[str, Any]:
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        body = cur.fetchone()[0]
        cur.execute("SET LOCAL enable_seqscan = on")
    return dict(body[0]["Plan"])


def test_no_filtered_list_needs_a_sequential_scan_of_a_growing_table(team, researcher) -> None:  # type: ignore[no-untyped-def]
    if connection.vendor != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    generate_lab(Counts.at_scale(0.002), seed=11, teams=[team], members=[researcher])
    client = Client()
    client.force_login(researcher)
    urls = filter_urls(sample_values(researcher))
    assert len(urls) > 150  # every filter of every FilterSet, API and page
    problems: list[str] = []
    for url in urls:
        accept = "application/json" if url.startswith("/api/") else "text/html"
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, HTTP_ACCEPT=accept)
        assert response.status_code == 200, f"{url}: {response.status_code} {response.content[:200]!r}"
        for q in ctx.captured_queries:
            sql = q["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            for table in seq_scans(_plan(sql), set(GROWING_TABLES), threshold=10**12):
                problems.append(f"{url}: Seq Scan on {table}\n    {sql[:400]}")
    assert not problems, f"{len(problems)} filtered list queries need a sequential scan:\n" + "\n".join(
        problems
    )
