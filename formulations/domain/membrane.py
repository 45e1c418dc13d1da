"""Cast-membrane geometry: thickness of a film cast into a mould of fixed area.

A mass m of slurry of density rho spread evenly over a mould of area A gives a film of
thickness t = m / (rho * A). With m in g, rho in g/mL (= g/cm3) and A in cm2, t comes out
in cm; x 10^4 gives um. The result is the wet/as-cast estimate: curing shrinkage and an
estimated (rather than measured) density both make the real film differ, which is what
:func:`thickness_discrepancy` quantifies.
"""

from __future__ import annotations

from ._checks import non_negative, positive
from .errors import CompositionError

UM_PER_CM = 1.0e4


def thickness_from_cast_mass_um(
    cast_mass_g: float, slurry_density_g_per_mL: float, mould_area_cm2: float
) -> float:
    """Film thickness in um: t = m / (rho * A) [cm] * 10^4 um/cm."""
    m = non_negative(cast_mass_g, "cast mass (g)")
    rho = positive(slurry_density_g_per_mL, "slurry density (g/mL)")
    area = positive(mould_area_cm2, "mould area (cm2)")
    return m / (rho * area) * UM_PER_CM


def cast_mass_for_thickness_g(
    target_thickness_um: float, slurry_density_g_per_mL: float, mould_area_cm2: float
) -> float:
    """Slurry mass in g to cast for a target thickness: m = rho * A * (t / 10^4)."""
    t = non_negative(target_thickness_um, "target thickness (um)")
    rho = positive(slurry_density_g_per_mL, "slurry density (g/mL)")
    area = positive(mould_area_cm2, "mould area (cm2)")
    return rho * area * t / UM_PER_CM


def thickness_discrepancy(measured_thickness_um: float, derived_thickness_um: float) -> float:
    """Relative discrepancy of measured vs derived thickness: (t_meas - t_derived) / t_derived.

    Negative means the film came out thinner than the cast mass predicts (e.g. shrinkage).
    """
    t_meas = non_negative(measured_thickness_um, "measured thickness (um)")
    t_der = non_negative(derived_thickness_um, "derived thickness (um)")
    if t_der == 0:
        raise CompositionError("derived thickness is 0 um; a relative discrepancy is undefined")
    return (t_meas - t_der) / t_der


__all__ = [
    "UM_PER_CM",
    "cast_mass_for_thickness_g",
    "thickness_discrepancy",
    "thickness_from_cast_mass_um",
]
