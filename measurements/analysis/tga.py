"""Thermogravimetric analysis: residue at a chosen temperature and the inorganic filler content.

Residue w_res(T) = 100 m(T) / m(T_start) (% , interpolated at T). For a composite of a polymer (which
itself leaves a residue r_p % at T) and an inert filler (residue 100 %):
w_res = f 100 + (1 - f) r_p  ->  filler wt% = 100 (w_res - r_p) / (100 - r_p).
Reference: Menczel & Prime, *Thermal Analysis of Polymers*, Wiley 2009, ch. 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._common import as_float_array, same_length

METHOD_VERSION = "tga-residue/1"


@dataclass(frozen=True)
class TGAResult:
    temperature_K: float
    residue_percent: float
    polymer_residue_percent: float
    filler_wt_percent: float
    method: str = "TGA residue at T, polymer-residue corrected"
    version: str = METHOD_VERSION


def residue_percent_at(temperature_K: ArrayLike, mass: ArrayLike, at_K: float) -> float:
    """100 m(at_K) / m(first point), linear interpolation on temperature."""
    t = as_float_array(temperature_K, "temperature_K")
    m = as_float_array(mass, "mass")
    same_length(temperature_K=t, mass=m)
    order = np.argsort(t, kind="stable")
    return float(100.0 * np.interp(at_K, t[order], m[order]) / m[0])


def filler_content(
    temperature_K: ArrayLike, mass: ArrayLike, at_K: float, polymer_residue_percent: float = 0.0
) -> TGAResult:
    """Filler wt% = 100 (w_res - r_p) / (100 - r_p). Hand check: residue 22 %, polymer leaves 2.5 %
    -> 100 x 19.5 / 97.5 = 20.0 wt%.
    """
    w = residue_percent_at(temperature_K, mass, at_K)
    rp = polymer_residue_percent
    return TGAResult(float(at_K), w, float(rp), 100.0 * (w - rp) / (100.0 - rp))
