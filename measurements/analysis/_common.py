"""Shared constants and helpers of the analysis package (no Django)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

K_B_EV_PER_K = 8.617333262e-5  # Boltzmann constant, eV/K (CODATA 2018, exact)
FARADAY_C_PER_MOL = 96485.33212  # C/mol (CODATA 2018, exact)

FloatArray = NDArray[np.float64]


def as_float_array(x: ArrayLike, name: str) -> FloatArray:
    """1-D float array, rejecting NaN/inf with a clear message."""
    a = np.asarray(x, dtype=float).ravel()
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf")
    return a


def same_length(**arrays: FloatArray) -> int:
    """Common length of the given arrays, or ValueError naming them."""
    lengths = {k: v.shape[0] for k, v in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"arrays must have equal length, got {lengths}")
    return next(iter(lengths.values()))
