"""Electrochemical stability window from linear sweep voltammetry (anodic or cathodic scan).

Two onset definitions, both reported and named (they measure different things):
* threshold: the first potential after the baseline region at which |j| exceeds a current-density
  threshold (default 0.01 mA/cm^2 = 0.1 A/m^2) and stays above it for ``n_consecutive`` points;
  the crossing is linearly interpolated between the bracketing points;
* tangent: intersection of a straight line fitted to the baseline region with a straight line fitted
  to the steep rising region (points with |j| between ``rise_lo`` and ``rise_hi`` of the maximum |j|
  after the baseline). V_on = (b_base - b_rise) / (m_rise - m_base).
References: Xu, Chem. Rev. 104 (2004) 4303 (window definitions); Zhu, He & Mo, ACS Appl. Mater.
Interfaces 7 (2015) 23685 (onset criteria for solid electrolytes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._common import as_float_array, same_length

METHOD_VERSION = "lsv-window/1"


@dataclass(frozen=True)
class StabilityWindow:
    """Onset potentials (V) by the threshold and tangent methods, with their settings."""

    onset_threshold_V: float | None
    onset_tangent_V: float | None
    threshold_A_per_m2: float
    baseline_range_V: tuple[float, float]
    rise_range_V: tuple[float, float] | None
    method_threshold: str
    method_tangent: str
    version: str = METHOD_VERSION


def stability_window(
    potential_V: ArrayLike,
    current_A: ArrayLike,
    area_m2: float,
    threshold_A_per_m2: float = 0.1,
    baseline_fraction: float = 0.3,
    n_consecutive: int = 3,
    rise_lo: float = 0.2,
    rise_hi: float = 0.8,
) -> StabilityWindow:
    """Onset of oxidation (or reduction) in an LSV sweep.

    The baseline region is the first ``baseline_fraction`` of the swept potential range (from the
    start potential in the scan direction). j = I / A in A/m^2 (0.1 A/m^2 = 0.01 mA/cm^2).
    Hand check for the tangent method: baseline j = 0 and a rise j = 50 (V - 4.76) A/m^2 intersect
    at V = 4.76 V.
    """
    v = as_float_array(potential_V, "potential_V")
    i = as_float_array(current_A, "current_A")
    same_length(potential_V=v, current_A=i)
    if area_m2 <= 0:
        raise ValueError("area_m2 must be positive")
    j = np.abs(i) / area_m2
    direction = 1.0 if v[-1] >= v[0] else -1.0
    progress = (v - v[0]) * direction  # distance swept, >= 0
    total = float(progress.max())
    in_base = progress <= baseline_fraction * total
    base_end = int(np.nonzero(in_base)[0].max()) + 1 if np.any(in_base) else 1
    baseline_range = (float(v[0]), float(v[base_end - 1]))

    # threshold method ---------------------------------------------------------------------
    above = j > threshold_A_per_m2
    above[:base_end] = False
    onset_thr: float | None = None
    if n_consecutive > 1 and above.size >= n_consecutive:
        run = np.lib.stride_tricks.sliding_window_view(above, n_consecutive).all(axis=1)
        idx = np.nonzero(run)[0]
    else:
        idx = np.nonzero(above)[0]
    if idx.size:
        k = int(idx[0])
        if k > 0:
            j1, j2 = j[k - 1], j[k]
            frac = (threshold_A_per_m2 - j1) / (j2 - j1) if j2 != j1 else 1.0
            onset_thr = float(v[k - 1] + frac * (v[k] - v[k - 1]))
        else:
            onset_thr = float(v[k])

    # tangent method -----------------------------------------------------------------------
    onset_tan: float | None = None
    rise_range: tuple[float, float] | None = None
    if base_end >= 2:
        m_b, b_b = np.polyfit(v[:base_end], j[:base_end], 1)
        after = np.arange(base_end, v.size)
        if after.size >= 2:
            jmax = float(j[after].max())
            sel = after[(j[after] >= rise_lo * jmax) & (j[after] <= rise_hi * jmax)]
            if sel.size >= 2 and jmax > threshold_A_per_m2:
                m_r, b_r = np.polyfit(v[sel], j[sel], 1)
                if m_r != m_b:
                    onset_tan = float((b_b - b_r) / (m_r - m_b))
                    rise_range = (float(v[sel].min()), float(v[sel].max()))
    return StabilityWindow(
        onset_threshold_V=onset_thr,
        onset_tangent_V=onset_tan,
        threshold_A_per_m2=float(threshold_A_per_m2),
        baseline_range_V=baseline_range,
        rise_range_V=rise_range,
        method_threshold=f"threshold |j| > {threshold_A_per_m2:g} A/m^2 after baseline",
        method_tangent=f"tangent intersection (rise {rise_lo:g}-{rise_hi:g} of max |j|)",
    )
