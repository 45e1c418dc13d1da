"""Critical current density (CCD) from a stepped-current Li|electrolyte|Li test.

The current density j = |I| / A is raised step by step (each step usually alternates plating and
stripping at the same |j|). A step *fails* by
* hard short: |V| collapses below ``short_V`` (default 5 mV) and stays there for the rest of the step;
* sudden drop: |V| falls below (1 - ``drop_fraction``) of the median |V| of the preceding part of the
  step and stays below for the rest of the step (a short through a dendrite at a still-finite voltage);
* voltage limit: |V| >= ``voltage_limit_V`` (the cycler's safety cut-off);
* incomplete: the test ended before the step reached ``min_step_fraction`` of the nominal duration.
CCD = the highest j among the steps completed before the first failed step.
Reference: Kasemchainan et al., Nat. Mater. 18 (2019) 1105; Lu et al., Adv. Energy Mater. 12 (2022)
2200008 (CCD protocols).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._common import as_float_array, same_length

METHOD_VERSION = "ccd/1"


@dataclass(frozen=True)
class CCDStep:
    """One current-density step: level, times, verdict (``failure`` is None for a completed step)."""

    index: int
    current_density_A_per_m2: float
    start_s: float
    end_s: float
    completed: bool
    failure: str | None
    failure_time_s: float | None
    median_abs_voltage_V: float


@dataclass(frozen=True)
class CCDResult:
    """CCD in A/m^2 and in the lab's mA/cm^2 (1 mA/cm^2 = 10 A/m^2)."""

    ccd_A_per_m2: float | None
    ccd_mA_per_cm2: float | None
    failing_step: CCDStep | None
    steps: tuple[CCDStep, ...]
    method: str = "stepped-current CCD (highest completed step before first failure)"
    version: str = METHOD_VERSION


def _level_runs(level: np.ndarray, rel_tol: float, rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start/end (exclusive) indices of runs of equal |j| level among current-carrying points."""
    idx = np.nonzero(~rest)[0]
    if idx.size == 0:
        return np.zeros(0, int), np.zeros(0, int)
    lv = level[idx]
    change = np.abs(np.diff(lv)) > rel_tol * np.maximum(lv[1:], lv[:-1])
    starts = np.concatenate([[0], np.nonzero(change)[0] + 1])
    ends = np.concatenate([starts[1:], [idx.size]])
    return idx[starts], idx[ends - 1] + 1


def critical_current_density(
    time_s: ArrayLike,
    voltage_V: ArrayLike,
    current_A: ArrayLike,
    area_m2: float,
    short_V: float = 0.005,
    drop_fraction: float = 0.5,
    voltage_limit_V: float | None = 5.0,
    rest_current_A: float | None = None,
    level_rel_tol: float = 0.05,
    min_step_fraction: float = 0.95,
) -> CCDResult:
    """Detect the steps and their verdicts; CCD = highest j completed before the first failure.

    Hand check: steps 0.1, 0.2, ..., 1.0 mA/cm^2 with a short during the 0.9 mA/cm^2 step ->
    steps 1-8 completed, step 9 fails by short, CCD = 0.8 mA/cm^2 = 8 A/m^2.
    """
    t = as_float_array(time_s, "time_s")
    v = as_float_array(voltage_V, "voltage_V")
    i = as_float_array(current_A, "current_A")
    same_length(time_s=t, voltage_V=v, current_A=i)
    if area_m2 <= 0:
        raise ValueError("area_m2 must be positive")
    j = np.abs(i) / area_m2
    if rest_current_A is None:
        rest_current_A = 1e-3 * float(np.abs(i).max()) if i.size else 0.0
    rest = np.abs(i) <= rest_current_A
    starts, ends = _level_runs(j, level_rel_tol, rest)
    durations = t[np.maximum(ends - 1, starts)] - t[starts]
    nominal = float(np.median(durations)) if durations.size else 0.0
    av = np.abs(v)
    steps: list[CCDStep] = []
    for k, (s, e) in enumerate(zip(starts, ends, strict=True)):
        seg_v = av[s:e]
        seg_rest = rest[s:e]
        flowing = seg_v[~seg_rest]
        tt = t[s:e][~seg_rest]
        failure: str | None = None
        t_fail: float | None = None
        n = flowing.size
        if n:
            # suffix maximum: "stays below from here on" <=> max of the remainder below the limit
            suffix_max = np.maximum.accumulate(flowing[::-1])[::-1]
            below = suffix_max < short_V
            if voltage_limit_V is not None and np.any(flowing >= voltage_limit_V):
                failure = "voltage limit"
                t_fail = float(tt[np.argmax(flowing >= voltage_limit_V)])
            elif np.any(below) and n >= 2:
                failure = "short"
                t_fail = float(tt[np.argmax(below)])
            else:
                # sudden drop that stays: remainder max below (1-drop) x median of the part before
                pre_median = _running_median_proxy(flowing)
                cand = suffix_max < (1.0 - drop_fraction) * pre_median
                cand[: max(3, n // 20)] = False
                if np.any(cand):
                    failure = "sudden voltage drop"
                    t_fail = float(tt[np.argmax(cand)])
        if failure is None and k == len(starts) - 1 and durations[k] < min_step_fraction * nominal:
            failure = "incomplete (test ended)"
            t_fail = float(t[e - 1])
        steps.append(
            CCDStep(
                index=k,
                current_density_A_per_m2=float(np.median(j[s:e][~seg_rest])) if n else 0.0,
                start_s=float(t[s]),
                end_s=float(t[e - 1]),
                completed=failure is None,
                failure=failure,
                failure_time_s=t_fail,
                median_abs_voltage_V=float(np.median(flowing)) if n else float("nan"),
            )
        )
    first_fail = next((st for st in steps if not st.completed), None)
    done = [st.current_density_A_per_m2 for st in steps[: first_fail.index if first_fail else None]]
    ccd = max(done) if done else None
    return CCDResult(
        ccd_A_per_m2=ccd,
        ccd_mA_per_cm2=ccd / 10.0 if ccd is not None else None,
        failing_step=first_fail,
        steps=tuple(steps),
    )


def _running_median_proxy(x: np.ndarray) -> np.ndarray:
    """Median of x[:k] for every k (vectorised via the cumulative mean of a robust clip).

    An exact running median is O(n log n) per point; the cumulative mean of values clipped to
    3x the global median is an adequate, vectorised reference level for detecting a >50 % drop.
    """
    med = float(np.median(x))
    clipped = np.minimum(x, 3.0 * med if med > 0 else x.max())
    c = np.cumsum(clipped)
    out = np.empty_like(x)
    out[0] = clipped[0]
    out[1:] = c[:-1] / np.arange(1, x.size)
    return out
