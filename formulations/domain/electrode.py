"""Electrode arithmetic: active mass, composition checks and C-rate currents.

Units: masses in g (loadings in mg/cm2), areas in cm2, specific capacity in mAh/g,
currents in A. 1 C is the current that (dis)charges the nominal capacity in one hour:
I_1C [A] = m_active [g] * q [mAh/g] / 1000 [mA/A] / 1 h.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ._checks import as_float, fraction_0_1, non_negative, positive
from .errors import CompositionError

DEFAULT_FRACTION_TOLERANCE = 1e-3


def disc_area_cm2(diameter_mm: float) -> float:
    """Area of a disc electrode in cm2: A = pi * (d [mm] / 20)^2 (d/10 to cm, then /2)."""
    d = positive(diameter_mm, "electrode diameter (mm)")
    return math.pi * (d / 20.0) ** 2


def active_mass_from_loading_g(loading_mg_per_cm2: float, area_cm2: float) -> float:
    """Active mass in g from the areal loading: m = L [mg/cm2] * A [cm2] / 1000."""
    loading = non_negative(loading_mg_per_cm2, "active loading (mg/cm2)")
    area = positive(area_cm2, "electrode area (cm2)")
    return loading * area / 1000.0


def active_mass_from_weighed_electrode_g(
    electrode_mass_g: float, current_collector_mass_g: float, active_fraction: float
) -> float:
    """Active mass in g from a weighed disc: m = (m_electrode - m_collector) * f_active."""
    m_e = positive(electrode_mass_g, "electrode mass (g)")
    m_cc = non_negative(current_collector_mass_g, "current collector mass (g)")
    f = fraction_0_1(active_fraction, "active material fraction")
    if m_cc > m_e:
        raise CompositionError(
            f"current collector mass {m_cc:g} g exceeds the weighed electrode mass "
            f"{m_e:g} g; check the blank collector weighing"
        )
    return (m_e - m_cc) * f


def areal_loading_mg_per_cm2(active_mass_g: float, area_cm2: float) -> float:
    """Areal loading in mg/cm2: L = m [g] * 1000 / A [cm2]."""
    m = non_negative(active_mass_g, "active mass (g)")
    area = positive(area_cm2, "electrode area (cm2)")
    return m * 1000.0 / area


def check_composition_fractions(
    fractions: Mapping[str, float], tolerance: float = DEFAULT_FRACTION_TOLERANCE
) -> None:
    """Raise unless every fraction is in [0, 1] and |sum_i f_i - 1| <= tolerance.

    e.g. LFP : Super-P : PVDF = 0.8 : 0.1 : 0.1.
    """
    if not fractions:
        raise CompositionError("the electrode composition is empty")
    tol = non_negative(tolerance, "fraction tolerance")
    values = [fraction_0_1(v, f"fraction of {name!r}") for name, v in fractions.items()]
    total = math.fsum(values)
    if abs(total - 1.0) > tol:
        listing = ", ".join(f"{name} {v:g}" for name, v in fractions.items())
        raise CompositionError(
            f"electrode composition fractions sum to {total:.6g}, not 1 (tolerance {tol:g}): {listing}"
        )


def one_c_current_A(active_mass_g: float, specific_capacity_mAh_per_g: float) -> float:
    """1 C current in A: I_1C = m [g] * q [mAh/g] / 1000 / (1 h)."""
    m = positive(active_mass_g, "active mass (g)")
    q = positive(specific_capacity_mAh_per_g, "specific capacity (mAh/g)")
    return m * q / 1000.0


def current_for_c_rate_A(active_mass_g: float, specific_capacity_mAh_per_g: float, c_rate: float) -> float:
    """Current in A for a C-rate: I = C * I_1C = C * m * q / 1000."""
    c = non_negative(c_rate, "C-rate")
    return c * one_c_current_A(active_mass_g, specific_capacity_mAh_per_g)


def c_rate_from_current(current_A: float, active_mass_g: float, specific_capacity_mAh_per_g: float) -> float:
    """C-rate from an applied current: C = |I| / I_1C (sign of charge/discharge dropped)."""
    i = abs(as_float(current_A, "current (A)"))
    return i / one_c_current_A(active_mass_g, specific_capacity_mAh_per_g)


__all__ = [
    "DEFAULT_FRACTION_TOLERANCE",
    "active_mass_from_loading_g",
    "active_mass_from_weighed_electrode_g",
    "areal_loading_mg_per_cm2",
    "c_rate_from_current",
    "check_composition_fractions",
    "current_for_c_rate_A",
    "disc_area_cm2",
    "one_c_current_A",
]
