"""Benchmark: parse a 1,000,000-row BioLogic GCPL .mpt file.

Plain script (not a pytest test)::

    python bench/bench_parse_mpt.py [--rows 1000000] [--repeat 3] [--keep DIR]

It writes a realistic synthetic EC-Lab export (10,000 h Li|Li symmetric cell, +-0.1 mA square
wave of 1 h half cycles, |V| ~ 0.4 V with noise, 36 s sampling, proper EC-Lab header) with
``measurements.parsers.synthetic_mpt.write_mpt`` into a temporary directory, then times

(a) ``measurements.parsers.parse_file`` (detection + header + data + canonical mapping +
    validation), and
(b) the baseline: ``pyarrow.csv.read_csv`` of the data block alone (all columns),

and prints rows/s, the ratio ours / pyarrow and the peak memory. Each measurement runs in a
fresh child process so that its peak RSS (``resource.getrusage``) is its own; the peak of
pyarrow's memory pool is printed too (tracemalloc cannot see Arrow's C++ allocations).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_gcpl(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Canonical columns of an n-point Li|Li symmetric GCPL run (36 s sampling)."""
    rng = np.random.default_rng(seed)
    dt = 36.0  # 10,000 h over 1,000,000 points
    t = np.arange(n, dtype=np.float64) * dt + rng.uniform(0, 1e-3, n)
    t.sort()
    per_half = int(3600 / dt)  # 1 h per half cycle
    half = np.arange(n) // per_half
    current = np.where(half % 2 == 0, 1e-4, -1e-4)
    voltage = np.sign(current) * (0.4 + 0.02 * np.log1p(half / 100.0)) + rng.normal(0, 2e-3, n)
    dq = current * np.diff(t, prepend=t[0]) / 3600.0
    charge = np.cumsum(dq)
    starts = np.searchsorted(half, np.arange(half[-1] + 1))
    q_half = charge - (charge[starts] - dq[starts])[half]  # charge within the half cycle
    return {
        "time_s": t,
        "voltage_V": voltage,
        "current_A": current,
        "charge_Ah": charge,
        "capacity_charge_Ah": np.where(q_half > 0, q_half, 0.0),
        "capacity_discharge_Ah": np.where(q_half < 0, -q_half, 0.0),
        "half_cycle": half,
        "cycle": half // 2,
        "step": (half % 2) + 1,
        "temperature_C": 25.0 + rng.normal(0, 0.05, n),
    }


def _parse_once(path: str) -> tuple[float, int]:
    from measurements.parsers import parse_file

    t0 = time.perf_counter()
    d = parse_file(path)
    return time.perf_counter() - t0, d.n_rows


def _pyarrow_once(path: str) -> tuple[float, int]:
    import pyarrow.csv as pacsv

    with open(path, "rb") as fh:
        fh.readline()
        n_header = int(fh.readline().split(b":")[1])
    t0 = time.perf_counter()
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(skip_rows=n_header, autogenerate_column_names=True),
        parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False),
    )
    return time.perf_counter() - t0, table.num_rows


def _measure(kind: str, path: str, repeat: int) -> None:
    """Child process: print one JSON line.

    kind "timing": warm up, then alternate ours / pyarrow ``repeat`` times (same process, same
    page cache, so the machine's noise hits both alike); kind "mem-parse" / "mem-pyarrow": one
    run in a fresh process, peak RSS of that process.
    """
    import pyarrow as pa

    result: dict[str, float] = {}
    if kind == "timing":
        t_imp = time.perf_counter()
        from measurements.parsers.synthetic_mpt import write_mpt

        small = Path(path).with_name("warmup.mpt")
        write_mpt(small, "GCPL", make_gcpl(100))
        _parse_once(str(small))
        result["warmup_seconds"] = time.perf_counter() - t_imp
        ours, base = [], []
        for _ in range(repeat):
            ours.append(_parse_once(path))
            base.append(_pyarrow_once(path))
        result["ours"] = min(t for t, _ in ours)
        result["pyarrow"] = min(t for t, _ in base)
        result["ours_median"] = float(np.median([t for t, _ in ours]))
        result["pyarrow_median"] = float(np.median([t for t, _ in base]))
        result["rows"] = float(ours[0][1] if ours[0][1] == base[0][1] else -1)
    else:
        _, rows = _parse_once(path) if kind == "mem-parse" else _pyarrow_once(path)
        result["rows"] = float(rows)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        result["arrow_pool_peak_mb"] = pa.default_memory_pool().max_memory() / 1e6
    print(json.dumps(result))


def _run_child(kind: str, path: Path, repeat: int = 1) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path), str(repeat)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None, help="write the file here and keep it")
    ap.add_argument("--child", nargs=3, metavar=("KIND", "PATH", "REPEAT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _measure(args.child[0], args.child[1], int(args.child[2]))
        return

    from measurements.parsers.synthetic_mpt import write_mpt

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "bench_gcpl_1M.mpt"
        t0 = time.perf_counter()
        cols = make_gcpl(args.rows)
        write_mpt(path, "GCPL", cols)
        gen_s = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        print(f"generated {args.rows:,} rows, {size_mb:.0f} MB in {gen_s:.1f} s -> {path}")

        t = _run_child("timing", path, args.repeat)
        m_ours = _run_child("mem-parse", path)
        m_base = _run_child("mem-pyarrow", path)
        assert t["rows"] == m_ours["rows"] == m_base["rows"] == args.rows, (t, m_ours, m_base)
        o, b = t["ours"], t["pyarrow"]
        print(
            f"(a) parse_file        : {o:6.3f} s (median {t['ours_median']:.3f})  "
            f"{args.rows / o / 1e6:5.2f} M rows/s  peak RSS {m_ours['peak_rss_mb']:5.0f} MB  "
            f"arrow pool peak {m_ours['arrow_pool_peak_mb']:4.0f} MB"
        )
        print(
            f"(b) pyarrow.csv block : {b:6.3f} s (median {t['pyarrow_median']:.3f})  "
            f"{args.rows / b / 1e6:5.2f} M rows/s  peak RSS {m_base['peak_rss_mb']:5.0f} MB  "
            f"arrow pool peak {m_base['arrow_pool_peak_mb']:4.0f} MB"
        )
        print(
            f"ratio ours / pyarrow  : {o / b:.2f}  (best of {args.repeat}, alternated in one "
            f"process; file {size_mb:.0f} MB)"
        )
        print(
            "one-off cost of a fresh process (imports + first call on a tiny file): "
            f"{t['warmup_seconds']:.2f} s"
        )


if __name__ == "__main__":
    main()
