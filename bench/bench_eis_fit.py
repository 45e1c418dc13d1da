"""Benchmark: measurements.analysis.eis.fit_circuit vs impedance.py CustomCircuit.fit.

Same data, circuit, initial guess and (unit) weighting for both. Run:
    python bench/bench_eis_fit.py [N]
Prints per-fit time (median of N), the speed ratio (target: ours >= 3x faster) and the maximum
relative parameter difference.  impedance.py is used here only for comparison.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from measurements.analysis.eis import fit_circuit, parse_circuit  # noqa: E402
from measurements.analysis.synthetic import eis_spectrum  # noqa: E402

try:
    from impedance.models.circuits import CustomCircuit
except ImportError:  # pragma: no cover
    sys.exit("impedance.py is not installed: pip install impedance")

DATA = Path("/work/shared/echem_data")


def _median_time(fn, n: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times = []
    out = None
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def main(n: int = 10) -> None:
    warnings.simplefilter("ignore")
    ref = json.loads((DATA / "impedancepy_fit_reference.json").read_text())
    d = np.loadtxt(DATA / "eis" / "impedancepy_exampleData.csv", delimiter=",")
    f, z = d[:, 0], d[:, 1] + 1j * d[:, 2]
    keep = z.imag < 0
    cases = []
    for key in ref:
        if key.startswith("_") or "global" in key or ref[key].get("constants"):
            continue
        r = ref[key]
        weighted = bool(r["fit_kwargs"].get("weight_by_modulus"))
        cases.append((f"real: {key[:40]}", r["circuit"], r["initial_guess"], f[keep], z[keep], weighted))
    fs = np.logspace(np.log10(7e6), -2, 89)
    synth = [
        (
            "R0-p(R1,CPE1)-p(R2,CPE2)",
            [94, 300, 1e-7, 0.9, 172, 1e-4, 0.85],
            [80, 250, 2e-7, 0.85, 200, 5e-5, 0.8],
        ),
        ("R0-p(R1,CPE1)-CPE2", [20, 74, 8e-8, 0.9, 5e-6, 0.85], [15, 60, 1e-7, 0.85, 1e-5, 0.8]),
        ("R0-p(R1,C1)-p(R2-Wo1,C2)", [20, 100, 1e-8, 200, 300, 10, 1e-5], [15, 80, 2e-8, 150, 200, 5, 2e-5]),
    ]
    for k, (c, truth, guess) in enumerate(synth):
        s = eis_spectrum(c, truth, fs, noise=0.005, seed=k)
        cases.append((f"synthetic: {c}", c, guess, s.freq_Hz, s.z_ohm, False))

    print(
        f"{'case':50s} {'ours ms':>8s} {'imp.py ms':>9s} {'ratio':>6s} {'max rel diff':>12s}"
        f" {'RMSE ours':>10s} {'RMSE imp':>10s}"
    )
    ratios = []
    for name, c, guess, ff, zz, weighted in cases:
        circ = parse_circuit(c)
        wt = "modulus" if weighted else "unit"

        def ours_fit(circ=circ, ff=ff, zz=zz, guess=guess, wt=wt):  # type: ignore[no-untyped-def]
            return fit_circuit(circ, ff, zz, initial_guess=guess, weighting=wt)

        t_ours, ours = _median_time(ours_fit, n)
        cc = CustomCircuit(c, initial_guess=list(guess))

        def ref_fit(cc=cc, ff=ff, zz=zz, weighted=weighted):  # type: ignore[no-untyped-def]
            return cc.fit(ff, zz, weight_by_modulus=weighted)

        t_ref, _ = _median_time(ref_fit, n)
        ref_p = np.asarray(cc.parameters_)
        our_p = np.array([ours.params[p] for p in circ.param_names])  # type: ignore[attr-defined]
        diff = float(np.max(np.abs(our_p / ref_p - 1)))
        ratios.append(t_ref / t_ours)
        rmse_ref = float(np.sqrt(np.mean(np.abs(cc.predict(ff, use_initial=False) - zz) ** 2)))
        print(
            f"{name[:50]:50s} {t_ours * 1e3:8.2f} {t_ref * 1e3:9.2f} {t_ref / t_ours:6.1f}"
            f" {diff:12.2e} {ours.rmse_ohm:10.4e} {rmse_ref:10.4e}"
        )  # type: ignore[attr-defined]
    print("a large parameter difference with equal RMSE is a flat valley (e.g. CPE Q vs alpha)")
    print(f"speed ratio: min {min(ratios):.1f}x, median {np.median(ratios):.1f}x (target >= 3x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
