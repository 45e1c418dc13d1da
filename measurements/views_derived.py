"""Pages of the derived part: derived-property list and provenance, comparison of electrolytes, series, figures."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from lims.listing import PresentedRows, Sorting
from lims.models import Role
from lims.permissions import has_role
from lims.plans import generic_plans_for
from measurements import selectors_derived as sel
from measurements import tasks_derived
from measurements.api.derived_views import csv_response
from measurements.filters_derived import DerivedPropertyFilter
from measurements.models import MeasurementSeries, SeriesKind, Technique
from measurements.views_common import ActiveFilter, active_filters

_DERIVED_SORTS = {
    "property": "name",
    "value": "value",
    "unit": "unit",
    "temperature": "temperature",
    "of": ("cell__code", "membrane__code", "pellet__code"),
    "method": "method_version",
    "computed": "computed_at",
}


@login_required
@require_GET
def derived_list(request: HttpRequest) -> HttpResponse:
    filterset = DerivedPropertyFilter(request.GET, queryset=sel.derived_properties(request.user))
    sorting = Sorting(request, _DERIVED_SORTS, "-computed")
    name = _hot_name(request)
    if not isinstance(name, bool) and sorting.is_default:
        # as most people open it, all of it or one property: statements compiled once, count and rows together
        listing: Any = sel.derived_page_listing(
            user=request.user, name=name or None, per_page=50, page_text=request.GET.get("page")
        )
        return _derived_page(request, filterset, sorting, listing, "")
    return _derived_list_filtered(request, filterset, sorting)


def _hot_name(request: HttpRequest) -> str | None | bool:
    """The name the page is asked for (None: no name) when that is its only filter, else False."""
    params = request.GET
    if any(key not in ("name", "page", "sort") for key in params) or any(
        len(params.getlist(k)) != 1 for k in params
    ):
        return False
    name = params.get("name")
    if name is None:
        return None
    if not name or name != name.strip() or "\x00" in name:
        return False  # blank or padded: the form's own reading (DRF's path)
    return name


@generic_plans_for("name")  # (team, name, -computed_at, -id) serves any name in the default order
def _derived_list_filtered(request: HttpRequest, filterset: Any, sorting: Sorting) -> HttpResponse:
    qs = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    text = request.GET.get("q", "").strip()
    if text:
        qs = qs.filter(sel.derived_search_q(text))
    listing = PresentedRows(sorting.apply(qs).values_list(*sel.DERIVED_PAGE_COLUMNS), sel.derived_page_rows)
    return _derived_page(request, filterset, sorting, listing, text)


def _derived_page(
    request: HttpRequest, filterset: Any, sorting: Sorting, listing: Any, text: str
) -> HttpResponse:
    page = Paginator(listing, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "measurements/derived/list.html",
        {
            "filter": filterset,
            "page": page,
            "rows": page.object_list,
            "query": sorting.query,
            "sorting": sorting,
            "q": text,
            "filters_set": active_filters(request, filterset.form, [("q", "Search")]),
        },
        using="jinja2",
    )


@login_required
@require_GET
def derived_export(request: HttpRequest) -> HttpResponseBase:
    filterset = DerivedPropertyFilter(request.GET, queryset=sel.derived_properties(request.user))
    if not filterset.is_valid():
        return HttpResponse("; ".join(f"{k}: {' '.join(v)}" for k, v in filterset.errors.items()), status=400)
    rows = sel.csv_rows(filterset.qs.order_by("id"))
    return csv_response(_header_then(rows), "derived-properties.csv")


def _header_then(rows: Iterable[list[Any]]) -> Iterator[list[Any]]:
    yield sel.CSV_HEADER
    yield from rows


@login_required
@require_GET
def derived_detail(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_object_or_404(sel.derived_properties(request.user), pk=pk)
    return render(
        request,
        "measurements/derived/detail.html",
        {
            "row": row,
            "label": sel.label_of(row.name),
            "subject": sel.subject_label(row),
            "electrolyte": sel.electrolyte_label(row),
            "filler": sel.filler_wt_percent(row),
            "measurement_ids": row.inputs.get("measurement_ids", []),
            "has_nyquist": bool(
                row.measurement is not None
                and row.measurement.technique in (Technique.PEIS, Technique.GEIS)
                and row.measurement.data_file
            ),
            "parameters_json": json.dumps(row.parameters, indent=2, sort_keys=True),
            "inputs_json": json.dumps(row.inputs, indent=2, sort_keys=True),
        },
    )


@login_required
@require_GET
def comparison_page(request: HttpRequest) -> HttpResponse:
    rows = sel.comparison_table(request.user)
    shown = [m for m in sel.COMPARISON_METRICS if any(r.values.get(m.key) for r in rows)]
    return render(
        request,
        "measurements/derived/comparison.html",
        {
            "rows": rows,
            "metrics": sel.COMPARISON_METRICS,
            "plotted": shown,
            "notes": sel.comparison_notes(request.user, rows),
        },
    )


@login_required
@require_GET
def comparison_figure(request: HttpRequest) -> JsonResponse:
    metric = request.GET.get("metric", "conductivity_20C")
    if metric not in sel.METRICS_BY_KEY:
        raise Http404("unknown metric")
    return JsonResponse(sel.comparison_figure(sel.comparison_table(request.user), metric))


@login_required
@require_GET
def comparison_export(request: HttpRequest) -> HttpResponseBase:
    return csv_response(sel.comparison_csv_rows(sel.comparison_table(request.user)), "comparison.csv")


@login_required
@require_GET
def series_list(request: HttpRequest) -> HttpResponse:
    qs = sel.series_for(request.user)
    text = request.GET.get("q", "").strip()
    if text:
        qs = qs.filter(Q(name__icontains=text) | Q(cell__code__icontains=text))
    kind = request.GET.get("kind", "")
    if kind in SeriesKind.values:
        qs = qs.filter(kind=kind)
    sorting = Sorting(
        request, {"name": "name", "kind": "kind", "cell": "cell__code", "created": "created_at"}, "-created"
    )
    page = Paginator(sorting.apply(qs), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "measurements/derived/series_list.html",
        {
            "page": page,
            "sorting": sorting,
            "query": sorting.query,
            "q": text,
            "kind": kind,
            "kinds": SeriesKind.choices,
            "filters_set": active_filters(request, extra=[("q", "Search")])
            + ([ActiveFilter("Kind", SeriesKind(kind).label)] if kind in SeriesKind.values else []),
        },
    )


def _series(request: HttpRequest, pk: int) -> MeasurementSeries:
    try:
        return sel.series_detail(request.user, pk)
    except MeasurementSeries.DoesNotExist:
        raise Http404("No such series") from None


@login_required
@require_GET
def series_detail(request: HttpRequest, pk: int) -> HttpResponse:
    series = _series(request, pk)
    return render(
        request,
        "measurements/derived/series_detail.html",
        {
            "series": series,
            "members": list(series.memberships.all()),
            "properties": [(r, sel.label_of(r.name)) for r in series.derived_properties.all()],
            "can_compute": has_role(request.user, series.team_id, Role.RESEARCHER),
        },
    )


@login_required
@require_POST
def series_compute(request: HttpRequest, pk: int) -> HttpResponse:
    series = _series(request, pk)
    if not has_role(request.user, series.team_id, Role.RESEARCHER):
        return HttpResponse("You need the researcher role in this team.", status=403)
    tasks_derived.enqueue_analyse_series(series.pk, request.user.pk)
    messages.success(request, "The series is being computed; reload in a moment.")
    return redirect("measurements:series-detail", pk=series.pk)


@login_required
@require_GET
def series_arrhenius_figure(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse(sel.arrhenius_figure(_series(request, pk)))


@login_required
@require_GET
def series_arrhenius_csv(request: HttpRequest, pk: int) -> HttpResponseBase:
    return csv_response(sel.arrhenius_csv_rows(_series(request, pk)), f"arrhenius-series-{pk}.csv")


def _eis_measurement(request: HttpRequest, pk: int):  # type: ignore[no-untyped-def]
    m = get_object_or_404(sel.measurements_for(request.user), pk=pk)
    if m.technique not in (Technique.PEIS, Technique.GEIS) or not m.data_file:
        raise Http404("not an impedance measurement with parsed data")
    return m


@login_required
@require_GET
def nyquist_fit_figure(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse(sel.nyquist_fit_figure(_eis_measurement(request, pk)))


@login_required
@require_GET
def nyquist_fit_csv(request: HttpRequest, pk: int) -> HttpResponseBase:
    return csv_response(sel.nyquist_csv_rows(_eis_measurement(request, pk)), f"nyquist-fit-{pk}.csv")
