"""In-process time and query count of bench_http's ten endpoints (no HTTP, no load), and optionally a cProfile of
one of them. Run on demand, not in CI:

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/lims_big python bench/profile_endpoints.py [--profile 2]

Prints, per URL, the median and the fastest of ``--repeat`` requests through Django's test client (the whole
middleware stack, the same token or session as bench_http), the number of SQL queries of one request, and the
response size. ``--profile N`` runs cProfile on the N-th URL (0-based) and prints the top of the cumulative and
own-time tables.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lims.settings")
if os.environ.get("BENCH_DATABASE_URL"):
    os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
os.environ.setdefault("DB_PREPARED_STATEMENTS", "1")
# as bench_http's servers run: without DEBUG (whose cursor formats every statement for connection.queries: ~8% of
# the cell page); Django's test client asks for the host "testserver"
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")


class _Counter:
    def __init__(self, queries: list[str]) -> None:
        self.queries = queries

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        self.queries.append(sql)
        return execute(sql, params, many, context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--profile", type=int, default=None, help="cProfile the N-th URL")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()

    from bench_http import endpoints, prepare

    values, key, session = prepare()
    from django.db import connection
    from django.test import Client

    api = Client(HTTP_AUTHORIZATION=f"Token {key}")
    page = Client()
    page.cookies["sessionid"] = session
    eps = endpoints(values)

    def get(i: int) -> int:
        e = eps[i]
        client = api if e.kind == "api" else page
        response = client.get(e.url)
        if response.status_code != 200:
            raise SystemExit(f"{e.url}: {response.status_code}")
        return len(response.content)

    if args.profile is not None:
        for _ in range(5):
            get(args.profile)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.repeat):
            get(args.profile)
        profiler.disable()
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
        return

    print(f"{'endpoint':32} {'median ms':>9} {'min ms':>7} {'queries':>7} {'bytes':>7}")
    for i, e in enumerate(eps):
        for _ in range(3):
            get(i)
        queries: list[str] = []

        with connection.execute_wrapper(_Counter(queries)):
            size = get(i)
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            get(i)
            times.append((time.perf_counter() - t0) * 1000)
        print(f"{e.name:32} {statistics.median(times):9.2f} {min(times):7.2f} {len(queries):7d} {size:7d}")


if __name__ == "__main__":
    main()
