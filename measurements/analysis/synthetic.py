"""Deterministic generators of realistic measurement data from physical parameters.

Used by the tests and by the demo-data script. Every generator takes a ``seed`` and returns plain
numpy arrays (SI units) in a small frozen dataclass; the physics is stated in each docstring so the
analysis functions can be checked against the parameters that produced the data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import lambertw

from ._common import FloatArray
from .arrhenius import arrhenius_sigma
from .eis import parse_circuit
from .transference import bruce_vincent_evans


@dataclass(frozen=True)
class Spectrum:
    freq_Hz: FloatArray
    z_ohm: np.ndarray  # complex


def eis_spectrum(
    circuit: str,
    params: Mapping[str, float] | Sequence[float],
    freq_Hz: ArrayLike | None = None,
    noise: float = 0.0,
    seed: int = 0,
) -> Spectrum:
    """Z(f) of an equivalent circuit plus Gaussian noise proportional to |Z|:
    Z_noisy = Z + noise |Z| (n_re + j n_im), n ~ N(0, 1). Default f: 1 MHz..0.1 Hz, 10 per decade.
    """
    f = np.logspace(6, -1, 71) if freq_Hz is None else np.asarray(freq_Hz, dtype=float)
    z = parse_circuit(circuit)(params, f)
    if noise:
        rng = np.random.default_rng(seed)
        z = z + noise * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size))
    return Spectrum(f, z)


@dataclass(frozen=True)
class ConductivitySeries:
    temperature_K: FloatArray
    sigma_S_per_m: FloatArray


def arrhenius_conductivity(
    temperature_K: ArrayLike,
    ea_eV: float,
    sigma_ref_S_per_m: float,
    t_ref_K: float = 293.15,
    noise: float = 0.0,
    seed: int = 0,
) -> ConductivitySeries:
    """sigma(T) = sigma_ref exp(-Ea/k_B (1/T - 1/T_ref)) x (1 + noise N(0,1))."""
    t = np.asarray(temperature_K, dtype=float)
    s = arrhenius_sigma(t, ea_eV, sigma_ref_S_per_m, t_ref_K)
    if noise:
        s = s * (1 + noise * np.random.default_rng(seed).standard_normal(t.size))
    return ConductivitySeries(t, s)


@dataclass(frozen=True)
class TimeSeries:
    """time_s, voltage_V, current_A (+ cycle for full cells; 0 where not meaningful)."""

    time_s: FloatArray
    voltage_V: FloatArray
    current_A: FloatArray
    cycle: np.ndarray


def symmetric_cycling(
    current_density_A_per_m2: float,
    area_m2: float,
    overpotential_V: float,
    hours: float,
    half_cycle_h: float = 1.0,
    points_per_half_cycle: int = 60,
    short_at_h: float | None = None,
    soft_short_at_h: float | None = None,
    trend_V_per_100h: float = 0.0,
    noise_V: float = 0.0,
    seed: int = 0,
) -> TimeSeries:
    """Li|E|Li galvanostatic cycling: I = +-j A alternating every ``half_cycle_h``.

    |V| within a half cycle = eta(t) (0.9 + 0.2 x), x = 0..1 the progress, so the median is eta(t)
    = overpotential + trend x t/100 h. After ``short_at_h`` |V| = 1 mV (hard short, stays); during
    the half cycle containing ``soft_short_at_h`` |V| is 20 % of normal, then recovers.
    """
    n_hc = int(round(hours / half_cycle_h))
    pts = points_per_half_cycle
    x = np.linspace(0.0, 1.0, pts, endpoint=False)
    k = np.repeat(np.arange(n_hc), pts)
    xx = np.tile(x, n_hc)
    t_h = (k + xx) * half_cycle_h
    sign = np.where(k % 2 == 0, 1.0, -1.0)
    i = sign * current_density_A_per_m2 * area_m2
    eta = overpotential_V + trend_V_per_100h * t_h / 100.0
    mag = eta * (0.9 + 0.2 * xx)
    if soft_short_at_h is not None:
        hit = k == int(soft_short_at_h // half_cycle_h)
        mag = np.where(hit, 0.2 * mag, mag)
    if short_at_h is not None:
        mag = np.where(t_h >= short_at_h, 0.001, mag)
    if noise_V:
        mag = np.abs(mag + noise_V * np.random.default_rng(seed).standard_normal(mag.size))
    return TimeSeries(t_h * 3600.0, sign * mag, i, k)


def stepped_ccd(
    current_densities_A_per_m2: ArrayLike,
    area_m2: float,
    asr_ohm_m2: float,
    step_s: float = 3600.0,
    points_per_step: int = 120,
    short_in_step: int | None = None,
    short_fraction: float = 0.4,
    noise_V: float = 0.0,
    seed: int = 0,
) -> TimeSeries:
    """Stepped-current CCD test: each step plates for step_s/2 then strips for step_s/2 at +-j.

    |V| = j x ASR (area-specific resistance, ohm m^2); in step ``short_in_step`` (0-based) the
    voltage collapses to 1 mV after ``short_fraction`` of the step and stays (the test then ends
    with that step). Hand check: j = 8 A/m^2 (0.8 mA/cm^2), ASR = 0.01 ohm m^2 -> |V| = 80 mV.
    """
    js = np.asarray(current_densities_A_per_m2, dtype=float)
    n = js.size if short_in_step is None else short_in_step + 1
    js = js[:n]
    x = np.linspace(0.0, 1.0, points_per_step, endpoint=False)
    k = np.repeat(np.arange(n), points_per_step)
    xx = np.tile(x, n)
    t = (k + xx) * step_s
    sign = np.where(xx < 0.5, 1.0, -1.0)
    j = js[k]
    mag = j * asr_ohm_m2 * (1.0 + 0.05 * np.abs(np.sin(2 * np.pi * xx)))
    if short_in_step is not None:
        mag = np.where((k == short_in_step) & (xx >= short_fraction), 0.001, mag)
    if noise_V:
        mag = np.abs(mag + noise_V * np.random.default_rng(seed).standard_normal(mag.size))
    return TimeSeries(t, sign * mag, sign * j * area_m2, k)


@dataclass(frozen=True)
class BVEData:
    """Chronoamperogram plus the resistances that make it self-consistent with BVE."""

    time_s: FloatArray
    current_A: FloatArray
    delta_V: float
    r_bulk_ohm: float
    r0_ohm: float
    rss_ohm: float
    i0_A: float
    iss_A: float
    t_plus: float


def chronoamperometry_bve(
    delta_V: float,
    r0_ohm: float,
    rss_ohm: float,
    t_plus: float,
    r_bulk_ohm: float = 100.0,
    duration_s: float = 36000.0,
    n_points: int = 3601,
    tau_s: float | None = None,
    noise: float = 0.0,
    seed: int = 0,
) -> BVEData:
    """Potentiostatic polarisation of Li|E|Li built to give exactly ``t_plus`` by BVE.

    I_0 = dV / (R_b + R_0) (Ohm's law). Solving t+ = I_ss (dV - I_0 R_0) / (I_0 (dV - I_ss R_ss))
    for I_ss: I_ss = t+ I_0 dV / (dV - I_0 R_0 + t+ I_0 R_ss). The current relaxes as
    I(t) = I_ss + (I_0 - I_ss) exp(-t/tau), tau = duration/12 by default (relaxed to < 1e-5 in the
    last 10 %), with relative Gaussian noise ``noise`` on every point except the first.
    """
    i0 = delta_V / (r_bulk_ohm + r0_ohm)
    iss = t_plus * i0 * delta_V / (delta_V - i0 * r0_ohm + t_plus * i0 * rss_ohm)
    assert abs(bruce_vincent_evans(delta_V, i0, iss, r0_ohm, rss_ohm) - t_plus) < 1e-12
    t = np.linspace(0.0, duration_s, n_points)
    tau = duration_s / 12.0 if tau_s is None else tau_s
    i = iss + (i0 - iss) * np.exp(-t / tau)
    if noise:
        eps = noise * np.random.default_rng(seed).standard_normal(n_points)
        eps[0] = 0.0
        i = i * (1 + eps)
    return BVEData(t, i, delta_V, r_bulk_ohm, r0_ohm, rss_ohm, i0, iss, t_plus)


@dataclass(frozen=True)
class LSVData:
    potential_V: FloatArray
    current_A: FloatArray


def lsv(
    onset_V: float,
    area_m2: float = 2e-4,
    start_V: float = 3.0,
    end_V: float = 5.5,
    step_V: float = 0.001,
    threshold_A_per_m2: float = 0.1,
    kind: str = "exponential",
    tafel_V: float = 0.03,
    slope_A_per_m2_per_V: float = 50.0,
    baseline_A_per_m2: float = 0.002,
    asr_ohm_m2: float = 0.0,
    noise_A_per_m2: float = 0.0,
    seed: int = 0,
) -> LSVData:
    """Anodic LSV sweep. Background j_b = baseline (constant, A/m^2).

    "exponential": j = j_b + j_th exp((V - V_on)/b) -- the faradaic current equals the threshold
    exactly at V_on (b = ``tafel_V``); with ``asr_ohm_m2`` > 0 the current is limited by a series
    area-specific resistance (Lambert-W solution of j = j_th exp((V - j ASR - V_on)/b));
    "linear": j = j_b + s max(0, V - V_on), whose tangent
    intersects the baseline exactly at V_on.
    """
    v = np.arange(start_V, end_V + step_V / 2, step_V)
    if kind == "exponential" and asr_ohm_m2 > 0:
        # j = j_th exp((V - j ASR - V_on)/b)  ->  j = (b/ASR) W((j_th ASR/b) exp((V - V_on)/b))
        arg = threshold_A_per_m2 * asr_ohm_m2 / tafel_V * np.exp((v - onset_V) / tafel_V)
        j = baseline_A_per_m2 + tafel_V / asr_ohm_m2 * np.real(lambertw(arg))
    elif kind == "exponential":
        j = baseline_A_per_m2 + threshold_A_per_m2 * np.exp((v - onset_V) / tafel_V)
    elif kind == "linear":
        j = baseline_A_per_m2 + slope_A_per_m2_per_V * np.clip(v - onset_V, 0, None)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    if noise_A_per_m2:
        j = j + noise_A_per_m2 * np.random.default_rng(seed).standard_normal(v.size)
    return LSVData(v, j * area_m2)


def full_cell_cycling(
    discharge_mAh_per_g: ArrayLike,
    active_mass_kg: float,
    c_rate: ArrayLike,
    specific_capacity_1C_mAh_per_g: float,
    coulombic_efficiency: ArrayLike = 0.999,
    points_per_half_cycle: int = 100,
    plateau_V: float = 3.42,
    polarisation_V_per_C: float = 0.05,
    rest_s: float = 0.0,
    seed: int = 0,
) -> TimeSeries:
    """Li|cathode cell, constant-current charge then discharge each cycle (charge I > 0).

    Cycle n: Q_dis = q_n m (Ah = mAh/g x g / 1000), Q_ch = Q_dis / CE_n, I = C-rate x m x q_1C,
    durations Q / I. Voltage: plateau +- polarisation x C-rate with steep ends
    (charge: + 0.3 x^12 - 0.15 (1-x)^12; discharge: - 0.6 x^12 + 0.1 (1-x)^12), small seeded noise.
    Hand check: q = 170 mAh/g at 1 C on 2 mg: I = 0.34 mA, discharge takes 1 h.
    """
    q = np.asarray(discharge_mAh_per_g, dtype=float)
    n = q.size
    cr = np.broadcast_to(np.asarray(c_rate, dtype=float), (n,))
    ce = np.broadcast_to(np.asarray(coulombic_efficiency, dtype=float), (n,))
    mass_g = active_mass_kg * 1000.0
    i_mag = cr * mass_g * specific_capacity_1C_mAh_per_g / 1000.0  # A
    q_dis_ah = q * mass_g / 1000.0
    q_ch_ah = q_dis_ah / ce
    dur = np.empty(2 * n)
    dur[0::2] = q_ch_ah / i_mag * 3600.0
    dur[1::2] = q_dis_ah / i_mag * 3600.0
    pts = points_per_half_cycle
    starts = np.concatenate([[0.0], np.cumsum(dur + rest_s)[:-1]])
    x = np.linspace(0.0, 1.0, pts)
    h = np.repeat(np.arange(2 * n), pts)
    xx = np.tile(x, 2 * n)
    t = starts[h] + xx * dur[h]
    is_ch = h % 2 == 0
    cyc = h // 2 + 1
    i = np.where(is_ch, 1.0, -1.0) * i_mag[cyc - 1]
    pol = polarisation_V_per_C * cr[cyc - 1]
    v_ch = plateau_V + pol + 0.3 * xx**12 - 0.15 * (1 - xx) ** 12
    v_dis = plateau_V - pol - 0.6 * xx**12 + 0.1 * (1 - xx) ** 12
    v = np.where(is_ch, v_ch, v_dis)
    v = v + 0.0005 * np.random.default_rng(seed).standard_normal(v.size)
    return TimeSeries(t, v, i, cyc)
