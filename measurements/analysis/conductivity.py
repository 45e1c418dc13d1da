"""Ionic conductivity from a bulk resistance and the cell geometry.

sigma = L / (R_b A)  (S/m with L in m, R_b in ohm, A in m^2).
Unit helpers: 1 mS/cm = 1e-3 S / 1e-2 m = 0.1 S/m, so sigma[mS/cm] = 10 * sigma[S/m].
Reference: Huggins, *Advanced Batteries*, Springer 2009, ch. 17; Lasia 2014, sec. 4.9.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

METHOD_VERSION = "conductivity/1"


def S_per_m_to_mS_per_cm(sigma_S_per_m: ArrayLike) -> np.ndarray:
    """sigma[mS/cm] = 10 * sigma[S/m]; e.g. 0.0266 S/m -> 0.266 mS/cm."""
    return np.asarray(sigma_S_per_m, dtype=float) * 10.0


def mS_per_cm_to_S_per_m(sigma_mS_per_cm: ArrayLike) -> np.ndarray:
    """sigma[S/m] = 0.1 * sigma[mS/cm]; e.g. 0.266 mS/cm -> 0.0266 S/m."""
    return np.asarray(sigma_mS_per_cm, dtype=float) * 0.1


@dataclass(frozen=True)
class ConductivityResult:
    """sigma in S/m (and the lab's mS/cm), with the inputs that produced it."""

    sigma_S_per_m: float
    sigma_mS_per_cm: float
    r_bulk_ohm: float
    thickness_m: float
    area_m2: float
    method: str = "sigma = L / (R_bulk A)"
    version: str = METHOD_VERSION


def ionic_conductivity(r_bulk_ohm: float, thickness_m: float, area_m2: float) -> ConductivityResult:
    """Ionic conductivity sigma = L / (R A).

    Hand check: L = 500 um = 5e-4 m, A = 2.0 cm^2 = 2e-4 m^2, R = 94.0 ohm ->
    sigma = 5e-4 / (94.0 * 2e-4) = 0.02660 S/m = 0.2660 mS/cm.
    """
    for name, v in (("r_bulk_ohm", r_bulk_ohm), ("thickness_m", thickness_m), ("area_m2", area_m2)):
        if not np.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be positive and finite, got {v}")
    sigma = thickness_m / (r_bulk_ohm * area_m2)
    return ConductivityResult(
        sigma_S_per_m=float(sigma),
        sigma_mS_per_cm=float(sigma * 10.0),
        r_bulk_ohm=float(r_bulk_ohm),
        thickness_m=float(thickness_m),
        area_m2=float(area_m2),
    )


def bulk_resistance_for(sigma_S_per_m: ArrayLike, thickness_m: float, area_m2: float) -> np.ndarray:
    """Inverse relation R = L / (sigma A) (ohm), vectorised; used by synthetic data."""
    return thickness_m / (np.asarray(sigma_S_per_m, dtype=float) * area_m2)
