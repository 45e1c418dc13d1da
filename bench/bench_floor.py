"""What Django, its middleware, DRF and token authentication cost before an endpoint does any work: the floor under
bench_http.py's ratios (issue 10, item 3). Run on demand, not in CI:

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/lims_big python bench/bench_floor.py [--seconds 10]

Three gunicorn servers with bench_http's settings (sync workers, persistent connections, --preload): the LIMS with
three do-nothing views added (bench/floor_urls.py), the same without any middleware (FLOOR_BARE=1), and
bench/baseline_app.py. wrk measures, one after the other:

- the baseline answering ``{}`` with no query, and with ``SELECT 1``;
- Django answering ``{}`` without middleware, and through the LIMS's middleware (no query, then ``SELECT 1``);
- a DRF view with the LIMS's authentication (the API token: one query) and permission, answering ``{}``;
- the real upload status (``/api/v1/uploads/<id>/``) and its hand-written baseline from bench_http.py;
- the session check of a page without a template, the page frame, and the real cell detail page with its baseline.

Each p50 is divided by the p50 of a baseline, named in the last column: the baseline doing the same database work
(no query, or one), or the hand-written baseline of the endpoint whose 3x budget the do-nothing view already spends
(the upload status for the API, the cell detail page for the pages). Also measured: the page frame (base.html with
an empty body, behind the session check), and a bench-only prototype of the upload status as a plain Django view
with hand-written SQL (bench/floor_urls.py), which shows what an endpoint can reach inside Django without DRF,
the ORM and the serializers.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_http import (  # noqa: E402
    LUA,
    endpoints,
    gunicorn,
    lab_database_url,
    prepare,
    server_envs,
    start,
    stop,
    wait_ready,
    wrk,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--port", type=int, default=8140, help="LIMS; bare Django port + 1, baseline port + 2"
    )
    args = parser.parse_args()
    database_url = lab_database_url()
    values, token, session = prepare()
    chosen = {e.name: e for e in endpoints(values)}
    upload = chosen["API upload status"]
    cell_page = chosen["page cell detail"]
    workdir = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    script = workdir / "report.lua"
    script.write_text(LUA)
    routes = {
        "/b/empty": {"queries": []},
        "/b/one": {"queries": [{"key": "one", "sql": "SELECT 1 AS one", "one": True}]},
        "/b/upload": {"queries": upload.queries},
        "/b/cellpage": {"queries": cell_page.queries},
    }
    (workdir / "queries.json").write_text(json.dumps(routes))
    lims_env, base_env = server_envs(database_url, workdir / "queries.json")
    lims_env.update({"DJANGO_SETTINGS_MODULE": "floor_settings", "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}"})
    lims, bare, base = args.port, args.port + 1, args.port + 2
    app = "lims.wsgi:application"
    servers = [
        start(gunicorn(app, lims, args.workers), lims_env, workdir / "a.log"),
        start(gunicorn(app, bare, args.workers), {**lims_env, "FLOOR_BARE": "1"}, workdir / "b.log"),
        start(gunicorn("baseline_app:application", base, args.workers), base_env, workdir / "c.log"),
    ]
    api = {"Authorization": f"Token {token}", "Accept": "application/json"}
    page = {"Cookie": f"sessionid={session}", "Accept": "text/html"}
    rows: list[tuple[str, str, dict[str, str], str]] = [
        ("baseline: {} (no query)", f"http://127.0.0.1:{base}/b/empty", {}, "empty"),
        ("baseline: SELECT 1", f"http://127.0.0.1:{base}/b/one", {}, "one"),
        ("Django, no middleware: {}", f"http://127.0.0.1:{bare}/floor/django/", api, "empty"),
        ("Django + middleware: {}", f"http://127.0.0.1:{lims}/floor/django/", api, "empty"),
        ("Django + middleware: SELECT 1", f"http://127.0.0.1:{lims}/floor/django-query/", api, "one"),
        ("DRF + token auth: {}", f"http://127.0.0.1:{lims}/floor/drf/", api, "one"),
        ("baseline: upload status", f"http://127.0.0.1:{base}/b/upload", {}, "upload"),
        ("API upload status", f"http://127.0.0.1:{lims}/api/v1/uploads/{values['upload']}/", api, "upload"),
        (
            "upload status by hand (bench)",
            f"http://127.0.0.1:{lims}/floor/upload-by-hand/{values['upload']}/",
            api,
            "upload",
        ),
        ("page: session check, no template", f"http://127.0.0.1:{lims}/floor/signed-in/", page, "cellpage"),
        ("page: empty base.html", f"http://127.0.0.1:{lims}/floor/page/", page, "cellpage"),
        ("baseline: cell detail page rows", f"http://127.0.0.1:{base}/b/cellpage", {}, "cellpage"),
        ("page cell detail", f"http://127.0.0.1:{lims}/cells/{values['cell']}/", page, "cellpage"),
    ]
    try:
        wait_ready(f"http://127.0.0.1:{lims}/floor/drf/", api)
        wait_ready(f"http://127.0.0.1:{bare}/floor/django/", {})
        wait_ready(f"http://127.0.0.1:{base}/b/empty", {})
        for _, url, headers, _ in rows:  # warm every worker on every URL
            wrk(url, headers, 3.0, 2 * args.workers, script)
        p50: dict[str, float] = {}
        results = []
        for name, url, headers, like in rows:
            r = wrk(url, headers, args.seconds, args.connections, script)
            if name.startswith("baseline"):
                p50[like] = r["p50_us"]
            results.append((name, like, r))
        label = {
            "empty": "{} no query",
            "one": "SELECT 1",
            "upload": "upload status",
            "cellpage": "cell page",
        }
        head = f"{'request':<34} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'x baseline':>11}  {'baseline':<14} {'errors':>6}"
        print(
            f"gunicorn x{args.workers} sync workers per server, wrk {args.connections} connections, "
            f"{args.seconds:g} s per URL\n\n{head}\n{'-' * len(head)}"
        )
        for name, like, r in results:
            print(
                f"{name:<34} {r['rps']:>8.1f} {r['p50_us'] / 1000:>8.2f} {r['p95_us'] / 1000:>8.2f} "
                f"{r['p50_us'] / max(p50[like], 1):>10.2f}x  {label[like]:<14} {r['errors']:>6}"
            )
    finally:
        stop(servers)


if __name__ == "__main__":
    main()
