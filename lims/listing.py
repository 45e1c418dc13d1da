"""What every list page shares: sortable columns (``?sort=code`` / ``?sort=-code``) and the query string of the
filters, so that sorting, filtering and paging combine.

A view declares its sortable columns as ``key -> ordering field(s)`` and the default; ``Sorting.apply`` orders the
queryset (always ending in the primary key, so pages are stable), and the template draws each header with
``{% sort_th sorting "key" "Label" %}`` (lims/templatetags/lims_ui.py) or loops over ``sorting.headers(...)``.
Sorting adds no query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import F, QuerySet
from django.http import HttpRequest, QueryDict

from lims.compiled import Statement, run_together


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
        self.default = default
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

    @property
    def is_default(self) -> bool:
        """The page is in its default order (none asked for, or the default asked for)."""
        return f"{'-' if self.descending else ''}{self.key}" == self.default

    def apply(self, qs: QuerySet[Any]) -> QuerySet[Any]:
        return qs.order_by(*self.ordering(qs.model, self.columns[self.key], self.descending))

    @staticmethod
    def ordering(model: Any, fields: Sequence[str], descending: bool) -> list[Any]:
        """The ``order_by`` of a sort by ``fields`` (a column's fields; ``-`` reverses one), ending in the key."""
        order: list[Any] = []
        for name in fields:
            desc = descending != name.startswith("-")
            path = name.lstrip("-")
            expr = F(path)
            if _nullable(model, path):
                order.append(expr.desc(nulls_last=True) if desc else expr.asc(nulls_last=True))
            else:
                # NOT NULL: a plain ORDER BY, which the (team, column) indexes serve; "NULLS LAST" on a
                # descending sort would not match them and sort the team's whole table for every page
                order.append(expr.desc() if desc else expr.asc())
        return [*order, "-pk" if descending else "pk"]

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


class PresentedRows:
    """A list page's records as Django's ``Paginator`` reads them (``count()`` and slices), each slice read as
    rows (``values_list``) and turned into the texts the page prints by ``present`` (no model instances).

    ``rows`` is the filtered, sorted ``values_list`` queryset."""

    ordered = True

    def __init__(self, rows: QuerySet[Any], present: Callable[[list[tuple[Any, ...]]], list[Any]]) -> None:
        self.rows = rows
        self.present = present

    def count(self) -> int:
        return self.rows.count()

    def __getitem__(self, bounds: slice) -> list[Any]:
        return self.present(list(self.rows[bounds]))


class CompiledRows:
    """As ``PresentedRows``, over compiled statements (``lims.compiled``): ``count()`` reads the count and the
    rows of the page ``page_text`` names (``?page=``, as ``Paginator.get_page`` reads it) in one round trip
    (``run_together``); the paginator's slice of that page is then served from them. ``count`` is the count's
    statement; ``rows(low, high)`` the statement of a slice; ``also`` other reads of the page to send in the same
    round trip, and what takes their results (a filter form's choice lists: ``PageFilterSet.choice_statements``);
    ``generic_plans`` runs them on generic plans (``lims.plans.run_on_generic_plans``)."""

    ordered = True

    def __init__(
        self,
        count: Callable[[], Statement],
        rows: Callable[[int, int | None], Statement],
        present: Callable[[list[tuple[Any, ...]]], list[Any]],
        *,
        per_page: int,
        page_text: str | None,
        also: tuple[list[Statement], Callable[[list[Any]], None]] | None = None,
        generic_plans: bool = False,
    ) -> None:
        self._also = also
        self._run = run_together
        if generic_plans:
            from lims.plans import run_on_generic_plans

            self._run = run_on_generic_plans
        self._count_statement = count
        self._rows_statement = rows
        self.present = present
        number = page_text or "1"
        page = int(number) if number.isascii() and number.isdigit() and 0 < int(number) < 10**9 else 1
        self._hint = ((page - 1) * per_page, page * per_page)
        self._count: int | None = None
        self._read: list[tuple[Any, ...]] | None = None

    def count(self) -> int:
        if self._count is None:
            low, high = self._hint
            extra, keep = self._also or ([], None)
            self._count, self._read, *more = self._run(
                [self._count_statement(), self._rows_statement(low, high), *extra]
            )
            if keep is not None:
                keep(more)
        return self._count

    def __getitem__(self, bounds: slice) -> list[Any]:
        low, high = bounds.start or 0, bounds.stop
        if self._read is not None and low == self._hint[0] and high is not None and high <= self._hint[1]:
            return self.present(self._read[: high - low])  # the last page is clipped to the count
        return self.present(self._run([self._rows_statement(low, high)])[0])
