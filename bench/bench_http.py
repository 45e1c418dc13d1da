"""Latency of the ten most used endpoints and pages on the large lab, each against a hand-written baseline measured
in the same run (issue 10, item 3). Run on demand, not in CI:

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/lims_big python bench/bench_http.py [--seconds 10]

Needs a generated lab (``manage.py generate_lab``) and ``wrk`` (Debian: ``apt-get install wrk``). Two gunicorn
servers with the same settings (``--workers`` sync workers each, persistent database connections) run side by
side: the LIMS (``lims.wsgi``) and ``bench/baseline_app.py``, which answers each URL with the same rows fetched by
hand-written SQL through psycopg and serialised with json.dumps. wrk drives each URL for ``--seconds`` with
``--connections`` concurrent connections, one URL after the other, after a warm-up: the LIMS and its baseline in
``--rounds`` alternating slices (LIMS, baseline, LIMS, baseline...; 4 slices of 2 s each for --seconds 8), so that
a minute when the shared machine is slow weighs on both sides alike.

Printed per URL: requests/s, p50 (the median of the slices' p50s) and p95 (the highest slice's p95) of the LIMS
and of the baseline, the p50 ratio (the median of the slices' own ratios, each LIMS slice against the baseline
slice right after it), errors (socket errors and non-2xx/3xx answers); --json also keeps every slice. Targets (issue 10): ratio <= 3, LIMS p95 < 150 ms, no errors. The machine is
shared and noisy: compare ratios, which are measured in the same minute, rather than absolute numbers.

Both servers use prepared statements: psycopg prepares a query after 5 executions on a connection by default (the
baseline), and the LIMS runs with DB_PREPARED_STATEMENTS=1 (server-side binding; --no-prepared turns it off).

The requester is a researcher of the first team (as in bench/explain_filters.py): an API token for the API,
a session cookie for the pages. The ports are 8130 (LIMS) and 8131 (baseline) unless --port says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import types
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lims.settings")

LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "errors": %d, "status_errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status, e.status))
end
"""


@dataclass
class Endpoint:
    name: str
    url: str
    kind: str  # api | page
    queries: list[dict[str, Any]] = field(default_factory=list)


def endpoints(v: dict[str, Any]) -> list[Endpoint]:
    """The ten most used reads, with the SQL a hand-written service would run to return the same rows."""
    team, cell, upload = v["team"], v["cell"], v["upload"]
    p = {"team": team, "cell": cell, "upload": upload, "user": v["user"], "headline": v["headline"]}
    cell_cols = """
        c.id, c.code, c.team_id, c.configuration, c.cell_format, c.format_detail, c.membrane_id,
        m.code AS membrane_code, c.pellet_id, p.code AS pellet_code, c.cathode_id, e.code AS cathode_code,
        r.name || ' v' || rv.number AS electrolyte_recipe, m.filler_fraction * 100 AS filler_wt_percent,
        c.active_area, c.area_override, c.stack_pressure, c.assembled_at, u.username AS operator,
        u.first_name AS operator_first_name, u.last_name AS operator_last_name, t.name AS team_name, c.glovebox_o2,
        c.glovebox_h2o, c.state, c.state_changed_at, c.notes, c.postmortem_notes, c.dendrites_observed,
        c.delamination_observed, c.version"""
    cell_from = """
        FROM cells_cell c
        LEFT JOIN formulations_membrane m ON m.id = c.membrane_id
        LEFT JOIN formulations_batch b ON b.id = m.batch_id
        LEFT JOIN formulations_recipeversion rv ON rv.id = b.recipe_version_id
        LEFT JOIN formulations_recipe r ON r.id = rv.recipe_id
        LEFT JOIN formulations_pellet p ON p.id = c.pellet_id
        LEFT JOIN formulations_electrode e ON e.id = c.cathode_id
        JOIN lims_user u ON u.id = c.operator_id
        JOIN lims_team t ON t.id = c.team_id"""
    cell_page = [
        {"key": "count", "sql": "SELECT count(*) AS n FROM cells_cell WHERE team_id = %(team)s", "one": True},
        {
            "key": "results",
            "sql": f"SELECT {cell_cols} {cell_from} WHERE c.team_id = %(team)s "
            "ORDER BY c.assembled_at DESC, c.code LIMIT 50",
        },
    ]
    cell_one = [
        {"key": "cell", "sql": f"SELECT {cell_cols} {cell_from} WHERE c.id = %(cell)s", "one": True},
        {
            "key": "components",
            "sql": "SELECT cc.id, cc.kind, cc.position, cc.lot_id, l.code AS lot_code, ch.name AS chemical, "
            "cc.electrode_id, el.code AS electrode_code, cc.area, cc.mass_used, cc.transaction_id "
            "FROM cells_cellcomponent cc LEFT JOIN formulations_stocklot l ON l.id = cc.lot_id "
            "LEFT JOIN formulations_chemical ch ON ch.id = l.chemical_id "
            "LEFT JOIN formulations_electrode el ON el.id = cc.electrode_id WHERE cc.cell_id = %(cell)s "
            "ORDER BY cc.id",
        },
        {
            "key": "state_changes",
            "sql": "SELECT s.id, s.from_state, s.to_state, s.at, u.username AS actor, s.reason "
            "FROM cells_cellstatechange s LEFT JOIN lims_user u ON u.id = s.actor_id "
            "WHERE s.cell_id = %(cell)s ORDER BY s.at, s.id",
        },
    ]
    measurement_cols = """
        ms.id, ms.upload_id, ms.cell_id, c.code AS cell_code, ms.technique, ms.source_format, ms.temperature,
        ms.started_at, ms.row_count, ms.columns, ms.created_at, up.original_name, up.stage"""
    measurement_from = """
        FROM measurements_measurement ms JOIN measurements_upload up ON up.id = ms.upload_id
        LEFT JOIN cells_cell c ON c.id = ms.cell_id"""
    derived_cols = """
        d.id, d.subject_key, d.name, d.value, d.unit, d.uncertainty, d.method, d.method_version, d.temperature,
        d.measurement_id, ms.technique, d.series_id, se.name AS series_name, d.cell_id,
        c.code AS cell_code, d.membrane_id, m.code AS membrane_code, r.name AS recipe, rv.number AS version,
        m.filler_fraction, b.filler_fraction AS batch_filler_fraction, rv.filler_fraction AS version_filler_fraction,
        d.pellet_id, p.code AS pellet_code, d.computed_at"""
    derived_from = """
        FROM measurements_derivedproperty d
        LEFT JOIN measurements_measurement ms ON ms.id = d.measurement_id
        LEFT JOIN cells_cell c ON c.id = d.cell_id
        LEFT JOIN formulations_membrane m ON m.id = d.membrane_id
        LEFT JOIN formulations_batch b ON b.id = m.batch_id
        LEFT JOIN formulations_recipeversion rv ON rv.id = b.recipe_version_id
        LEFT JOIN formulations_recipe r ON r.id = rv.recipe_id
        LEFT JOIN formulations_pellet p ON p.id = d.pellet_id
        LEFT JOIN measurements_measurementseries se ON se.id = d.series_id"""
    # the API also prints the JSON of how a property was computed
    derived_api_cols = derived_cols + ", d.parameters, d.inputs"
    lot_sql = """
        SELECT l.id, l.code, l.chemical_id, ch.name AS chemical, ch.abbreviation, l.supplier_id,
        s.name AS supplier, l.supplier_lot_number, l.purity, l.received_on, l.opened_on, l.expires_on,
        l.location_id, loc.name AS location, loc1.name AS location_parent, loc2.name AS location_grandparent,
        loc3.name AS location_great_grandparent, l.container_count, l.quantity_unit, l.quantity_on_hand,
        l.water_content, l.status, l.notes, l.certificate, l.created_at, l.updated_at
        FROM formulations_stocklot l JOIN formulations_chemical ch ON ch.id = l.chemical_id
        LEFT JOIN formulations_supplier s ON s.id = l.supplier_id
        LEFT JOIN formulations_storagelocation loc ON loc.id = l.location_id
        LEFT JOIN formulations_storagelocation loc1 ON loc1.id = loc.parent_id
        LEFT JOIN formulations_storagelocation loc2 ON loc2.id = loc1.parent_id
        LEFT JOIN formulations_storagelocation loc3 ON loc3.id = loc2.parent_id
        WHERE l.status = 'available' ORDER BY l.received_on DESC, l.code LIMIT 50"""
    # the ledger prints the lot's code and unit and who acted; a draw for another team's record is blanked by
    # its team (for_team_id), as the LIMS does
    ledger_sql = """
        SELECT t.id, t.lot_id, l.code AS lot_code, l.quantity_unit AS unit, t.kind, t.quantity, t.entered_as,
        t.balance_after, t.actor_id, u.username AS actor, t.created_at, t.reason, t.purpose, t.batch_id,
        t.override_by_id, o.username AS override_by, t.for_team_id
        FROM formulations_stocktransaction t JOIN formulations_stocklot l ON l.id = t.lot_id
        LEFT JOIN lims_user u ON u.id = t.actor_id LEFT JOIN lims_user o ON o.id = t.override_by_id
        ORDER BY t.id DESC LIMIT 100"""
    choice_lists = [
        {
            "key": "recipes",
            "sql": "SELECT id, name FROM formulations_recipe WHERE team_id = %(team)s ORDER BY name",
        },
        {
            "key": "versions",
            "sql": "SELECT rv.id, r.name, rv.number FROM formulations_recipeversion rv "
            "JOIN formulations_recipe r ON r.id = rv.recipe_id WHERE r.team_id = %(team)s ORDER BY r.name, rv.number",
        },
        {
            "key": "teams",
            "sql": "SELECT t.id, t.name FROM lims_team t JOIN lims_membership ms ON ms.team_id = t.id "
            "WHERE ms.user_id = %(user)s ORDER BY t.name",
        },
    ]
    lineage_cols = """
        m.thickness_from_mass, m.thickness_measured, b.id AS batch_id, b.code AS batch_code, b.status AS batch_status,
        rv.id AS version_id, rv.filler_fraction AS version_filler_fraction, r.id AS recipe_id,
        p.final_thickness, p.lot_id AS pellet_lot_id, e.active_mass, e.active_lot_id, e.conductive_lot_id,
        e.binder_lot_id, t.name AS team"""
    lineage_lots_sql = """
        SELECT l.id, l.code, l.supplier_lot_number, ch.id AS chemical_id, ch.name AS chemical, ch.abbreviation,
        s.id AS supplier_id, s.name AS supplier
        FROM formulations_stocklot l JOIN formulations_chemical ch ON ch.id = l.chemical_id
        LEFT JOIN formulations_supplier s ON s.id = l.supplier_id
        WHERE l.id IN (
            SELECT bc.lot_id FROM formulations_batchcomponent bc
            JOIN formulations_membrane m ON m.batch_id = bc.batch_id JOIN cells_cell c ON c.membrane_id = m.id
            WHERE c.id = %(cell)s
            UNION SELECT cc.lot_id FROM cells_cellcomponent cc WHERE cc.cell_id = %(cell)s
            UNION SELECT p.lot_id FROM formulations_pellet p JOIN cells_cell c ON c.pellet_id = p.id
            WHERE c.id = %(cell)s
            UNION SELECT unnest(ARRAY[e.active_lot_id, e.conductive_lot_id, e.binder_lot_id])
            FROM formulations_electrode e WHERE e.id IN (
                SELECT cathode_id FROM cells_cell WHERE id = %(cell)s
                UNION SELECT electrode_id FROM cells_cellcomponent WHERE cell_id = %(cell)s))"""
    out = [
        Endpoint("API cell list", "/api/v1/cells/", "api", cell_page),
        Endpoint("API cell detail", f"/api/v1/cells/{cell}/", "api", cell_one),
        Endpoint(
            "API lots available",
            "/api/v1/lots/?status=available",
            "api",
            [
                {
                    "key": "count",
                    "sql": "SELECT count(*) AS n FROM formulations_stocklot WHERE status = 'available'",
                    "one": True,
                },
                {"key": "results", "sql": lot_sql},
            ],
        ),
        Endpoint(
            "API ledger (cursor)",
            "/api/v1/stock-transactions/",
            "api",
            [{"key": "results", "sql": ledger_sql}],
        ),
        Endpoint(
            "API measurements of a cell",
            f"/api/v1/measurements/?cell={cell}",
            "api",
            [
                {
                    "key": "count",
                    "sql": "SELECT count(*) AS n FROM measurements_measurement "
                    "WHERE team_id = %(team)s AND cell_id = %(cell)s",
                    "one": True,
                },
                {
                    "key": "results",
                    "sql": f"SELECT {measurement_cols} {measurement_from} "
                    "WHERE ms.team_id = %(team)s AND ms.cell_id = %(cell)s ORDER BY ms.created_at DESC LIMIT 50",
                },
            ],
        ),
        Endpoint(
            "API derived ?name= (cursor)",
            "/api/v1/derived-properties/?name=ionic_conductivity",
            "api",
            [
                {
                    "key": "results",
                    "sql": f"SELECT {derived_api_cols} {derived_from} "
                    "WHERE d.team_id = %(team)s AND d.name = 'ionic_conductivity' ORDER BY d.id DESC LIMIT 100",
                }
            ],
        ),
        Endpoint(
            "API upload status",
            f"/api/v1/uploads/{upload}/",
            "api",
            [
                {
                    "key": "upload",
                    "sql": "SELECT up.id, up.sha256, up.original_name, up.size_bytes, up.detected_format, "
                    "up.technique, up.cell_id, c.code AS cell_code, up.temperature, up.stage, up.progress, "
                    "up.error, up.instrument_id, up.enqueued_at, up.started_at, up.finished_at, up.attempts, "
                    "ms.id AS measurement_id FROM measurements_upload up LEFT JOIN cells_cell c ON c.id = up.cell_id "
                    "LEFT JOIN measurements_measurement ms ON ms.upload_id = up.id WHERE up.id = %(upload)s",
                    "one": True,
                }
            ],
        ),
        # the page also draws its filter form, whose choice lists are rows of the team: its recipes, their
        # versions and the user's teams
        Endpoint("page cell list", "/cells/", "page", cell_page + choice_lists),
        Endpoint(
            "page cell detail",
            f"/cells/{cell}/",
            "page",
            [
                # the cell with its electrolyte's chain (membrane, batch, recipe version, recipe), pellet and cathode
                {
                    "key": "cell",
                    "sql": f"SELECT {cell_cols}, {lineage_cols} {cell_from} WHERE c.id = %(cell)s",
                    "one": True,
                },
                {
                    "key": "components",  # the page names an electrode's active material too
                    "sql": "SELECT cc.id, cc.kind, cc.position, cc.lot_id, l.code AS lot_code, ch.name AS chemical, "
                    "cc.electrode_id, el.code AS electrode_code, ach.name AS electrode_chemical, cc.area, cc.mass_used "
                    "FROM cells_cellcomponent cc LEFT JOIN formulations_stocklot l ON l.id = cc.lot_id "
                    "LEFT JOIN formulations_chemical ch ON ch.id = l.chemical_id "
                    "LEFT JOIN formulations_electrode el ON el.id = cc.electrode_id "
                    "LEFT JOIN formulations_stocklot al ON al.id = el.active_lot_id "
                    "LEFT JOIN formulations_chemical ach ON ach.id = al.chemical_id "
                    "WHERE cc.cell_id = %(cell)s ORDER BY cc.id",
                },
                {
                    "key": "state_changes",  # and the person by name
                    "sql": "SELECT s.id, s.from_state, s.to_state, s.at, u.username AS actor, u.first_name, "
                    "u.last_name, s.reason FROM cells_cellstatechange s LEFT JOIN lims_user u ON u.id = s.actor_id "
                    "WHERE s.cell_id = %(cell)s ORDER BY s.at, s.id",
                },
                {
                    "key": "measurements",
                    "sql": f"SELECT {measurement_cols} {measurement_from} "
                    "WHERE ms.team_id = %(team)s AND ms.cell_id = %(cell)s ORDER BY ms.created_at DESC LIMIT 50",
                },
                {
                    "key": "results",  # every headline property of the cell, as the page lists them
                    "sql": "SELECT id, name, value, unit, uncertainty, temperature, series_id, measurement_id, "
                    "method_version, computed_at FROM measurements_derivedproperty "
                    "WHERE cell_id = %(cell)s AND team_id = %(team)s AND name = ANY(%(headline)s) "
                    "ORDER BY temperature, measurement_id, id",
                },
                {
                    "key": "attachments",
                    "sql": "SELECT a.id, a.kind, a.caption, a.file FROM lims_attachment a "
                    "JOIN django_content_type ct ON ct.id = a.content_type_id "
                    "WHERE ct.app_label = 'cells' AND ct.model = 'cell' AND a.object_id = %(cell)s "
                    "ORDER BY a.created_at",
                },
                {
                    "key": "lots",
                    "sql": lineage_lots_sql,
                },  # the lots behind the cell, their chemicals, suppliers
            ],
        ),
        Endpoint(
            "page derived ?name=",
            "/derived/?name=ionic_conductivity",
            "page",
            [
                {
                    "key": "count",
                    "sql": "SELECT count(*) AS n FROM measurements_derivedproperty "
                    "WHERE team_id = %(team)s AND name = 'ionic_conductivity'",
                    "one": True,
                },
                {
                    "key": "results",
                    "sql": f"SELECT {derived_cols} {derived_from} "
                    "WHERE d.team_id = %(team)s AND d.name = 'ionic_conductivity' "
                    "ORDER BY d.computed_at DESC, d.id DESC LIMIT 50",
                },
            ],
        ),
    ]
    for e in out:
        for q in e.queries:
            q["params"] = p
    return out


def endpoints_at(revision: str, values: dict[str, Any]) -> list[Endpoint]:
    """The endpoints and baseline queries as this file defined them at a git revision (to measure against the
    baselines of an earlier run in the same run)."""
    source = subprocess.run(
        ["git", "show", f"{revision}:bench/bench_http.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType(f"bench_http_at_{revision}")
    module.__file__ = __file__
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"bench_http.py@{revision}", "exec"), module.__dict__)  # noqa: S102 - this repo's own file
    namespace = module.__dict__
    return [Endpoint(e.name, e.url, e.kind, e.queries) for e in namespace["endpoints"](values)]


def prepare() -> tuple[dict[str, Any], str, str]:
    """Values of the run, an API token key and a session cookie of the bench researcher."""
    import django

    django.setup()
    from django.test import Client
    from explain_filters import bench_user

    from cells.models import Cell
    from lims.models import ApiToken
    from lims.permissions import team_ids_for
    from measurements.models import Upload

    user = bench_user()
    team = team_ids_for(user)[0]
    # a cell of the team with a typical number of measurements (2-4) on a membrane
    cell = (
        Cell.objects.filter(team_id=team, membrane__isnull=False, measurements__isnull=False)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    upload = Upload.objects.filter(team_id=team).order_by("-id").values_list("id", flat=True).first()
    ApiToken.objects.filter(user=user, name="bench_http").delete()
    _, key = ApiToken.issue(user=user, name="bench_http")
    client = Client()
    client.force_login(user)
    session = client.cookies["sessionid"].value
    from measurements.selectors_derived import HEADLINE_NAMES

    values = {"team": team, "cell": cell, "upload": upload, "user": user.pk, "headline": list(HEADLINE_NAMES)}
    return values, key, session


def libpq_url(django_url: str) -> str:
    return django_url.replace("postgres://", "postgresql://", 1)


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )


def lab_database_url() -> str:
    """BENCH_DATABASE_URL (or DATABASE_URL) of a generated lab, which must be PostgreSQL; Django is pointed at it."""
    database_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("set BENCH_DATABASE_URL to the PostgreSQL database of a generated lab")
    os.environ["DATABASE_URL"] = database_url
    return database_url


def gunicorn(app: str, port: int, workers: int) -> list[str]:
    """The command line of one benchmarked server: sync workers, --preload, the same for the LIMS and baseline."""
    return [
        str(Path(sys.executable).parent / "gunicorn"),
        app,
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        str(workers),
        "-k",
        "sync",
        "--preload",
        "--log-level",
        "warning",
        "--timeout",
        "60",
    ]


def server_envs(
    database_url: str, queries: Path, prepared: bool = True
) -> tuple[dict[str, str], dict[str, str]]:
    """The environments of the LIMS (production-like: no debug, persistent connections) and of the baseline app."""
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "REDIS_URL")}
    lims_env = {
        **env,
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
        "DEBUG": "0",
        "DB_CONN_MAX_AGE": "600",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "DB_PREPARED_STATEMENTS": "1" if prepared else "0",
    }
    base_env = {
        **env,
        "BASELINE_QUERIES": str(queries),
        "BASELINE_DATABASE_URL": libpq_url(database_url),
        "PYTHONPATH": str(ROOT / "bench"),
    }
    return lims_env, base_env


def stop(servers: list[subprocess.Popen[bytes]], timeout_s: float = 20.0) -> None:
    """Terminate the servers' (or workers') process groups; kill what is still running after ``timeout_s``."""
    for server in servers:
        try:
            os.killpg(server.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for server in servers:
        try:
            server.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def wait_port_free(port: int, timeout_s: float = 30.0) -> None:
    """Wait until nothing listens on ``port`` (the servers of an earlier run may still be shutting down: their
    workers would answer this run's requests with that run's token, which this run deleted)."""
    import socket

    deadline = time.monotonic() + timeout_s
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return
        if time.monotonic() > deadline:
            raise SystemExit(f"port {port} is still in use after {timeout_s:.0f} s")
        time.sleep(0.5)


def wait_ready(url: str, headers: dict[str, str], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            request = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(request, timeout=10) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} did not answer 200 within {timeout_s:.0f} s")
        time.sleep(0.5)


def fetch(url: str, headers: dict[str, str]) -> tuple[int, int]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, len(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, 0


def wrk(url: str, headers: dict[str, str], seconds: float, connections: int, script: Path) -> dict[str, Any]:
    cmd = [
        "wrk",
        "-t",
        str(min(2, connections)),
        "-c",
        str(connections),
        "-d",
        f"{seconds:g}s",
        "-s",
        str(script),
    ]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    done = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=seconds + 60)
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not line:
        raise SystemExit(f"wrk failed on {url}: {done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(line[-1])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def _interleaved(
    lims_url: str,
    headers: dict[str, str],
    base_url: str,
    seconds: float,
    rounds: int,
    connections: int,
    script: Path,
) -> tuple[dict[str, Any], dict[str, Any], float]:
    """The LIMS and its baseline measured in ``rounds`` alternating slices of ``seconds / rounds`` each (LIMS,
    baseline, LIMS, baseline...), so that both see the same minutes of a noisy machine. Per server: the p50 is the
    median of the slices' p50s, the p95 the highest slice p95, errors and requests their sums; the ratio is the
    median of the slices' own ratios (each LIMS slice against the baseline slice right after it)."""
    slice_s = seconds / rounds
    lims_runs, base_runs = [], []
    for _ in range(rounds):
        lims_runs.append(wrk(lims_url, headers, slice_s, connections, script))
        base_runs.append(wrk(base_url, {}, slice_s, connections, script))

    def pooled(runs: list[dict[str, Any]]) -> dict[str, Any]:
        requests = sum(r["requests"] for r in runs)
        duration_us = sum(r["duration_us"] for r in runs)
        return {
            "requests": requests,
            "duration_us": duration_us,
            "rps": requests / (duration_us / 1e6),
            "p50_us": statistics.median(r["p50_us"] for r in runs),
            "p95_us": max(r["p95_us"] for r in runs),
            "errors": sum(r["errors"] for r in runs),
            "p50_slices_ms": [r["p50_us"] / 1000 for r in runs],
        }

    ratios = [lr["p50_us"] / max(br["p50_us"], 1) for lr, br in zip(lims_runs, base_runs, strict=True)]
    lims = pooled(lims_runs)
    lims["ratio_slices"] = [round(r, 2) for r in ratios]
    return lims, pooled(base_runs), statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk run per URL and per server")
    parser.add_argument(
        "--warmup",
        type=float,
        default=3.0,
        help="per URL and server, before any measurement (every worker's "
        "first requests import the views and their libraries: seconds, not milliseconds)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="alternating LIMS/baseline slices per URL (the --seconds are split among them; 1 = one run each)",
    )
    parser.add_argument("--connections", type=int, default=2, help="wrk connections (2 = one per core here)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers per server")
    parser.add_argument("--port", type=int, default=8130, help="LIMS port; the baseline gets port + 1")
    parser.add_argument("--only", default="", help="only endpoints whose name contains this")
    parser.add_argument(
        "--no-prepared",
        action="store_true",
        help="run the LIMS without DB_PREPARED_STATEMENTS (the baseline's psycopg prepares after 5 runs anyway)",
    )
    parser.add_argument("--json", default="", help="also write the results to this file")
    parser.add_argument(
        "--also-baseline-of",
        default="",
        metavar="REV",
        help="also measure the baselines as bench_http.py defined them at this git revision, and print the "
        "ratios against them (e.g. 7992f10: before the baselines fetched every row the pages show)",
    )
    args = parser.parse_args()
    database_url = lab_database_url()
    values, token, session = prepare()
    chosen = [e for e in endpoints(values) if args.only.lower() in e.name.lower()]
    earlier: dict[str, Endpoint] = {}
    if args.also_baseline_of:
        earlier = {e.name: e for e in endpoints_at(args.also_baseline_of, values)}
    workdir = Path(tempfile.mkdtemp(prefix="bench-http-"))
    (workdir / "report.lua").write_text(LUA)
    routes = {f"/b/{i}": {"queries": e.queries} for i, e in enumerate(chosen)}
    routes.update(
        {f"/o/{i}": {"queries": earlier[e.name].queries} for i, e in enumerate(chosen) if e.name in earlier}
    )
    (workdir / "queries.json").write_text(json.dumps(routes))
    lims_env, base_env = server_envs(database_url, workdir / "queries.json", prepared=not args.no_prepared)
    lims_port, base_port = args.port, args.port + 1
    wait_port_free(lims_port)
    wait_port_free(base_port)
    servers = [
        start(gunicorn("lims.wsgi:application", lims_port, args.workers), lims_env, workdir / "lims.log"),
        start(
            gunicorn("baseline_app:application", base_port, args.workers), base_env, workdir / "baseline.log"
        ),
    ]
    results: list[dict[str, Any]] = []
    try:
        api_headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
        page_headers = {"Cookie": f"sessionid={session}", "Accept": "text/html"}
        wait_ready(f"http://127.0.0.1:{lims_port}/api/v1/me/", api_headers)
        wait_ready(f"http://127.0.0.1:{base_port}/b/0", {})
        print(
            f"gunicorn x{args.workers} sync workers per server; wrk {args.connections} connections, "
            f"{args.seconds:g} s per URL and server (after {args.warmup:g} s warm-up); team {values['team']}, "
            f"cell {values['cell']}, upload {values['upload']}; LIMS with DB_PREPARED_STATEMENTS="
            f"{lims_env['DB_PREPARED_STATEMENTS']}\n"
        )
        for i, e in enumerate(chosen):  # warm every worker of both servers on every URL first
            headers = api_headers if e.kind == "api" else page_headers
            wrk(
                f"http://127.0.0.1:{lims_port}{e.url}",
                headers,
                args.warmup,
                2 * args.workers,
                workdir / "report.lua",
            )
            wrk(
                f"http://127.0.0.1:{base_port}/b/{i}",
                {},
                args.warmup,
                2 * args.workers,
                workdir / "report.lua",
            )
        head = (
            f"{'endpoint':<30} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'base p50':>9} {'base p95':>9} "
            f"{'ratio p50':>9} {'errors':>7}  verdict"
        )
        print(head)
        print("-" * len(head))
        for i, e in enumerate(chosen):
            headers = api_headers if e.kind == "api" else page_headers
            lims_url = f"http://127.0.0.1:{lims_port}{e.url}"
            base_url = f"http://127.0.0.1:{base_port}/b/{i}"
            status, size = fetch(lims_url, headers)
            b_status, b_size = fetch(base_url, {})
            if status != 200 or b_status != 200:
                raise SystemExit(f"{e.name}: LIMS answered {status}, baseline {b_status}")
            wrk(lims_url, headers, 1.0, args.connections, workdir / "report.lua")
            wrk(base_url, {}, 1.0, args.connections, workdir / "report.lua")
            lims, base, ratio = _interleaved(
                lims_url,
                headers,
                base_url,
                args.seconds,
                args.rounds,
                args.connections,
                workdir / "report.lua",
            )
            old: dict[str, Any] | None = None
            if e.name in earlier:
                old_url = f"http://127.0.0.1:{base_port}/o/{i}"
                wrk(old_url, {}, 1.0, args.connections, workdir / "report.lua")
                old = wrk(old_url, {}, args.seconds, args.connections, workdir / "report.lua")
            ok = ratio <= 3.0 and lims["p95_us"] < 150_000 and lims["errors"] == 0
            row = {
                "endpoint": e.name,
                "url": e.url,
                "bytes": size,
                "baseline_bytes": b_size,
                "rps": round(lims["rps"], 1),
                "p50_ms": lims["p50_us"] / 1000,
                "p95_ms": lims["p95_us"] / 1000,
                "baseline_p50_ms": base["p50_us"] / 1000,
                "baseline_p95_ms": base["p95_us"] / 1000,
                "ratio_p50": round(ratio, 2),
                "ratio_p50_slices": lims["ratio_slices"],
                "p50_slices_ms": lims["p50_slices_ms"],
                "baseline_p50_slices_ms": base["p50_slices_ms"],
                "errors": lims["errors"],
                "baseline_errors": base["errors"],
                "meets_target": ok,
            }
            if old is not None:
                row["earlier_baseline_p50_ms"] = old["p50_us"] / 1000
                row["ratio_p50_earlier_baseline"] = round(lims["p50_us"] / max(old["p50_us"], 1), 2)
            results.append(row)
            print(
                f"{e.name:<30} {row['rps']:>7.1f} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} "
                f"{row['baseline_p50_ms']:>9.1f} {row['baseline_p95_ms']:>9.1f} {ratio:>8.2f}x {row['errors']:>7}  "
                f"{'ok' if ok else 'MISSES TARGET'}"
                + (
                    f"  (earlier baseline {row['earlier_baseline_p50_ms']:.1f} ms: "
                    f"{row['ratio_p50_earlier_baseline']:.2f}x)"
                    if old is not None
                    else ""
                ),
                flush=True,
            )
    finally:
        stop(servers)
    missed = [r["endpoint"] for r in results if not r["meets_target"]]
    print(
        "\ntargets: p50 within 3x of the baseline, p95 < 150 ms, no errors; "
        + ("all met" if not missed else f"missed by: {', '.join(missed)}")
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
