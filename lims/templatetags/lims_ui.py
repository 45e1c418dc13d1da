"""Template helpers shared by every page: sortable table headers, the "History" link of a record, the
filters of numbers (``sig``, ``percent``)."""

from __future__ import annotations

import math
from typing import Any

from django import template
from django.utils.html import format_html

from lims.listing import HeaderCell, Sorting

register = template.Library()


@register.inclusion_tag("_th.html")
def sort_th(sorting: Sorting | None, key: str, label: str, css: str = "") -> dict[str, Any]:
    """``{% sort_th sorting "code" "Code" "num" %}``: a column header that sorts the list by ``key``
    (a plain header where the page has no ``sorting``, e.g. a table included in a detail page)."""
    if isinstance(sorting, Sorting):
        cell = sorting.header(key, label, css)
    else:
        cell = HeaderCell(label=label, css=css)
    return {"h": cell}


@register.simple_tag(takes_context=True)
def history_link(context: Any, obj: Any, text: str = "History") -> str:
    """A "History" button to the record's audit page, for the people who may read it (managers, staff)."""
    from lims.history import history_url, may_open_history

    request = context.get("request")
    user = getattr(request, "user", None)
    if obj is None or user is None or not may_open_history(user, obj):
        return ""
    return format_html('<a class="button" href="{}">{}</a>', history_url(obj._meta.label_lower, obj.pk), text)


@register.simple_tag(takes_context=True)
def can_audit(context: Any) -> bool:
    """``{% can_audit as auditor %}``: the user may open the audit trail (a team manager, or staff)."""
    from lims.history import is_auditor

    request = context.get("request")
    return is_auditor(getattr(request, "user", None))


@register.filter
def sig(value: Any, digits: int = 4) -> str:
    """``{{ value|sig:3 }}``: a number to that many significant digits, in plain notation between 10^-6 and
    10^9 (0.25 -> "0.25", 10000.4 -> "10000", 4.9e-05 -> "0.000049"), else scientific (1.2e-07)."""
    if value is None or value == "":
        return ""
    try:
        v, d = float(value), max(1, int(digits))
    except (TypeError, ValueError):
        return str(value)
    if v == 0 or not math.isfinite(v) or not 1e-6 <= abs(v) < 1e9:
        return f"{v:.{d}g}"
    decimals = max(0, d - 1 - math.floor(math.log10(abs(v))))
    text = f"{v:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@register.filter
def percent(fraction: Any, digits: int = 2) -> str:
    """``{{ 0.0025|percent }}`` -> "+0.25 %": a signed relative deviation."""
    if fraction is None or fraction == "":
        return ""
    try:
        return f"{100.0 * float(fraction):+.{int(digits)}f} %"
    except (TypeError, ValueError):
        return str(fraction)
