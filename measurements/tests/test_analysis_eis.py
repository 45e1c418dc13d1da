"""EIS: circuit parsing, CNLS fitting (synthetic and the impedance.py example), lin-KK."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

import numpy as np
import pytest

from measurements.analysis import eis
from measurements.analysis.synthetic import eis_spectrum

REFERENCE_FILE = "impedancepy_fit_reference.json"


@pytest.fixture(scope="module")
def echem_data() -> Path:
    """The shared real instrument files; defined here so these pure tests need no Django conftest."""
    candidates = [
        os.environ.get("ECHEM_DATA_DIR", ""),
        str(Path(__file__).resolve().parents[3] / "shared" / "echem_data"),
        "/work/shared/echem_data",
    ]
    for c in candidates:
        if c and (Path(c) / "MANIFEST.md").exists():
            return Path(c)
    pytest.skip("real instrument files (../shared/echem_data or $ECHEM_DATA_DIR) not found")


def test_parser_names_parameters_like_impedance_py() -> None:
    c = eis.parse_circuit("R0-p(R1,C1)-p(R2-Wo1,C2)")
    assert c.param_names == ("R0", "R1", "C1", "R2", "Wo1_0", "Wo1_1", "C2")
    c2 = eis.parse_circuit("R0-p(R1,CPE1)-p(R2,CPE2)-W1")
    assert c2.param_names == ("R0", "R1", "CPE1_0", "CPE1_1", "R2", "CPE2_0", "CPE2_1", "W1")


def test_rc_circuit_gives_hand_computed_impedance_at_the_apex() -> None:
    """R0 = 10, R1 = 100, C1 = 1 uF: f_apex = 1/(2 pi R1 C1) = 1591.55 Hz, Z = 60 - 50j ohm."""
    c = eis.parse_circuit("R0-p(R1,C1)")
    z = c({"R0": 10.0, "R1": 100.0, "C1": 1e-6}, [1.0 / (2 * np.pi * 100.0 * 1e-6)])
    assert z[0] == pytest.approx(60 - 50j, rel=1e-12)


def test_elements_follow_their_textbook_formulas() -> None:
    """CPE with alpha = 1 is a capacitor; Wo at low f tends to Z0/(j omega tau) + Z0/3; Ws tends to Z0."""
    f = np.array([1e-4, 1.0, 1e3])
    cpe = eis.parse_circuit("CPE1")([2e-3, 1.0], f)
    cap = eis.parse_circuit("C1")([2e-3], f)
    assert np.allclose(cpe, cap, rtol=1e-12)
    w = 2 * np.pi * 1e-4
    wo = eis.parse_circuit("Wo1")([5.0, 2.0], [1e-4])[0]
    assert wo.real == pytest.approx(5.0 / 3, rel=1e-3)
    assert wo.imag == pytest.approx(-5.0 / (w * 2.0), rel=1e-3)
    ws = eis.parse_circuit("Ws1")([5.0, 2.0], [1e-6])[0]
    assert ws.real == pytest.approx(5.0, rel=1e-5)


def test_bad_circuit_strings_are_rejected_with_a_reason() -> None:
    for bad in ("R0-p(R1)", "R0-X1", "R0-p(R1,C1", "R0--R1", "R0-R0"):
        with pytest.raises(eis.CircuitSyntaxError):
            eis.parse_circuit(bad)


def test_analytic_jacobian_matches_finite_differences() -> None:
    c = eis.parse_circuit("R0-p(R1,CPE1)-p(R2-Wo1,C2)-Ws1-L1-W1")
    p = np.array([10.0, 50.0, 1e-5, 0.85, 30.0, 20.0, 5.0, 1e-4, 8.0, 3.0, 1e-7, 2.0])
    f = np.logspace(-2, 5, 30)
    jac = c.jacobian(p, f)
    for k in range(p.size):
        h = p[k] * 1e-7
        q = p.copy()
        q[k] += h
        num = (c(q, f) - c(p, f)) / h
        assert np.max(np.abs(num - jac[:, k])) <= 1e-4 * np.max(np.abs(jac[:, k]))


def test_high_frequency_intercept_interpolates_the_zero_crossing_of_im_z() -> None:
    """Points (Re, Im) = (12, +1) and (14, -1) -> crossing at Re = 13 ohm."""
    f = np.array([1e5, 1e4, 1e3])
    z = np.array([12 + 1j, 14 - 1j, 20 - 5j])
    assert eis.high_frequency_intercept(f, z) == pytest.approx(13.0)
    z2 = np.array([15 - 1j, 16 - 2j, 20 - 5j])  # never crosses: min Re at highest f
    assert eis.high_frequency_intercept(f, z2) == pytest.approx(15.0)


# the lab's analyser range (7 MHz .. 10 mHz, 10 points per decade)
F_LAB = np.logspace(np.log10(7e6), -2, 89)

SYNTHETIC_CASES = {
    # blocking electrode, bulk arc resolved (apex ~100 kHz): 500 um LLZTO-PMA on 2 cm^2,
    # R_b = R0 + R1 = 94 ohm
    eis.BLOCKING_ARC: {
        "R0": 20.0,
        "R1": 74.0,
        "CPE1_0": 8.0e-8,
        "CPE1_1": 0.9,
        "CPE2_0": 5.0e-6,
        "CPE2_1": 0.85,
    },
    eis.BLOCKING_SIMPLE: {"R0": 94.0, "CPE1_0": 5.0e-6, "CPE1_1": 0.88},
    eis.SYMMETRIC_LI_ONE_ARC: {"R0": 94.0, "R1": 472.0, "CPE1_0": 2.0e-6, "CPE1_1": 0.85},
    eis.SYMMETRIC_LI_TWO_ARCS: {
        "R0": 94.0,
        "R1": 300.0,
        "CPE1_0": 1.0e-7,
        "CPE1_1": 0.9,
        "R2": 172.0,
        "CPE2_0": 1.0e-4,
        "CPE2_1": 0.85,
    },
    "R0-p(R1,C1)-p(R2-Wo1,C2)": {
        "R0": 20.0,
        "R1": 100.0,
        "C1": 1e-8,
        "R2": 200.0,
        "Wo1_0": 300.0,
        "Wo1_1": 10.0,
        "C2": 1e-5,
    },
}


@pytest.mark.parametrize("circuit", list(SYNTHETIC_CASES))
def test_fit_recovers_resistances_within_one_percent_at_half_percent_noise(circuit: str) -> None:
    """0.5 % noise, 7 MHz..10 mHz (F_LAB), automatic initial guess (no hand tuning), 4 seeds.

    Resistances (the derived properties: bulk and interfacial) must be within 1 %. The other
    parameters must be within 1 % or, where their statistical standard error at this noise makes
    1 % unattainable for any estimator (CPE Q: 2-3.5 %, correlated with alpha through
    dZ/dalpha = -Z ln(j omega); Warburg tau: ~0.6 %), within 3 standard errors. Every parameter
    is held to 1 % in the low-noise test below.
    """
    truth = SYNTHETIC_CASES[circuit]
    for seed in (1, 2, 3, 4):
        spec = eis_spectrum(circuit, truth, F_LAB, noise=0.005, seed=seed)
        fit = eis.fit_circuit(circuit, spec.freq_Hz, spec.z_ohm)
        for name, value in truth.items():
            err = abs(fit.params[name] - value)
            if name.startswith("R"):
                assert err < 0.01 * value, (seed, name)
            else:
                assert err < max(0.01 * value, 3 * fit.stderr[name]), (seed, name)
                assert fit.stderr[name] < 0.05 * value, (seed, name)
        # the noise is 0.5 % of |Z| per component, so the weighted residuals have rms ~ 0.005
        assert 0.003 < np.sqrt(fit.chi2_reduced) < 0.007
    assert fit.version == eis.METHOD_VERSION
    assert fit.n_points == F_LAB.size


@pytest.mark.parametrize("circuit", list(SYNTHETIC_CASES))
def test_fit_recovers_every_parameter_within_one_percent_at_low_noise(circuit: str) -> None:
    """0.05 % noise: every parameter, CPE Q included, within 1 %."""
    truth = SYNTHETIC_CASES[circuit]
    spec = eis_spectrum(circuit, truth, F_LAB, noise=0.0005, seed=5)
    fit = eis.fit_circuit(circuit, spec.freq_Hz, spec.z_ohm)
    for name, value in truth.items():
        assert fit.params[name] == pytest.approx(value, rel=0.01), name


def test_noise_free_fit_is_exact_and_reports_tiny_standard_errors() -> None:
    truth = SYNTHETIC_CASES[eis.SYMMETRIC_LI_TWO_ARCS]
    spec = eis_spectrum(eis.SYMMETRIC_LI_TWO_ARCS, truth, np.logspace(6, -2, 81))
    fit = eis.fit_circuit(eis.SYMMETRIC_LI_TWO_ARCS, spec.freq_Hz, spec.z_ohm)
    for name, value in truth.items():
        assert fit.params[name] == pytest.approx(value, rel=1e-6)
    assert eis.interfacial_resistance(fit) == pytest.approx(472.0, rel=1e-6)


def test_bulk_resistance_of_the_blocking_arc_circuit_is_r0_plus_r1() -> None:
    truth = SYNTHETIC_CASES[eis.BLOCKING_ARC]
    spec = eis_spectrum(eis.BLOCKING_ARC, truth, np.logspace(6, -2, 81), noise=0.005, seed=3)
    fit = eis.fit_circuit(eis.BLOCKING_ARC, spec.freq_Hz, spec.z_ohm)
    assert eis.bulk_resistance(fit) == pytest.approx(94.0, rel=0.01)
    assert eis.bulk_resistance(fit, include_arc=False) == pytest.approx(20.0, rel=0.01)


def _example_data(echem_data: Path) -> tuple[np.ndarray, np.ndarray]:
    d = np.loadtxt(echem_data / "eis" / "impedancepy_exampleData.csv", delimiter=",")
    f, z = d[:, 0], d[:, 1] + 1j * d[:, 2]
    keep = z.imag < 0  # impedance.py's ignoreBelowX: drop inductive points
    return f[keep], z[keep]


REFERENCE_FITS = [
    ("A: getting-started R0-p(R1,C1)-p(R2-Wo1,C2), local (curve_fit TRF, bounded)", "unit"),
    ("B: R0-p(R1,CPE1)-p(R2,CPE2)-W1, local", "unit"),
    ("C: R0-p(R1,CPE1)-p(R2,CPE2)-Wo1, local", "unit"),
    ("D: Randles-CPE R0-p(R1-Wo1,CPE1), local", "unit"),
    ("A-weighted: A with weight_by_modulus=True", "modulus"),
]


@pytest.mark.parametrize("key,weighting", REFERENCE_FITS)
def test_fit_of_the_impedance_py_example_agrees_with_impedance_py_within_one_percent(
    echem_data: Path, key: str, weighting: Literal["modulus", "unit"]
) -> None:
    """Same 57 points (Im < 0), circuit, initial guess and weighting as the recorded impedance.py
    1.7.1 fit (curve_fit TRF, bounds [0, inf), CPE alpha <= 1, ftol 1e-13, default xtol/gtol).

    Note on fit A: its Warburg parameters sit in a very flat valley. With the recorded
    tolerances both codes stop at the same point (agreement ~1e-7); if the solver is pushed to
    xtol = gtol = 1e-15 it walks on to Wo1_1 ~ 238 s (2.3 % away) for a 0.014 % lower cost -- the
    same minimum basin, not a different result. The global optimum (R1/R2 arcs swapped,
    RMSE 4.97e-4 ohm) is a different minimum that a local fit from this guess does not reach.
    """
    ref = json.loads((echem_data / REFERENCE_FILE).read_text())[key]
    f, z = _example_data(echem_data)
    assert f.size == ref["n_points"] == 57
    fit = eis.fit_circuit(ref["circuit"], f, z, initial_guess=ref["initial_guess"], weighting=weighting)
    for name, rp in ref["params"].items():
        assert fit.params[name] == pytest.approx(rp["value"], rel=0.01), name
        assert fit.stderr[name] == pytest.approx(rp["stderr"], rel=0.01), name
    assert fit.rmse_ohm == pytest.approx(ref["rmse_ohm"], rel=0.001)


def test_automatic_initial_guess_on_the_example_reaches_at_least_the_reference_rmse(
    echem_data: Path,
) -> None:
    """Without a hand-tuned guess the multistart reaches an RMSE no worse than impedance.py's
    hand-guessed local fit (5.84e-4 ohm) for the documented circuit."""
    ref = json.loads((echem_data / REFERENCE_FILE).read_text())[REFERENCE_FITS[0][0]]
    f, z = _example_data(echem_data)
    fit = eis.fit_circuit(ref["circuit"], f, z, weighting="unit")
    assert fit.rmse_ohm <= ref["rmse_ohm"] * 1.001


def test_lin_kk_passes_on_consistent_data_and_on_the_real_example(echem_data: Path) -> None:
    truth = SYNTHETIC_CASES[eis.SYMMETRIC_LI_TWO_ARCS]
    spec = eis_spectrum(eis.SYMMETRIC_LI_TWO_ARCS, truth, np.logspace(6, -2, 81), noise=0.002, seed=2)
    res = eis.lin_kk(spec.freq_Hz, spec.z_ohm)
    assert res.passed and res.max_abs_residual < 0.01
    assert res.version == eis.LINKK_METHOD_VERSION
    # the example ends in a capacitive diffusion tail: as impedance.py's own lin-KK example,
    # add a series capacitance to the Voigt model
    f, z = _example_data(echem_data)
    real = eis.lin_kk(f, z, add_capacitance=True)
    assert real.passed and real.max_abs_residual < 0.005


def test_lin_kk_flags_a_spectrum_with_an_injected_drift() -> None:
    """The cell drifts while the spectrum is measured (high -> low f): the real part grows by
    10 % of R_total proportionally to the elapsed measurement time, Im unchanged (non-causal)."""
    truth = SYNTHETIC_CASES[eis.SYMMETRIC_LI_TWO_ARCS]
    f = np.logspace(6, -2, 81)
    spec = eis_spectrum(eis.SYMMETRIC_LI_TWO_ARCS, truth, f, noise=0.002, seed=2)
    elapsed = np.cumsum(1.0 / f)
    drifted = spec.z_ohm + 0.10 * 566.0 * elapsed / elapsed[-1]
    assert eis.lin_kk(f, spec.z_ohm).passed
    res = eis.lin_kk(f, drifted)
    assert not res.passed
    assert res.max_abs_residual > 0.02
