"""Li+ transference number by the Bruce-Vincent-Evans (potentiostatic polarisation) method.

t+ = I_ss (dV - I_0 R_0) / (I_0 (dV - I_ss R_ss))
with dV the applied polarisation (V), I_0 / I_ss the initial / steady-state currents (A) and R_0 / R_ss
the interfacial (charge-transfer + SEI) resistances before / after polarisation (ohm).
References: Evans, Vincent & Bruce, Polymer 28 (1987) 2324; Bruce & Vincent, J. Electroanal. Chem.
225 (1987) 1.  I_0 either as the first measured point of the chronoamperogram (instrument-limited)
or from Ohm's law I_0 = dV / R_total,0 (bulk + interfacial resistance from EIS before polarisation);
the result names which was used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from ._common import as_float_array, same_length

METHOD_VERSION = "transference-bve/1"


@dataclass(frozen=True)
class CACurrents:
    """Initial (first point) and steady-state (mean of the last fraction) currents of a CA run."""

    i0_A: float
    iss_A: float
    iss_std_A: float
    steady_fraction: float
    n_steady_points: int


def ca_initial_and_steady_current(
    time_s: ArrayLike, current_A: ArrayLike, steady_fraction: float = 0.1
) -> CACurrents:
    """I_0 = current of the first point (earliest time); I_ss = mean current of the last
    ``steady_fraction`` of the run *by time* (default the last 10%).

    Hand check: t = 0..9 s, I = [10, 8, 6, 5, 4, 4, 4, 4, 4, 3.8] uA, fraction 0.1 -> I_0 = 10 uA and
    the window t >= 8.1 s holds only the last point -> I_ss = 3.8 uA.
    """
    t = as_float_array(time_s, "time_s")
    i = as_float_array(current_A, "current_A")
    same_length(time_s=t, current_A=i)
    if not 0 < steady_fraction <= 1:
        raise ValueError("steady_fraction must be in (0, 1]")
    order = np.argsort(t, kind="stable")
    t, i = t[order], i[order]
    t_start = t[-1] - steady_fraction * (t[-1] - t[0])
    mask = t >= t_start
    tail = i[mask]
    return CACurrents(
        i0_A=float(i[0]),
        iss_A=float(tail.mean()),
        iss_std_A=float(tail.std(ddof=1)) if tail.size > 1 else 0.0,
        steady_fraction=float(steady_fraction),
        n_steady_points=int(tail.size),
    )


def i0_from_ohms_law(delta_V: float, r_total_initial_ohm: float) -> float:
    """I_0 = dV / R_total,0 (A). Hand check: 10 mV / 500 ohm = 20 uA."""
    if r_total_initial_ohm <= 0:
        raise ValueError("r_total_initial_ohm must be positive")
    return float(delta_V / r_total_initial_ohm)


def bruce_vincent_evans(delta_V: float, i0_A: float, iss_A: float, r0_ohm: float, rss_ohm: float) -> float:
    """t+ = I_ss (dV - I_0 R_0) / (I_0 (dV - I_ss R_ss)).

    Hand check: dV = 0.010 V, I_0 = 20 uA, I_ss = 12 uA, R_0 = 200 ohm, R_ss = 220 ohm:
    numerator 12e-6 * (0.010 - 0.004) = 7.2e-8; denominator 20e-6 * (0.010 - 0.00264) = 1.472e-7;
    t+ = 0.48913.
    """
    den = i0_A * (delta_V - iss_A * rss_ohm)
    if den == 0:
        raise ZeroDivisionError("I_0 (dV - I_ss R_ss) is zero")
    return float(iss_A * (delta_V - i0_A * r0_ohm) / den)


@dataclass(frozen=True)
class TransferenceResult:
    """t+ with every input, both I_0 estimates and the one used (``i0_source``)."""

    t_plus: float
    delta_V: float
    i0_used_A: float
    i0_source: str
    i0_measured_A: float
    i0_ohms_law_A: float | None
    iss_A: float
    r0_ohm: float
    rss_ohm: float
    steady_fraction: float
    method: str = "Bruce-Vincent-Evans"
    version: str = METHOD_VERSION


def transference_number(
    time_s: ArrayLike,
    current_A: ArrayLike,
    delta_V: float,
    r0_ohm: float,
    rss_ohm: float,
    r_total_initial_ohm: float | None = None,
    i0_source: Literal["measured", "ohms_law"] = "measured",
    steady_fraction: float = 0.1,
) -> TransferenceResult:
    """t+ from a chronoamperogram plus the interfacial resistances before/after polarisation.

    ``i0_source="ohms_law"`` needs ``r_total_initial_ohm`` (bulk + interfacial resistance before
    polarisation); both I_0 values are reported whenever they can be computed.
    """
    ca = ca_initial_and_steady_current(time_s, current_A, steady_fraction)
    i0_ohm = i0_from_ohms_law(delta_V, r_total_initial_ohm) if r_total_initial_ohm else None
    if i0_source == "measured":
        i0 = ca.i0_A
    elif i0_source == "ohms_law":
        if i0_ohm is None:
            raise ValueError("i0_source='ohms_law' needs r_total_initial_ohm")
        i0 = i0_ohm
    else:
        raise ValueError(f"unknown i0_source {i0_source!r}")
    return TransferenceResult(
        t_plus=bruce_vincent_evans(delta_V, i0, ca.iss_A, r0_ohm, rss_ohm),
        delta_V=float(delta_V),
        i0_used_A=float(i0),
        i0_source=i0_source,
        i0_measured_A=ca.i0_A,
        i0_ohms_law_A=i0_ohm,
        iss_A=ca.iss_A,
        r0_ohm=float(r0_ohm),
        rss_ohm=float(rss_ohm),
        steady_fraction=float(steady_fraction),
    )
