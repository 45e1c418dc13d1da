"""Tensile test: ultimate tensile strength and elongation at break.

stress = F / A0 (Pa), engineering strain = dL / L0. Strength = max stress; elongation at break =
strain at the last point before the stress falls below ``break_drop_fraction`` x max (or the last
point). Reference: ASTM D882-18 (thin plastic sheeting), sec. 11.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._common import as_float_array, same_length

METHOD_VERSION = "tensile/1"


@dataclass(frozen=True)
class TensileResult:
    tensile_strength_Pa: float
    strain_at_max_stress: float
    elongation_at_break: float  # engineering strain (0.8 = 80 %)
    method: str = "engineering stress-strain, UTS = max stress"
    version: str = METHOD_VERSION


def tensile_properties(
    strain: ArrayLike, stress_Pa: ArrayLike, break_drop_fraction: float = 0.1
) -> TensileResult:
    """UTS and elongation at break. Hand check: strain [0, .4, .8, .85], stress [0, 500, 740, 20] kPa
    -> UTS 740 kPa, break where stress < 0.1 x 740 kPa: last point before is strain 0.8.
    """
    e = as_float_array(strain, "strain")
    s = as_float_array(stress_Pa, "stress_Pa")
    same_length(strain=e, stress_Pa=s)
    k = int(np.argmax(s))
    smax = float(s[k])
    after = np.nonzero(s[k:] < break_drop_fraction * smax)[0]
    brk = k + int(after[0]) - 1 if after.size else s.size - 1
    return TensileResult(smax, float(e[k]), float(e[brk]))


def tensile_from_force(
    extension_m: ArrayLike,
    force_N: ArrayLike,
    gauge_length_m: float,
    cross_section_m2: float,
    break_drop_fraction: float = 0.1,
) -> TensileResult:
    """Convert force/extension to stress = F/A0 and strain = dL/L0, then :func:`tensile_properties`.
    Hand check: 0.74 N on 10 mm x 0.1 mm (1e-6 m^2) = 740 kPa.
    """
    x = as_float_array(extension_m, "extension_m")
    f = as_float_array(force_N, "force_N")
    return tensile_properties(x / gauge_length_m, f / cross_section_m2, break_drop_fraction)
