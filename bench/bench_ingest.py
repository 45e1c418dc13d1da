"""Benchmark of the whole ingest pipeline (issue 6, item 7). Run on demand, not in CI:

    python bench/bench_ingest.py [--rows 1000000] [--keep]

A generated GCPL .mpt (1,000,000 rows at 36 s = 10,000 h of a Li|E|Li symmetric cell, +-0.1 mA switched every hour)
goes through the pipeline in ONE process: store (stream + SHA-256), detect, parse, cycle summaries, Parquet (zstd),
Measurement + CycleSummary rows. Printed: rows/s, peak memory (peak RSS growth of this process during the
pipeline), and the ratios to the baselines measured in the same run on the same file:

* pyarrow's CSV reader reading the data block alone (tab-separated, header lines skipped);
* navani (which reads .mpt through its own pandas code): run when installed, otherwise reported as not run;
  galvani reads only the binary .mpr, so it cannot be a baseline for an .mpt.

Targets (issue 6): pipeline within 3x of pyarrow, faster than navani, peak memory under 4x the uncompressed size of
the Parquet data. The database is a temporary SQLite file (or BENCH_DATABASE_URL).

Throughput with Celery workers (issue 10), the same pipeline through the broker as in production:

    BENCH_DATABASE_URL=postgres://... BENCH_BROKER_URL=redis://127.0.0.1:6379/13 \
        python bench/bench_ingest.py --celery-workers 1,2 --files 16 --rows 50000

For each worker count W: W worker processes (``celery worker -Q ingest,default --pool solo``: one task at a time
each, as ``--concurrency`` counts on a bigger machine) are started against the broker and the database; --files
new GCPL files (distinct bytes) are stored and enqueued at once, as instruments do at the end of a test; the time
from the first enqueue until every upload is "done" (parsed, Parquet written, summaries and derived properties
stored) gives files/s and rows/s. Printed: the table per W and the speed-up of each W over W = 1.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_kib(field: str) -> int:
    """VmRSS / VmHWM of this process in KiB (Linux)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def generate(path: Path, rows: int) -> None:
    import numpy as np

    from measurements.parsers.synthetic_mpt import write_mpt

    rng = np.random.default_rng(6)
    t = np.arange(rows, dtype=np.float64) * 36.0
    half = (np.arange(rows) // 100).astype(np.int64)  # 100 rows x 36 s = 1 h per half cycle
    current = np.where(half % 2 == 0, 1e-4, -1e-4)
    growth = 0.02 + 0.03 * t / t[-1]
    voltage = np.sign(current) * (growth + 0.002 * rng.standard_normal(rows))
    cycle = half // 2
    dq = np.zeros(rows)
    dq[1:] = current[1:] * 36.0 / 3600.0
    write_mpt(
        path,
        "GCPL",
        {
            "time_s": t,
            "voltage_V": voltage,
            "current_A": current,
            "charge_Ah": np.cumsum(dq),
            "cycle": cycle,
            "half_cycle": half,
            "step": (half % 2) + 1,
        },
    )


def pyarrow_baseline(path: Path) -> tuple[float, int]:
    import pyarrow.csv as pacsv

    with path.open("rb") as fh:
        fh.readline()
        n_header = int(fh.readline().split(b":")[1])
    start = time.perf_counter()
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(
            skip_rows=n_header, autogenerate_column_names=True, block_size=1 << 24
        ),
        parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False),
    )
    elapsed = time.perf_counter() - start
    return elapsed, table.num_rows


NAVANI_VENV = ROOT / "var" / "bench-venvs" / "navani"
NAVANI_SCRIPT = """
import json, sys, time
import navani.echem as ec
start = time.perf_counter()
frame = ec.echem_file_loader(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - start, "rows": len(frame)}))
"""


def navani_python() -> Path | None:
    """navani pins numpy < 2, which the LIMS cannot share: it gets a venv of its own under var/bench-venvs/
    (made on first use with ``pip install navani``), and runs in a child process on the same file."""
    python = NAVANI_VENV / "bin" / "python"
    if not python.exists():
        print("making a venv for navani (once) ...", flush=True)
        try:
            subprocess.run([sys.executable, "-m", "venv", str(NAVANI_VENV)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", "navani"], check=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"could not install navani: {exc}")
            return None
    return python


def navani_baseline(path: Path) -> tuple[float | None, str]:
    python = navani_python()
    if python is None:
        return None, "not run: navani could not be installed here"
    done = subprocess.run(
        [str(python), "-c", NAVANI_SCRIPT, str(path)], capture_output=True, text=True, timeout=3600
    )
    if done.returncode != 0:
        return None, f"not run: navani failed: {done.stderr.strip().splitlines()[-1:]}"
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return float(out["seconds"]), f"{out['rows']} rows (navani.echem.echem_file_loader, own venv)"


def setup_django(workdir: Path) -> None:
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    os.environ["DATABASE_URL"] = (
        os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{workdir / 'bench.sqlite3'}"
    )
    for name in ("CELERY_BROKER_URL", "REDIS_URL"):
        os.environ.pop(name, None)  # tasks in-process: this benchmark measures one process
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lims.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def sample_cell():  # type: ignore[no-untyped-def]
    from cells.models import Cell
    from formulations.models import Chemical, Pellet, StockLot
    from lims.models import Membership, Team, User

    team, _ = Team.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    user, _ = User.objects.get_or_create(username="bench")
    Membership.objects.get_or_create(user=user, team=team, defaults={"role": "researcher"})
    chem, _ = Chemical.objects.get_or_create(name="LLZTO (bench)")
    lot, _ = StockLot.objects.get_or_create(code="L-BENCH", defaults={"chemical": chem})
    pellet, _ = Pellet.objects.get_or_create(
        code="P-BENCH",
        defaults=dict(
            team=team,
            lot=lot,
            powder_mass=0.5,
            press_pressure=300,
            sinter_temperature=1200,
            sinter_dwell=3600,
            final_diameter=10,
            final_thickness=1,
            final_mass=0.4,
        ),
    )
    cell, _ = Cell.objects.get_or_create(
        code="BENCH-SYM-1",
        defaults=dict(team=team, configuration="symmetric", pellet=pellet, active_area=0.785, operator=user),
    )
    return user, cell


def _start_workers(n: int, env: dict[str, str], workdir: Path) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(n):
        log = (workdir / f"worker-{n}-{i}.log").open("wb")
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "lims",
            "worker",
            "-Q",
            "ingest,default",
            "--pool",
            "solo",
        ]
        cmd += ["-n", f"bench{i}@%h", "-l", "warning", "--without-gossip", "--without-mingle"]
        procs.append(
            subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        )
    return procs


def _stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_http import stop

    stop(procs, timeout_s=30.0)


def celery_throughput(args: argparse.Namespace) -> None:
    """Files/s and rows/s of the broker pipeline with 1, 2, ... worker processes (see the module docstring)."""
    database_url = os.environ.get("BENCH_DATABASE_URL", "")
    broker_url = os.environ.get("BENCH_BROKER_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")) or not broker_url:
        raise SystemExit(
            "--celery-workers needs BENCH_DATABASE_URL (PostgreSQL) and BENCH_BROKER_URL (Redis)"
        )
    counts = [int(x) for x in args.celery_workers.split(",") if x.strip()]
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-celery-"))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "MEDIA_ROOT": str(workdir / "media"),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "lims.settings",
    }
    env.pop("REDIS_URL", None)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "CELERY_BROKER_URL", "MEDIA_ROOT")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lims.settings")
    import django

    django.setup()
    from django.core.files import File
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from lims.celery import app
    from measurements.models import Stage, Upload
    from measurements.services import ingest

    with app.connection_for_write() as conn:  # an empty broker: nothing left from an earlier run
        for queue in ("ingest", "default"):
            conn.default_channel.queue_purge(queue)
    user, cell = sample_cell()
    results = []
    for w in counts:
        files = []
        for k in range(args.files):
            path = workdir / f"w{w}-{k}.mpt"
            generate_distinct(path, args.rows, seed=1000 * w + k + int(time.time()) % 100_000)
            files.append(path)
        procs = _start_workers(w, env, workdir)
        try:
            deadline = time.monotonic() + 120
            while len(app.control.ping(timeout=1.0) or []) < w:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{w} workers did not answer within 120 s (see {workdir})")
            ids = []
            start = time.perf_counter()
            for path in files:
                with path.open("rb") as fh:
                    stored = ingest.store_upload(
                        file=File(fh, name=path.name),
                        filename=path.name,
                        uploaded_by=user,
                        team=cell.team,
                        cell=cell,
                    )
                ids.append(stored.upload.pk)
            enqueued = time.perf_counter() - start
            while True:
                stages = dict(Upload.objects.filter(pk__in=ids).values_list("pk", "stage"))
                if all(v in (Stage.DONE, Stage.FAILED) for v in stages.values()):
                    break
                if time.perf_counter() - start > args.timeout:
                    raise SystemExit(f"not done after {args.timeout} s: {stages}")
                time.sleep(0.2)
            elapsed = time.perf_counter() - start
        finally:
            _stop_workers(procs)
        failed = [pk for pk, v in stages.items() if v == Stage.FAILED]
        results.append(
            {
                "workers": w,
                "files": len(ids),
                "rows_per_file": args.rows,
                "seconds": round(elapsed, 2),
                "store_and_enqueue_s": round(enqueued, 2),
                "files_per_s": round(len(ids) / elapsed, 3),
                "rows_per_s": round(len(ids) * args.rows / elapsed),
                "failed": len(failed),
            }
        )
        print(json.dumps(results[-1]), flush=True)
    base = results[0]["files_per_s"]
    print(
        f"\n{'workers':>7} {'files':>5} {'seconds':>8} {'files/s':>8} {'rows/s':>10} {'speed-up':>8} {'failed':>6}"
    )
    for r in results:
        print(
            f"{r['workers']:>7} {r['files']:>5} {r['seconds']:>8.1f} {r['files_per_s']:>8.2f} "
            f"{r['rows_per_s']:>10,} {r['files_per_s'] / base:>7.2f}x {r['failed']:>6}"
        )
    print(f"(machine: {os.cpu_count()} cores; each worker runs one task at a time; {workdir})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


def generate_distinct(path: Path, rows: int, seed: int) -> None:
    """``generate`` with its own noise, so that every file has other bytes (another SHA-256, another upload)."""
    import numpy as np

    from measurements.parsers.synthetic_mpt import write_mpt

    rng = np.random.default_rng(seed)
    t = np.arange(rows, dtype=np.float64) * 36.0
    half = (np.arange(rows) // 100).astype(np.int64)
    current = np.where(half % 2 == 0, 1e-4, -1e-4)
    voltage = np.sign(current) * (0.02 + 0.03 * t / t[-1] + 0.002 * rng.standard_normal(rows))
    dq = np.zeros(rows)
    dq[1:] = current[1:] * 36.0 / 3600.0
    write_mpt(
        path,
        "GCPL",
        {
            "time_s": t,
            "voltage_V": voltage,
            "current_A": current,
            "charge_Ah": np.cumsum(dq),
            "cycle": half // 2,
            "half_cycle": half,
            "step": (half % 2) + 1,
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    parser.add_argument(
        "--celery-workers",
        default="",
        help='e.g. "1,2": throughput through the broker with that many workers',
    )
    parser.add_argument("--files", type=int, default=16, help="files per worker count (--celery-workers)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per worker count at most")
    parser.add_argument("--json", default="", help="also write the --celery-workers results to this file")
    args = parser.parse_args()
    if args.celery_workers:
        celery_throughput(args)
        return

    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    mpt = workdir / "gcpl_symmetric_10000h.mpt"
    setup_django(workdir)

    t0 = time.perf_counter()
    generate(mpt, args.rows)
    print(
        f"generated {args.rows:,} rows, {mpt.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s"
    )

    arrow_s, arrow_rows = pyarrow_baseline(mpt)
    navani_s, navani_note = navani_baseline(mpt)
    user, cell = sample_cell()

    from unittest import mock

    from django.core.files import File

    from measurements.models import CycleSummary, Measurement, Stage
    from measurements.services import ingest
    from measurements.storage import read_table

    # a worker imports its task modules (and with them scipy) once at start-up, not per upload
    for module in ("measurements.services.derive", "measurements.tasks"):
        importlib.import_module(module)

    gc.collect()
    peak_reset = reset_peak()
    rss_before = rss_kib("VmRSS")
    start = time.perf_counter()
    with mock.patch.object(ingest, "enqueue_parse", lambda upload_id: True), mpt.open("rb") as fh:
        stored = ingest.store_upload(
            file=File(fh, name=mpt.name), filename=mpt.name, uploaded_by=user, team=cell.team, cell=cell
        )
    stored_s = time.perf_counter() - start
    upload = ingest.process_upload(stored.upload.pk)
    pipeline_s = time.perf_counter() - start
    peak_kib = rss_kib("VmHWM") - rss_before

    assert upload is not None and upload.stage == Stage.DONE, upload.error if upload else "no upload"
    measurement = Measurement.objects.get(upload=upload)
    assert measurement.row_count == args.rows == arrow_rows
    import pyarrow.parquet as pq
    from django.core.files.storage import default_storage

    with default_storage.open(measurement.data_file, "rb") as fh:
        meta = pq.ParquetFile(fh).metadata
        uncompressed = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    compressed = default_storage.size(measurement.data_file)
    assert read_table(measurement.data_file).num_rows == args.rows
    summaries = CycleSummary.objects.filter(measurement=measurement).count()

    result = {
        "rows": args.rows,
        "file_MB": round(mpt.stat().st_size / 1e6, 1),
        "pipeline_s": round(pipeline_s, 2),
        "store_s": round(stored_s, 2),
        "rows_per_s": round(args.rows / pipeline_s),
        "pyarrow_csv_s": round(arrow_s, 2),
        "ratio_to_pyarrow": round(pipeline_s / arrow_s, 2),
        "navani_s": None if navani_s is None else round(navani_s, 2),
        "ratio_to_navani": None if navani_s is None else round(pipeline_s / navani_s, 2),
        "navani": navani_note,
        "galvani": "not run: galvani reads only .mpr, not the .mpt export",
        "peak_memory_MB": round(peak_kib / 1024, 1) if peak_reset else None,
        "parquet_uncompressed_MB": round(uncompressed / 1e6, 1),
        "parquet_zstd_MB": round(compressed / 1e6, 1),
        "peak_over_uncompressed": round(peak_kib * 1024 / uncompressed, 2) if peak_reset else None,
        "cycle_summary_rows": summaries,
    }
    print(json.dumps(result, indent=2))
    print(
        f"pipeline {args.rows:,} rows in {pipeline_s:.2f} s = {args.rows / pipeline_s:,.0f} rows/s; "
        f"{pipeline_s / arrow_s:.2f}x pyarrow's CSV reader ({arrow_s:.2f} s; target <= 3x); "
        + (f"{pipeline_s / navani_s:.2f}x navani; " if navani_s else f"navani {navani_note}; ")
        + (
            f"peak memory {peak_kib / 1024:.0f} MB = {peak_kib * 1024 / uncompressed:.2f}x the uncompressed Parquet "
            f"data ({uncompressed / 1e6:.0f} MB; target < 4x)"
            if peak_reset
            else "peak memory not measured (cannot reset VmHWM)"
        )
    )
    if not args.keep:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"kept {workdir}")


if __name__ == "__main__":
    main()
