"""Temperature dependence of ionic conductivity: Arrhenius and Vogel-Tammann-Fulcher fits.

Arrhenius, two forms (never mixed; ``form`` is part of the result):
  "sigma":  sigma = A exp(-Ea / (k_B T))      -> ln sigma     = ln A - (Ea/k_B) (1/T)
  "sigmaT": sigma T = A exp(-Ea / (k_B T))    -> ln (sigma T) = ln A - (Ea/k_B) (1/T)
VTF: sigma = A T^-1/2 exp(-B / (T - T0)), B in K (pseudo-activation energy B k_B in eV).
k_B = 8.617333262e-5 eV/K. References: West, *Solid State Chemistry and its Applications*, 2nd ed.,
Wiley 2014, ch. 8; Ratner, Johansson & Shriver, MRS Bull. 25 (2000) 31 (VTF in polymer electrolytes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, stats

from ._common import K_B_EV_PER_K, as_float_array, same_length

METHOD_VERSION = "arrhenius/1"
VTF_METHOD_VERSION = "vtf/1"


@dataclass(frozen=True)
class ArrheniusFit:
    """Linear fit of ln(sigma) or ln(sigma T) against 1/T.

    ``prefactor`` is in S/m ("sigma") or S K/m ("sigmaT").
    """

    form: str
    ea_eV: float
    ea_stderr_eV: float
    prefactor: float
    prefactor_unit: str
    r_squared: float
    n_points: int
    temperature_range_K: tuple[float, float]
    method: str
    version: str = METHOD_VERSION

    def sigma_at(self, temperature_K: ArrayLike) -> np.ndarray:
        """sigma(T) in S/m from the fitted line (divides by T for the sigmaT form)."""
        t = np.asarray(temperature_K, dtype=float)
        y = self.prefactor * np.exp(-self.ea_eV / (K_B_EV_PER_K * t))
        return y / t if self.form == "sigmaT" else y


def arrhenius_sigma(
    temperature_K: ArrayLike,
    ea_eV: float,
    sigma_ref_S_per_m: float,
    t_ref_K: float,
    form: Literal["sigma", "sigmaT"] = "sigma",
) -> np.ndarray:
    """sigma(T) that passes through sigma_ref at T_ref with activation energy Ea.

    "sigma": sigma = sigma_ref exp(-Ea/k_B (1/T - 1/T_ref)); "sigmaT" additionally times T_ref/T.
    Hand check: Ea = 0.331 eV, T = 303.15 K, T_ref = 293.15 K: Ea/k_B = 3841.1 K,
    1/T - 1/T_ref = -1.1253e-4 K^-1 -> factor exp(0.4322) = 1.541.
    """
    t = np.asarray(temperature_K, dtype=float)
    y = sigma_ref_S_per_m * np.exp(-ea_eV / K_B_EV_PER_K * (1.0 / t - 1.0 / t_ref_K))
    return y * (t_ref_K / t) if form == "sigmaT" else y


def fit_arrhenius(
    temperature_K: ArrayLike,
    sigma_S_per_m: ArrayLike,
    form: Literal["sigma", "sigmaT"] = "sigma",
) -> ArrheniusFit:
    """Arrhenius fit: slope of ln(sigma) [or ln(sigma T)] vs 1/T is -Ea/k_B.

    Ea = -slope * k_B; stderr(Ea) = stderr(slope) * k_B; prefactor = exp(intercept).
    Hand check: two points sigma = 1e-2 S/m at 300 K and 1e-1 S/m at 400 K:
    slope = ln(10) / (1/400 - 1/300) = -2763.1 K -> Ea = 2763.1 * 8.617e-5 = 0.2381 eV.
    """
    t = as_float_array(temperature_K, "temperature_K")
    s = as_float_array(sigma_S_per_m, "sigma_S_per_m")
    same_length(temperature_K=t, sigma_S_per_m=s)
    if t.size < 2 or np.any(t <= 0) or np.any(s <= 0):
        raise ValueError("need >= 2 points with positive temperature and conductivity")
    if form not in ("sigma", "sigmaT"):
        raise ValueError(f"form must be 'sigma' or 'sigmaT', got {form!r}")
    y = np.log(s * t) if form == "sigmaT" else np.log(s)
    res = stats.linregress(1.0 / t, y)
    stderr = float(res.stderr) * K_B_EV_PER_K if t.size > 2 else float("nan")
    return ArrheniusFit(
        form=form,
        ea_eV=float(-res.slope * K_B_EV_PER_K),
        ea_stderr_eV=stderr,
        prefactor=float(np.exp(res.intercept)),
        prefactor_unit="S K/m" if form == "sigmaT" else "S/m",
        r_squared=float(res.rvalue**2),
        n_points=int(t.size),
        temperature_range_K=(float(t.min()), float(t.max())),
        method=f"Arrhenius, linear fit of ln({'sigma*T' if form == 'sigmaT' else 'sigma'}) vs 1/T",
    )


@dataclass(frozen=True)
class VTFFit:
    """sigma = A T^-1/2 exp(-B / (T - T0)); B k_B is a pseudo-activation energy, not an Arrhenius Ea."""

    a_prefactor: float  # S K^1/2 / m
    b_K: float
    t0_K: float
    pseudo_ea_eV: float
    r_squared: float
    n_points: int
    method: str = "VTF, sigma = A T^-1/2 exp(-B/(T-T0))"
    version: str = VTF_METHOD_VERSION

    def sigma_at(self, temperature_K: ArrayLike) -> np.ndarray:
        t = np.asarray(temperature_K, dtype=float)
        return self.a_prefactor / np.sqrt(t) * np.exp(-self.b_K / (t - self.t0_K))


def vtf_sigma(temperature_K: ArrayLike, a: float, b_K: float, t0_K: float) -> np.ndarray:
    """VTF conductivity sigma = A T^-1/2 exp(-B/(T-T0)) in S/m."""
    t = np.asarray(temperature_K, dtype=float)
    return a / np.sqrt(t) * np.exp(-b_K / (t - t0_K))


def fit_vtf(temperature_K: ArrayLike, sigma_S_per_m: ArrayLike) -> VTFFit:
    """VTF fit: for a trial T0, ln(sigma sqrt(T)) = ln A - B / (T - T0) is linear in 1/(T - T0);
    T0 is chosen in (0, min T - 1 K) to maximise R^2 (bounded scalar search), then A, B follow.

    Reference: Vogel 1921; Fulcher 1925; Tammann & Hesse 1926; Ratner et al. 2000.
    Hand check: A = 10, B = 1000 K, T0 = 200 K, T = 300 K -> sigma = 10/17.32 * e^-10 = 2.62e-5 S/m.
    """
    t = as_float_array(temperature_K, "temperature_K")
    s = as_float_array(sigma_S_per_m, "sigma_S_per_m")
    same_length(temperature_K=t, sigma_S_per_m=s)
    if t.size < 4:
        raise ValueError("VTF has 3 parameters: need at least 4 points")
    y = np.log(s * np.sqrt(t))

    def sse(t0: float) -> float:
        x = 1.0 / (t - t0)
        coef = np.polyfit(x, y, 1)
        r = y - np.polyval(coef, x)
        return float(r @ r)

    hi = float(t.min()) - 1.0
    grid = np.linspace(0.0, hi, 60)
    k = int(np.argmin([sse(g) for g in grid]))
    a_lo, a_hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    t0 = float(optimize.minimize_scalar(sse, bounds=(a_lo, a_hi), method="bounded").x)
    x = 1.0 / (t - t0)
    res = stats.linregress(x, y)
    b = float(-res.slope)
    return VTFFit(
        a_prefactor=float(np.exp(res.intercept)),
        b_K=b,
        t0_K=t0,
        pseudo_ea_eV=b * K_B_EV_PER_K,
        r_squared=float(res.rvalue**2),
        n_points=int(t.size),
    )
