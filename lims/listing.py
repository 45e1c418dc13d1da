"""What every list page shares: sortable columns (``?sort=code`` / ``?sort=-code``) and the query string of the
filters, so that sorting, filtering and paging combine.

A view declares its sortable columns as ``key -> ordering field(s)`` and the default; ``Sorting.apply`` orders the
queryset (always ending in the primary key, so pages are stable), and the template draws each header with
``{% sort_th sorting "key" "Label" %}`` (lims/templatetags/lims_ui.py) or loops over ``sorting.headers(...)``.
Sorting adds no query.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import F, QuerySet
from django.http import HttpRequest, QueryDict


@dataclass(frozen=True)
class HeaderCell:
    label: str
    url: str = ""  # empty: not sortable
    aria_sort: str = ""  # ascending / descending / none (sortable); empty when not sortable
    arrow: str = ""
    css: str = ""


def _nullable(model: Any, path: str) -> bool:
    """Whether ``path`` ("code", "lot__code") can be NULL: a nullable field or any nullable hop on the way."""
    try:
        for part in path.split("__"):
            f = model._meta.get_field(part)
            if getattr(f, "null", False):
                return True
            model = f.related_model
            if model is None:
                break
    except Exception:  # an annotation or an unknown path: keep NULLS LAST, the safe order
        return True
    return False


class Sorting:
    """The sort order a list page was asked for, limited to the columns it declares."""

    def __init__(
        self,
        request: HttpRequest,
        columns: Mapping[str, str | Sequence[str]],
        default: str,
        *,
        param: str = "sort",
    ) -> None:
        self.columns = {k: ((v,) if isinstance(v, str) else tuple(v)) for k, v in columns.items()}
        self.param = param
        raw = str(request.GET.get(param, "") or default)
        key = raw.lstrip("-")
        if key not in self.columns:
            raw, key = default, default.lstrip("-")
        self.key = key
        self.descending = raw.startswith("-")
        params: QueryDict = request.GET.copy()
        params.pop("page", None)
        self.query = params.urlencode()  # filters + sort, for the pager
        params.pop(param, None)
        self._base = params.urlencode()

    def apply(self, qs: QuerySet[Any]) -> QuerySet[Any]:
        order = []
        for name in self.columns[self.key]:
            desc = self.descending != name.startswith("-")
            path = name.lstrip("-")
            expr = F(path)
            if _nullable(qs.model, path):
                order.append(expr.desc(nulls_last=True) if desc else expr.asc(nulls_last=True))
            else:
                # NOT NULL: a plain ORDER BY, which the (team, column) indexes serve; "NULLS LAST" on a
                # descending sort would not match them and sort the team's whole table for every page
                order.append(expr.desc() if desc else expr.asc())
        return qs.order_by(*order, "-pk" if self.descending else "pk")

    def url_for(self, key: str) -> str:
        value = f"-{key}" if key == self.key and not self.descending else key
        sep = "&" if self._base else ""
        return f"?{self._base}{sep}{self.param}={value}"

    def header(self, key: str | None, label: str, css: str = "") -> HeaderCell:
        if key is None or key not in self.columns:
            return HeaderCell(label=label, css=css)
        if key == self.key:
            state, arrow = ("descending", "▼") if self.descending else ("ascending", "▲")
        else:
            state, arrow = "none", ""
        return HeaderCell(label=label, url=self.url_for(key), aria_sort=state, arrow=arrow, css=css)

    def headers(
        self, spec: Iterable[tuple[str | None, str] | tuple[str | None, str, str]]
    ) -> list[HeaderCell]:
        return [self.header(*item) for item in spec]
