"""Galvanostatic cycling: Li|E|Li symmetric cells and full cells (Li|E|LFP, Li|E|NCM811).

Everything is vectorised (segmentation by np.diff/cumsum, per-segment statistics by np.bincount and
one lexsort), so a 1,000,000-row record is analysed in well under a second.

Symmetric cells
  * half cycles = runs of constant current sign (|I| <= rest current counts as rest, not a run);
  * overpotential per half cycle = median |V| (V), trend = slope of a linear fit of overpotential
    vs half-cycle mid time, reported in V per 100 h;
  * hard short: |V| collapses below ``short_V`` while current flows and stays below until the end
    -> lifetime (h) and failure mode "hard short";
  * soft short: a half-cycle overpotential drops below (1 - ``soft_drop_fraction``) of the median of
    the preceding ``soft_window`` half cycles and later recovers above (1 - soft_drop_fraction/2) of
    that level -> flagged with start/end times.
  Reference: Wang et al., Joule 4 (2020) 1 (symmetric-cell failure modes); Albertus et al., Nat.
  Energy 3 (2018) 16 (soft vs hard shorts).

Full cells (charge = positive current by default; ``charge_sign=-1`` flips it)
  * dq = (I_k + I_{k-1})/2 (t_k - t_{k-1}) (trapezoid, Ah after /3600); charge capacity of a cycle
    = sum of dq > 0, discharge = -sum of dq < 0; energy alike with I V;
  * Coulombic efficiency CE = Q_dis / Q_ch (cells that start with a charge: Li|LFP, Li|NCM);
  * mean voltages = E / Q per direction, gap = V_ch - V_dis;
  * specific capacity in mAh/g (the lab's unit) = 1000 Q[Ah] / m_active[g], m_active given in kg;
  * C-rate = mean |I| during discharge / I_1C with I_1C = m_active[g] x q_theor[mAh/g] / 1000 A
    (q_theor is an input: 170 mAh/g for LFP, not a constant here);
  * retention = Q_dis(n) / Q_dis(ref), ref = highest discharge capacity within the first
    ``reference_within`` cycles unless given;
  * rate table: consecutive cycles at the same C-rate (5 % tolerance) form a step; mean discharge
    capacity per step; recovery = last step at the first rate / first step.
  Reference: Xiong et al., J. Electrochem. Soc. 166 (2019) A3206 (CE metrology);
  Dahn & Ehrlich in *Linden's Handbook of Batteries*, 4th ed. (definitions).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._common import FloatArray, as_float_array, same_length

METHOD_VERSION = "cycling/1"


# --------------------------------------------------------------------------------------------
# segmentation
# --------------------------------------------------------------------------------------------
def half_cycle_index(current_A: ArrayLike, rest_current_A: float | None = None) -> np.ndarray:
    """Half-cycle number per row (0, 1, 2, ...), -1 for rest rows.

    A new half cycle starts whenever the sign of the current differs from the sign of the previous
    current-carrying row. Hand check: I = [1, 1, 0, 1, -1, -1, 1] -> [0, 0, -1, 0, 1, 1, 2].
    """
    i = np.asarray(current_A, dtype=float)
    if rest_current_A is None:
        rest_current_A = 1e-3 * float(np.abs(i).max()) if i.size else 0.0
    sgn = np.sign(i) * (np.abs(i) > rest_current_A)
    flowing = sgn != 0
    s_flow = sgn[flowing]
    new = (
        np.concatenate([[1], (s_flow[1:] != s_flow[:-1]).astype(np.int64)])
        if s_flow.size
        else (np.zeros(0, np.int64))
    )
    hc = np.full(i.shape[0], -1, dtype=np.int64)
    hc[flowing] = np.cumsum(new) - 1
    return hc


def _group_median(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Median of ``values`` per integer group (groups >= 0), vectorised with one float sort.

    The values are offset by group x (range + 1) so one np.sort orders by group, then by value;
    the offset is removed again before picking the middle element(s) of each group.
    """
    counts = np.bincount(groups, minlength=n_groups)
    out = np.full(n_groups, np.nan)
    if values.size == 0:
        return out
    vmin = float(values.min())
    span = float(values.max()) - vmin + 1.0
    keyed = np.sort(groups * span + (values - vmin))
    g_sorted = np.repeat(np.arange(n_groups), counts)
    v_sorted = keyed - g_sorted * span + vmin
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ok = counts > 0
    lo = starts + (counts - 1) // 2
    hi = starts + counts // 2
    out[ok] = 0.5 * (v_sorted[lo[ok]] + v_sorted[hi[ok]])
    return out


# --------------------------------------------------------------------------------------------
# symmetric cells
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SoftShort:
    """A recovered sudden drop of the half-cycle overpotential."""

    start_h: float
    end_h: float
    min_overpotential_V: float
    reference_overpotential_V: float


@dataclass(frozen=True)
class SymmetricCyclingResult:
    """Per-half-cycle overpotentials and the cell-level verdict (times in hours)."""

    n_half_cycles: int
    half_cycle_start_h: FloatArray
    half_cycle_mid_h: FloatArray
    overpotential_V: FloatArray
    mean_overpotential_V: float
    overpotential_trend_V_per_100h: float
    total_time_h: float
    failure_mode: str  # "none", "hard short"
    lifetime_h: float | None
    hard_short_time_h: float | None
    soft_shorts: tuple[SoftShort, ...]
    method: str = "symmetric cycling: median |V| per half cycle; short detection"
    version: str = METHOD_VERSION


def analyse_symmetric(
    time_s: ArrayLike,
    voltage_V: ArrayLike,
    current_A: ArrayLike,
    short_V: float = 0.005,
    min_short_duration_s: float = 3600.0,
    soft_drop_fraction: float = 0.5,
    soft_window: int = 10,
    rest_current_A: float | None = None,
    half_cycle: ArrayLike | None = None,
) -> SymmetricCyclingResult:
    """Analyse a Li|E|Li galvanostatic plating/stripping record.

    Hand check: +-0.1 mA/cm^2 on 2 cm^2 with 1 h half cycles and |V| = 0.40 V -> overpotential
    0.40 V for every half cycle, trend 0, total time = n x 1 h.
    """
    t = as_float_array(time_s, "time_s")
    v = as_float_array(voltage_V, "voltage_V")
    i = as_float_array(current_A, "current_A")
    same_length(time_s=t, voltage_V=v, current_A=i)
    hc = (
        np.asarray(half_cycle, dtype=np.int64)
        if half_cycle is not None
        else half_cycle_index(i, rest_current_A)
    )
    flowing = hc >= 0
    n_hc = int(hc.max()) + 1 if np.any(flowing) else 0
    av = np.abs(v)
    g = hc[flowing]
    eta = _group_median(av[flowing], g, n_hc)
    counts = np.bincount(g, minlength=n_hc)
    t_f = t[flowing]
    t_start = np.full(n_hc, np.nan)
    t_end = np.full(n_hc, np.nan)
    first = np.concatenate([[True], g[1:] != g[:-1]])
    last = np.concatenate([g[1:] != g[:-1], [True]])
    t_start[g[first]] = t_f[first]
    t_end[g[last]] = t_f[last]
    t0 = float(t[0])
    start_h = (t_start - t0) / 3600.0
    mid_h = (0.5 * (t_start + t_end) - t0) / 3600.0
    total_h = float((t[-1] - t0) / 3600.0)

    # hard short: from some half cycle on, every half-cycle median |V| < short_V (robust to noise);
    # the time is the first row of that half cycle from which >= 90 % of the remaining rows of the
    # half cycle are below short_V
    hard_short_h: float | None = None
    if n_hc:
        hc_ok = np.isfinite(eta)
        not_shorted = np.nonzero(hc_ok & (eta >= short_V))[0]
        k_hc = int(not_shorted[-1]) + 1 if not_shorted.size else 0
        if k_hc < n_hc and (t_end[-1] - t_start[k_hc]) >= min_short_duration_s:
            rows = np.nonzero(g == k_hc)[0]
            below = (av[flowing][rows] < short_V).astype(float)
            suffix_frac = np.cumsum(below[::-1])[::-1] / np.arange(below.size, 0, -1)
            k_row = int(np.argmax((suffix_frac >= 0.9) & (below > 0)))
            hard_short_h = float((t_f[rows[k_row]] - t0) / 3600.0)
    failure = "hard short" if hard_short_h is not None else "none"

    # soft shorts on the half-cycle overpotential series (before any hard short)
    soft: list[SoftShort] = []
    valid = counts > 0
    if hard_short_h is not None and n_hc:
        valid &= start_h < hard_short_h
    e = np.where(valid, eta, np.nan)
    if n_hc > soft_window + 1:
        windows = np.lib.stride_tricks.sliding_window_view(e[:-1], soft_window)
        ref = np.full(n_hc, np.nan)
        with warnings.catch_warnings():  # all-NaN windows after a hard short are expected
            warnings.simplefilter("ignore", RuntimeWarning)
            ref[soft_window:] = np.nanmedian(windows, axis=1)
        drop = e < (1.0 - soft_drop_fraction) * ref
        recovered_level = (1.0 - soft_drop_fraction / 2.0) * ref
        idx = np.nonzero(drop)[0]
        # group consecutive dropped half cycles into events; keep those followed by recovery
        if idx.size:
            breaks = np.nonzero(np.diff(idx) > 1)[0]
            ev_start = np.concatenate([[idx[0]], idx[breaks + 1]])
            ev_end = np.concatenate([idx[breaks], [idx[-1]]])
            for s0, s1 in zip(ev_start, ev_end, strict=True):
                nxt = s1 + 1
                if nxt < n_hc and np.isfinite(e[nxt]) and e[nxt] >= recovered_level[s0]:
                    soft.append(
                        SoftShort(
                            start_h=float(start_h[s0]),
                            end_h=float((t_end[s1] - t0) / 3600.0),
                            min_overpotential_V=float(np.nanmin(e[s0 : s1 + 1])),
                            reference_overpotential_V=float(ref[s0]),
                        )
                    )
    ok = valid & np.isfinite(eta)
    trend = float("nan")
    if ok.sum() >= 2:
        trend = float(np.polyfit(mid_h[ok], eta[ok], 1)[0] * 100.0)
    return SymmetricCyclingResult(
        n_half_cycles=n_hc,
        half_cycle_start_h=start_h,
        half_cycle_mid_h=mid_h,
        overpotential_V=eta,
        mean_overpotential_V=float(np.nanmean(eta[ok])) if ok.any() else float("nan"),
        overpotential_trend_V_per_100h=trend,
        total_time_h=total_h,
        failure_mode=failure,
        lifetime_h=hard_short_h if hard_short_h is not None else None,
        hard_short_time_h=hard_short_h,
        soft_shorts=tuple(soft),
    )


# --------------------------------------------------------------------------------------------
# full cells
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RateStep:
    """Consecutive cycles at one C-rate."""

    c_rate: float
    first_cycle: int
    last_cycle: int
    mean_discharge_mAh_per_g: float


@dataclass(frozen=True)
class FullCellResult:
    """Per-cycle table (arrays indexed like ``cycle``) and cell-level figures of merit.

    Capacities in Ah (SI-compatible) and mAh/g (the lab's unit, per gram of active material).
    """

    cycle: np.ndarray
    charge_Ah: FloatArray
    discharge_Ah: FloatArray
    charge_mAh_per_g: FloatArray
    discharge_mAh_per_g: FloatArray
    coulombic_efficiency: FloatArray
    charge_energy_Wh: FloatArray
    discharge_energy_Wh: FloatArray
    mean_charge_voltage_V: FloatArray
    mean_discharge_voltage_V: FloatArray
    voltage_gap_V: FloatArray
    c_rate: FloatArray
    retention: FloatArray
    reference_cycle: int
    mean_ce_all: float
    mean_ce_excluding_first: float
    rate_table: tuple[RateStep, ...]
    recovery_ratio: float | None
    method: str = "full-cell cycling (trapezoid-integrated charge, CE = Q_dis/Q_ch)"
    version: str = METHOD_VERSION


def cycle_index_from_current(
    current_A: ArrayLike, charge_sign: int = 1, rest_current_A: float | None = None
) -> np.ndarray:
    """Cycle number (1-based) per row: a new cycle starts at every charge half cycle after the
    first half cycle. Rows before the first charge belong to cycle 1. Hand check:
    I = [+, +, -, -, +, -] -> [1, 1, 1, 1, 2, 2].
    """
    i = np.asarray(current_A, dtype=float) * charge_sign
    hc = half_cycle_index(i, rest_current_A)
    flowing = hc >= 0
    n_hc = int(hc.max()) + 1 if np.any(flowing) else 0
    sign_of_hc = np.zeros(n_hc)
    sign_of_hc[hc[flowing]] = np.sign(i[flowing])
    is_charge_start = (sign_of_hc > 0).astype(np.int64)
    is_charge_start[0] = 0
    cyc_of_hc = 1 + np.cumsum(is_charge_start)
    # rest rows inherit the cycle of the previous flowing row (or 1)
    last_hc = np.maximum.accumulate(np.where(flowing, hc, -1))
    return np.where(last_hc >= 0, cyc_of_hc[np.maximum(last_hc, 0)], 1)


def analyse_full_cell(
    time_s: ArrayLike,
    voltage_V: ArrayLike,
    current_A: ArrayLike,
    active_mass_kg: float,
    specific_capacity_1C_mAh_per_g: float,
    cycle: ArrayLike | None = None,
    charge_Ah: ArrayLike | None = None,
    charge_sign: int = 1,
    reference_cycle: int | None = None,
    reference_within: int = 20,
    rate_rel_tol: float = 0.05,
    rest_current_A: float | None = None,
) -> FullCellResult:
    """Per-cycle capacities, CE, energies, voltages, C-rates, retention and a rate table.

    ``charge_Ah`` (optional) is a capacity counter (cumulative or reset per step); capacity of a
    cycle direction is then max - min of the counter over the rows of that cycle and direction,
    otherwise the current is integrated. Hand check: 2.0 mg LFP, 1 C = 170 mA/g -> I_1C = 0.34 mA;
    a 0.2 C discharge of 5 h 0.068 mA gives 0.34 mAh = 170 mAh/g.
    """
    t = as_float_array(time_s, "time_s")
    v = as_float_array(voltage_V, "voltage_V")
    i = as_float_array(current_A, "current_A")
    same_length(time_s=t, voltage_V=v, current_A=i)
    if active_mass_kg <= 0 or specific_capacity_1C_mAh_per_g <= 0:
        raise ValueError("active_mass_kg and specific_capacity_1C_mAh_per_g must be positive")
    ic = i * charge_sign
    cyc = (
        np.asarray(cycle, dtype=np.int64)
        if cycle is not None
        else cycle_index_from_current(ic, 1, rest_current_A)
    )
    cycles, cyc_idx = np.unique(cyc, return_inverse=True)
    n_c = cycles.size
    dt = np.diff(t, prepend=t[0])
    i_mid = 0.5 * (ic + np.concatenate([ic[:1], ic[:-1]]))
    p = ic * v
    p_mid = 0.5 * (p + np.concatenate([p[:1], p[:-1]]))
    dq = i_mid * dt / 3600.0
    de = p_mid * dt / 3600.0
    pos = dq > 0
    neg = dq < 0
    if charge_Ah is not None:
        c = as_float_array(charge_Ah, "charge_Ah")
        q_ch = _group_range(c, cyc_idx, ic > 0, n_c)
        q_dis = _group_range(c, cyc_idx, ic < 0, n_c)
    else:
        q_ch = np.bincount(cyc_idx, weights=np.where(pos, dq, 0.0), minlength=n_c)
        q_dis = -np.bincount(cyc_idx, weights=np.where(neg, dq, 0.0), minlength=n_c)
    e_ch = np.bincount(cyc_idx, weights=np.where(pos, de, 0.0), minlength=n_c)
    e_dis = -np.bincount(cyc_idx, weights=np.where(neg, de, 0.0), minlength=n_c)
    # for the mean voltage use the integrated charge (consistent with the energy integral)
    qi_ch = np.bincount(cyc_idx, weights=np.where(pos, dq, 0.0), minlength=n_c)
    qi_dis = -np.bincount(cyc_idx, weights=np.where(neg, dq, 0.0), minlength=n_c)
    with np.errstate(divide="ignore", invalid="ignore"):
        v_ch = np.where(qi_ch > 0, e_ch / qi_ch, np.nan)
        v_dis = np.where(qi_dis > 0, e_dis / qi_dis, np.nan)
        ce = np.where((q_ch > 0) & (q_dis > 0), q_dis / q_ch, np.nan)
    mass_g = active_mass_kg * 1000.0
    sc_ch = q_ch * 1000.0 / mass_g
    sc_dis = q_dis * 1000.0 / mass_g
    # C-rate from the mean |I| while discharging (time-weighted)
    i_1c = mass_g * specific_capacity_1C_mAh_per_g / 1000.0  # A
    t_dis = np.bincount(cyc_idx, weights=np.where(neg, dt, 0.0), minlength=n_c)
    with np.errstate(divide="ignore", invalid="ignore"):
        c_rate = np.where(t_dis > 0, (qi_dis * 3600.0 / t_dis) / i_1c, np.nan)
    # retention
    has_dis = q_dis > 0
    if reference_cycle is None:
        early = np.nonzero(has_dis & (np.arange(n_c) < reference_within))[0]
        ref_pos = int(early[np.argmax(q_dis[early])]) if early.size else 0
    else:
        ref_pos = int(np.nonzero(cycles == reference_cycle)[0][0])
    retention = q_dis / q_dis[ref_pos] if q_dis[ref_pos] > 0 else np.full(n_c, np.nan)
    ce_valid = np.isfinite(ce)
    mean_ce_all = float(np.mean(ce[ce_valid])) if ce_valid.any() else float("nan")
    ce_rest = ce[1:][ce_valid[1:]]
    mean_ce_ex1 = float(np.mean(ce_rest)) if ce_rest.size else float("nan")
    rate_table, recovery = _rate_table(cycles, c_rate, sc_dis, rate_rel_tol)
    return FullCellResult(
        cycle=cycles,
        charge_Ah=q_ch,
        discharge_Ah=q_dis,
        charge_mAh_per_g=sc_ch,
        discharge_mAh_per_g=sc_dis,
        coulombic_efficiency=ce,
        charge_energy_Wh=np.asarray(e_ch, dtype=float),
        discharge_energy_Wh=np.asarray(e_dis, dtype=float),
        mean_charge_voltage_V=v_ch,
        mean_discharge_voltage_V=v_dis,
        voltage_gap_V=v_ch - v_dis,
        c_rate=c_rate,
        retention=retention,
        reference_cycle=int(cycles[ref_pos]),
        mean_ce_all=mean_ce_all,
        mean_ce_excluding_first=mean_ce_ex1,
        rate_table=rate_table,
        recovery_ratio=recovery,
    )


def _group_range(c: np.ndarray, groups: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """max - min of ``c`` per group over the masked rows (0 where a group has no masked row)."""
    hi = np.full(n, -np.inf)
    lo = np.full(n, np.inf)
    np.maximum.at(hi, groups[mask], c[mask])
    np.minimum.at(lo, groups[mask], c[mask])
    out = hi - lo
    out[~np.isfinite(out)] = 0.0
    return out


def _rate_table(
    cycles: np.ndarray, c_rate: np.ndarray, sc_dis: np.ndarray, rel_tol: float
) -> tuple[tuple[RateStep, ...], float | None]:
    ok = np.isfinite(c_rate) & (sc_dis > 0)
    idx = np.nonzero(ok)[0]
    if idx.size == 0:
        return (), None
    cr = c_rate[idx]
    new = np.concatenate([[True], np.abs(np.diff(cr)) > rel_tol * np.maximum(cr[1:], cr[:-1])])
    step_id = np.cumsum(new) - 1
    n_s = int(step_id[-1]) + 1
    cnt = np.bincount(step_id, minlength=n_s)
    mean_cap = np.bincount(step_id, weights=sc_dis[idx], minlength=n_s) / cnt
    mean_rate = np.bincount(step_id, weights=cr, minlength=n_s) / cnt
    first_c = cycles[idx][new]
    last_pos = np.concatenate([np.nonzero(new)[0][1:] - 1, [idx.size - 1]])
    last_c = cycles[idx][last_pos]
    steps = tuple(
        RateStep(float(mean_rate[k]), int(first_c[k]), int(last_c[k]), float(mean_cap[k])) for k in range(n_s)
    )
    recovery = None
    if n_s > 1:
        back = [k for k in range(1, n_s) if abs(mean_rate[k] - mean_rate[0]) <= rel_tol * mean_rate[0]]
        if back:
            recovery = float(mean_cap[back[-1]] / mean_cap[0])
    return steps, recovery
