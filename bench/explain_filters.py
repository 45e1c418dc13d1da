"""EXPLAIN every filtered list query on the large generated lab (issue 10, item 2). Run on demand, not in CI:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lims_big python bench/explain_filters.py [--analyze] [--generic]

For every filter of every FilterSet in */filters*.py, the list endpoint (and the list page where one exists) is
requested in-process with a value taken from the data, as a researcher of one team (the common case: the team
scope is part of every query). Every SQL statement the request runs is EXPLAINed; a ``Seq Scan`` on a table of
more than ``--big`` rows (pg_class.reltuples) is reported with the URL and the statement. Exit status 1 when one
is found. With ``--analyze`` the plans are EXPLAIN ANALYZE'd and the slowest statement of each URL is printed.
With ``--generic`` each statement is prepared and explained on the plan PostgreSQL makes without the values
(``plan_cache_mode = force_generic_plan``, what lims/plans.py asks for): run it with and without ``--generic``
and compare, before a view opts in to generic plans with a filter.

Only statements that touch the filtered data are judged: the session, user and membership look-ups of every
request are small tables and never qualify as big.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lims.settings")

BENCH_USERNAME = "bench-researcher"


def setup() -> None:
    import django

    django.setup()


def bench_user() -> Any:
    """A researcher of the first generated team (made once; the generator's guard ignores users)."""
    from lims.models import Membership, Team, User

    team = Team.objects.order_by("id").first()
    if team is None:
        raise SystemExit("no team: generate a lab first (python manage.py generate_lab)")
    user, created = User.objects.get_or_create(username=BENCH_USERNAME, defaults={"first_name": "Bench"})
    if created:
        user.set_password("bench-lims-2026")
        user.save()
    Membership.objects.get_or_create(user=user, team=team, defaults={"role": "researcher"})
    return user


class _Capture:
    """An execute wrapper that keeps each statement with its parameters (EXPLAIN EXECUTE needs them apart)."""

    def __init__(self, into: list[tuple[str, Any]]) -> None:
        self.into = into

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        self.into.append((sql, params))
        return execute(sql, params, many, context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--big", type=int, default=10_000, help="a table with more rows than this is big")
    parser.add_argument("--analyze", action="store_true", help="EXPLAIN ANALYZE (runs the statements)")
    parser.add_argument("--only", default="", help="only URLs containing this text")
    parser.add_argument(
        "--generic",
        action="store_true",
        help="explain each statement as the LIMS runs it with DB_PREPARED_STATEMENTS=1: prepared, generic plan",
    )
    args = parser.parse_args()
    setup()
    from django.db import connection
    from django.test import Client

    from lims.explain import big_tables, explain, explain_generic, filter_urls, sample_values, seq_scans

    if connection.vendor != "postgresql":
        raise SystemExit("needs PostgreSQL (DATABASE_URL)")
    user = bench_user()
    values = sample_values(user)
    big = big_tables(args.big)
    client = Client()
    client.force_login(user)
    problems: list[tuple[str, str, str]] = []
    print(f"big tables (> {args.big:,} rows): {', '.join(sorted(big))}\n")
    for url in filter_urls(values):
        if args.only and args.only not in url:
            continue
        captured: list[tuple[str, Any]] = []
        with connection.execute_wrapper(_Capture(captured)):
            response = client.get(
                url, HTTP_ACCEPT="application/json" if url.startswith("/api/") else "text/html"
            )
        if response.status_code != 200:
            print(f"{url}: HTTP {response.status_code} {response.content[:200]!r}")
            problems.append((url, "HTTP", str(response.status_code)))
            continue
        slowest = (0.0, "")
        bad_here = []
        for sql, params in captured:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            if args.generic:
                plan, ms = explain_generic(sql, params, args.analyze)
            else:
                plan, ms = explain(connection.ops.compose_sql(sql, params) if params else sql, args.analyze)
            if ms > slowest[0]:
                slowest = (ms, sql)
            for table in seq_scans(plan, big, args.big):
                bad_here.append(table)
                problems.append((url, table, sql))
        status = "SEQ SCAN on " + ", ".join(sorted(set(bad_here))) if bad_here else "ok"
        timing = f"  slowest {slowest[0]:7.1f} ms" if args.analyze else ""
        print(f"{len(captured):3d} q  {status:<48}{timing}  {url}")
    print()
    if problems:
        print(f"{len(problems)} statement(s) with a sequential scan on a big table:")
        for url, table, sql in problems:
            print(f"--- {url}  [{table}]\n{sql[:1500]}\n")
        raise SystemExit(1)
    print("no sequential scan on a big table in any filtered list")


if __name__ == "__main__":
    main()
