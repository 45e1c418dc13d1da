"""Input validation shared by the domain modules (private)."""

from __future__ import annotations

import math

from .errors import CompositionError


def as_float(value: object, what: str) -> float:
    """Return ``value`` as a finite float or raise :class:`CompositionError` naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CompositionError(f"{what} must be a number, got {value!r}")
    result = float(value)
    if math.isnan(result):
        raise CompositionError(f"{what} is not a number (NaN); enter a measured value")
    if math.isinf(result):
        raise CompositionError(f"{what} is infinite ({result}); enter a finite value")
    return result


def non_negative(value: object, what: str) -> float:
    """Finite float >= 0, else :class:`CompositionError`."""
    result = as_float(value, what)
    if result < 0:
        raise CompositionError(f"{what} cannot be negative, got {result:g}")
    return result


def positive(value: object, what: str) -> float:
    """Finite float > 0, else :class:`CompositionError`."""
    result = as_float(value, what)
    if result <= 0:
        raise CompositionError(f"{what} must be greater than zero, got {result:g}")
    return result


def fraction_0_1(value: object, what: str, *, include_one: bool = True) -> float:
    """Finite float in [0, 1] (or [0, 1) when ``include_one`` is False)."""
    result = as_float(value, what)
    upper_ok = result <= 1 if include_one else result < 1
    if result < 0 or not upper_ok:
        interval = "[0, 1]" if include_one else "[0, 1) (1.0 would mean no other material)"
        raise CompositionError(f"{what} must lie in {interval}, got {result:g}")
    return result
