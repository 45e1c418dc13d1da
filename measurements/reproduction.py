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
        return "" if self.difference is None else f"{100 * self.difference:+.2f} %"

    @property
    def within_tolerance(self) -> bool:
        return self.difference is not None and abs(self.difference) <= TOLERANCE


def _subject_filter(r: Reported) -> Q:
    if r.cell_code.startswith("membrane:"):
        return Q(membrane__code=r.cell_code.split(":", 1)[1], measurement__cell__isnull=True)
    return Q(cell__code=r.cell_code)


def build(user: Any = None) -> list[Row]:
    """One row per reported value (latest matching property of the named demo cell or sample)."""
    query = Q()
    for r in REPORTED:
        query |= _subject_filter(r) & Q(name=r.property_name)
    candidates = DerivedProperty.objects.filter(query).select_related("cell", "membrane")
    if user is not None and not getattr(user, "is_staff", False):
        from lims.permissions import scope_to_teams

        candidates = scope_to_teams(candidates, user)
    found: dict[tuple[str, str], DerivedProperty] = {}
    for d in candidates.order_by("computed_at", "id"):
        key = (
            f"membrane:{d.membrane.code}"
            if d.cell_id is None and d.membrane is not None
            else (d.cell.code if d.cell else ""),
            d.name,
        )
        if d.name == "interfacial_resistance" and key in found:
            continue  # the first spectrum of the cell (after 1 cycle) is the one the paper reports
        found[key] = d
    rows = []
    for r in REPORTED:
        hit = found.get((r.cell_code, r.property_name))
        if hit is None:
            rows.append(Row(r, None, "", None, None, "", "", ""))
            continue
        value = _in_unit(hit.value, hit.unit, r.unit) * r.scale
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
