"""Benchmark: symmetric and full-cell cycling analysis on generated 1,000,000-row records.

Run: python bench/bench_cycling.py  (target: each analysis < 1 s)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from measurements.analysis import cycling  # noqa: E402
from measurements.analysis import synthetic as syn  # noqa: E402


def main() -> None:
    # Li|E|Li: 0.1 mA/cm^2 on 2 cm^2, 1000 h of 1 h half cycles, 1000 points each = 1e6 rows
    sym = syn.symmetric_cycling(
        1.0,
        2e-4,
        0.40,
        1000,
        points_per_half_cycle=1000,
        short_at_h=740.3,
        soft_short_at_h=300.5,
        noise_V=0.002,
    )
    # Li|E|LFP: 500 cycles at 0.2 C, 1000 points per half cycle = 1e6 rows
    q = np.linspace(138.16, 133.73, 500)
    full = syn.full_cell_cycling(q, 3e-6, 0.2, 170.0, 0.999, points_per_half_cycle=1000)
    print(f"rows: symmetric {sym.time_s.size:,}, full cell {full.time_s.size:,}")
    for _ in range(2):  # second pass is the warm number
        t0 = time.perf_counter()
        s = cycling.analyse_symmetric(sym.time_s, sym.voltage_V, sym.current_A)
        t1 = time.perf_counter()
        f = cycling.analyse_full_cell(full.time_s, full.voltage_V, full.current_A, 3e-6, 170.0)
        t2 = time.perf_counter()
    print(
        f"symmetric: {t1 - t0:.3f} s  ({s.n_half_cycles} half cycles, {s.failure_mode} at "
        f"{s.lifetime_h:.1f} h, {len(s.soft_shorts)} soft short)"
    )
    print(
        f"full cell: {t2 - t1:.3f} s  ({f.cycle.size} cycles, retention {f.retention[-1]:.4f}, "
        f"mean CE {f.mean_ce_excluding_first:.4f})"
    )
    print(f"total:     {t2 - t0:.3f} s (target < 1 s each)")


if __name__ == "__main__":
    main()
