"""Ceramic pellet densities and sintering shrinkage (e.g. pressed and sintered LLZTO discs).

Units: mass in g, lengths in mm, volumes in cm3, densities in g/cm3 (1 cm3 = 1000 mm3).
"""

from __future__ import annotations

import math

from ._checks import positive

MM3_PER_CM3 = 1000.0


def cylinder_volume_cm3(diameter_mm: float, thickness_mm: float) -> float:
    """Volume of a disc in cm3: V = pi * (d/2)^2 * t [mm3] / 1000."""
    d = positive(diameter_mm, "pellet diameter (mm)")
    t = positive(thickness_mm, "pellet thickness (mm)")
    return math.pi * (d / 2.0) ** 2 * t / MM3_PER_CM3


def density_from_mass_and_volume_g_per_cm3(mass_g: float, volume_cm3: float) -> float:
    """Density in g/cm3: rho = m / V."""
    m = positive(mass_g, "pellet mass (g)")
    v = positive(volume_cm3, "pellet volume (cm3)")
    return m / v


def geometric_density_g_per_cm3(mass_g: float, diameter_mm: float, thickness_mm: float) -> float:
    """Geometric density of a cylindrical pellet in g/cm3: rho = m / (pi (d/2)^2 t)."""
    return density_from_mass_and_volume_g_per_cm3(mass_g, cylinder_volume_cm3(diameter_mm, thickness_mm))


def relative_density(measured_density_g_per_cm3: float, theoretical_density_g_per_cm3: float) -> float:
    """Relative density (fraction of theoretical): rho_rel = rho / rho_theoretical.

    The theoretical (crystallographic) density is an input, never assumed here: take it
    from the phase's lattice parameters or a literature value and record its source.
    """
    rho = positive(measured_density_g_per_cm3, "measured density (g/cm3)")
    rho_th = positive(theoretical_density_g_per_cm3, "theoretical density (g/cm3)")
    return rho / rho_th


def porosity(measured_density_g_per_cm3: float, theoretical_density_g_per_cm3: float) -> float:
    """Porosity (fraction): 1 - rho / rho_theoretical."""
    return 1.0 - relative_density(measured_density_g_per_cm3, theoretical_density_g_per_cm3)


def linear_shrinkage(green_length_mm: float, final_length_mm: float) -> float:
    """Linear shrinkage (fraction): (L_green - L_final) / L_green (positive when it shrank)."""
    l0 = positive(green_length_mm, "green dimension (mm)")
    l1 = positive(final_length_mm, "final dimension (mm)")
    return (l0 - l1) / l0


def volumetric_shrinkage(
    green_diameter_mm: float,
    green_thickness_mm: float,
    final_diameter_mm: float,
    final_thickness_mm: float,
) -> float:
    """Volumetric shrinkage of a disc (fraction): 1 - V_final / V_green, V = pi (d/2)^2 t."""
    v0 = cylinder_volume_cm3(green_diameter_mm, green_thickness_mm)
    v1 = cylinder_volume_cm3(final_diameter_mm, final_thickness_mm)
    return 1.0 - v1 / v0


__all__ = [
    "cylinder_volume_cm3",
    "density_from_mass_and_volume_g_per_cm3",
    "geometric_density_g_per_cm3",
    "linear_shrinkage",
    "porosity",
    "relative_density",
    "volumetric_shrinkage",
]
