"""Planned vs actual: relative deviation of a weighed or measured value from the plan.

``actual`` and ``planned`` must be in the same unit (g with g, mL with mL ...); the
relative deviation itself is dimensionless: d = (actual - planned) / planned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._checks import as_float, non_negative
from .composition import Component, component_mass_g
from .errors import CompositionError

DEFAULT_TOLERANCE = 0.02


def relative_deviation(actual: float, planned: float) -> float:
    """Relative deviation: d = (actual - planned) / planned (0 when both are 0).

    Raises :class:`CompositionError` when planned is 0 but actual is not (undefined).
    """
    a = as_float(actual, "actual value")
    p = as_float(planned, "planned value")
    if p == 0:
        if a == 0:
            return 0.0
        raise CompositionError(
            f"planned value is 0 but actual is {a:g}; a relative deviation is undefined, "
            "compare the absolute amount instead"
        )
    return (a - p) / abs(p)


def exceeds_tolerance(actual: float, planned: float, tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """True when |d| = |(actual - planned) / planned| > tolerance (default 0.02 = 2 %)."""
    tol = non_negative(tolerance, "tolerance")
    return abs(relative_deviation(actual, planned)) > tol


@dataclass(frozen=True)
class DeviationCheck:
    """Result of comparing one actual value to its plan."""

    name: str
    planned: float
    actual: float
    relative_deviation: float
    tolerance: float
    flagged: bool


def check_deviation(
    actual: float, planned: float, tolerance: float = DEFAULT_TOLERANCE, name: str = ""
) -> DeviationCheck:
    """Compare actual to planned: d = (a - p) / p, flagged when |d| > tolerance."""
    tol = non_negative(tolerance, "tolerance")
    d = relative_deviation(actual, planned)
    return DeviationCheck(
        name=name,
        planned=float(planned),
        actual=float(actual),
        relative_deviation=d,
        tolerance=tol,
        flagged=abs(d) > tol,
    )


def component_mass_deviations(
    planned: Sequence[Component],
    actual: Sequence[Component],
    tolerance: float = DEFAULT_TOLERANCE,
) -> list[DeviationCheck]:
    """Mass deviation of every planned component from its actual counterpart (by name).

    d_i = (m_actual,i - m_planned,i) / m_planned,i, compared in grams (volumes converted
    with the component's density). A planned component missing from ``actual`` is an error.
    """
    actual_by_name = {c.name: c for c in actual}
    extra = sorted(set(actual_by_name) - {c.name for c in planned})
    if extra:
        raise CompositionError(f"actual weighings name unplanned components: {', '.join(extra)}")
    checks: list[DeviationCheck] = []
    for p in planned:
        if p.name not in actual_by_name:
            raise CompositionError(f"no actual weighing recorded for component {p.name!r}")
        m_p = component_mass_g(p)
        m_a = component_mass_g(actual_by_name[p.name])
        checks.append(check_deviation(m_a, m_p, tolerance, name=p.name))
    return checks


def any_flagged(checks: Sequence[DeviationCheck]) -> bool:
    """True when any check exceeds its tolerance."""
    return any(c.flagged for c in checks)


__all__ = [
    "DEFAULT_TOLERANCE",
    "DeviationCheck",
    "any_flagged",
    "check_deviation",
    "component_mass_deviations",
    "exceeds_tolerance",
    "relative_deviation",
]
