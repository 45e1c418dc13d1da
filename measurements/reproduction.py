"""The reproduction report: for each value the paper reports, the value the LIMS computed from the demo's raw
files, the difference, and the provenance link. Used by ``manage.py reproduce_paper`` and the /reproduction/ page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.urls import reverse

from measurements.demo_paper import REPORTED, Reported
from measurements.models import DerivedProperty

TOLERANCE = 0.02


@dataclass(frozen=True)
class Row:
    reported: Reported
    lims_value: float | None
    lims_unit: str
    difference: float | None  # relative, (lims - paper) / paper
    derived_id: int | None
    derived_url: str
    provenance_url: str
    method: str

    @property
    def difference_text(self) -> str:
        if self.difference is None:
            return ""
        text = f"{100 * self.difference:+.2f} %"
        return f"{text} (bound)" if self.reported.bound else text

    @property
    def within_tolerance(self) -> bool:
        """Within 2% of the paper's value; for a bound ("> 10,000 h") not more than 2% below it."""
        if self.difference is None:
            return False
        if self.reported.bound == "lower":
            return self.difference >= -TOLERANCE
        return abs(self.difference) <= TOLERANCE


def _subject_filter(r: Reported) -> Q:
    if r.cell_code.startswith("membrane:"):
        return Q(membrane__code=r.cell_code.split(":", 1)[1], measurement__cell__isnull=True)
    return Q(cell__code=r.cell_code)


def _subject(d: DerivedProperty) -> str:
    if d.cell_id is None and d.membrane is not None:
        return f"membrane:{d.membrane.code}"
    return d.cell.code if d.cell else ""


def _raw_name(d: DerivedProperty) -> str:
    m = d.measurement
    return m.upload.original_name if m is not None and m.upload is not None else ""


def _value(d: DerivedProperty, r: Reported) -> float | None:
    """The property's value, or the number at ``r.parameter_path`` inside its parameters."""
    if not r.parameter_path:
        return _in_unit(d.value, d.unit, r.unit) * r.scale
    node: Any = d.parameters
    for key in r.parameter_path:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None
    return float(node) * r.scale if isinstance(node, int | float) else None


def build(user: Any = None) -> list[Row]:
    """One row per reported value: the matching property of the named demo cell or sample (the earliest
    computed, restricted to the raw file named by ``file_contains`` when the paper's value is one of several
    measurements of that cell)."""
    query = Q()
    for r in REPORTED:
        query |= _subject_filter(r) & Q(name=r.property_name)
    candidates = DerivedProperty.objects.filter(query).select_related(
        "cell", "membrane", "measurement__upload"
    )
    if user is not None and not getattr(user, "is_staff", False):
        from lims.permissions import scope_to_teams

        candidates = scope_to_teams(candidates, user)
    by_key: dict[tuple[str, str], list[DerivedProperty]] = {}
    for d in candidates.order_by("computed_at", "id"):
        by_key.setdefault((_subject(d), d.name), []).append(d)
    rows = []
    for r in REPORTED:
        hits = [d for d in by_key.get((r.cell_code, r.property_name), []) if r.file_contains in _raw_name(d)]
        hit = hits[0] if hits else None
        value = _value(hit, r) if hit is not None else None
        if hit is None or value is None:
            rows.append(Row(r, None, "", None, None, "", "", ""))
            continue
        diff = (value - r.paper_value) / r.paper_value if r.paper_value else None
        provenance = reverse("cells:cell-provenance", args=[hit.cell_id]) if hit.cell_id else ""
        rows.append(
            Row(
                r,
                value,
                r.unit,
                diff,
                hit.pk,
                reverse("measurements:derived-detail", args=[hit.pk]),
                provenance,
                f"{hit.method} ({hit.method_version})",
            )
        )
    return rows


def _in_unit(value: float, unit: str, wanted: str) -> float:
    """The LIMS value in the paper's unit (pint), e.g. 0.0266 S/m -> 0.266 mS/cm; unitless values pass."""
    if not unit or not wanted or unit == wanted:
        return value
    from lims.units import UnitError, _normalise, convert

    try:
        return convert(value, _normalise(unit), _normalise(wanted))
    except (UnitError, Exception):  # an unknown unit spelling: report the value as stored
        return value


def summary(rows: list[Row]) -> dict[str, int]:
    return {
        "reported": len(rows),
        "computed": sum(r.lims_value is not None for r in rows),
        "within_2_percent": sum(r.within_tolerance for r in rows),
    }
