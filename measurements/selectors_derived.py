"""Reads of the derived part: derived-property lists, the comparison of electrolytes, CSV rows and plot figures.

Every queryset is built once with its joins (no query in a loop); figures are Plotly dicts built server-side.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import get_language

from lims.api.rows import id_urls
from lims.compiled import CompiledCount, CompiledValues
from lims.listing import CompiledRows, Sorting
from lims.permissions import (
    ScopedQuery,
    in_team_scope,
    scope_kinds,
    scope_to_teams,
    team_ids_for,
    team_scope,
)
from lims.presentation import fixed, minute_text
from lims.queries import without_bookkeeping
from measurements import storage
from measurements.analysis._common import K_B_EV_PER_K
from measurements.analysis.eis import parse_circuit
from measurements.models import DerivedProperty, Measurement, MeasurementSeries
from measurements.services import derive

ZERO_C_K = 273.15


# ------------------------------------------------------------------------------------------------ lists
def derived_properties(user: Any) -> QuerySet[DerivedProperty]:
    """The derived properties the user may see, with everything the list, CSV and API show joined in."""
    return scope_to_teams(_derived_rows(), user)


def _derived_rows() -> QuerySet[DerivedProperty]:
    qs = DerivedProperty.objects.select_related(
        "cell",
        "membrane__batch__recipe_version__recipe",
        "pellet",
        "measurement",
        "series",
    )
    return without_bookkeeping(
        qs,
        "cell",
        "membrane",
        "membrane__batch",
        "membrane__batch__recipe_version",
        "membrane__batch__recipe_version__recipe",
        "pellet",
        "measurement",
        "series",
    )


#: what a row of the derived-property page shows, as columns (``derived_page_rows`` makes its texts)
DERIVED_PAGE_COLUMNS = (
    "id",
    "name",
    "value",
    "uncertainty",
    "unit",
    "temperature",
    "series_id",
    "series__name",
    "cell__code",
    "membrane__code",
    "pellet__code",
    "measurement__technique",
    "measurement_id",
    "subject_key",
    "membrane_id",
    "membrane__batch__recipe_version__recipe__name",
    "membrane__batch__recipe_version__number",
    "membrane__filler_fraction",
    "membrane__batch__filler_fraction",
    "membrane__batch__recipe_version__filler_fraction",
    "method",
    "method_version",
    "computed_at",
)


def derived_page_rows(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The texts of the derived-property page's rows, from ``DERIVED_PAGE_COLUMNS`` (what the template printed
    from the property and its records: its label, ``|derived_value``, the subject, the electrolyte...)."""
    from measurements.templatetags.derived_values import derived_texts

    # read once for the page, not per row (each a look-up in asgiref's Local)
    zone, language = timezone.get_current_timezone(), get_language()
    detail_url, series_url = id_urls("measurements:derived-detail"), id_urls("measurements:series-detail")
    out = []
    for (
        pk,
        name,
        value,
        uncertainty,
        unit,
        temperature,
        series_id,
        series_name,
        cell_code,
        membrane_code,
        pellet_code,
        technique,
        measurement_id,
        subject_key,
        membrane_id,
        recipe_name,
        version_number,
        f_membrane,
        f_batch,
        f_version,
        method,
        method_version,
        computed_at,
    ) in rows:
        value_text, uncertainty_text = derived_texts(_ValueAndUncertainty(value, uncertainty))
        filler = filler_percent_of(f_membrane, f_batch, f_version) if membrane_id is not None else None
        out.append(
            {
                "url": detail_url(pk),
                "label": label_of(name),
                "value": value_text,
                "unit": unit,
                "uncertainty": uncertainty_text,
                "temperature": fixed(temperature, -1, language) if temperature is not None else None,
                "series_url": series_url(series_id) if series_id else None,
                "subject": subject_text(
                    series_name, cell_code, membrane_code, pellet_code, technique, measurement_id, subject_key
                ),
                "electrolyte": electrolyte_text(
                    recipe_name, version_number, filler, membrane_id, pellet_code
                ),
                "method": method,
                "method_version": method_version,
                "computed": minute_text(computed_at, zone),
            }
        )
    return out


class _ValueAndUncertainty:
    """What the ``derived_value`` filters read of a property."""

    __slots__ = ("value", "uncertainty")

    def __init__(self, value: Any, uncertainty: Any) -> None:
        self.value = value
        self.uncertainty = uncertainty


#: the page's default order (newest computed first) and its hot filter (by name), compiled once per shape
_DERIVED_ORDER = ("computed_at",)


def _derived_listing(scope: str, by_name: bool) -> tuple[CompiledCount, CompiledValues]:
    def build(*args: Any) -> QuerySet[DerivedProperty]:
        qs = in_team_scope(DerivedProperty.objects.all(), scope, args[-1] if scope else None)
        return qs.filter(name=args[0]) if by_name else qs

    kinds: list[type] = ([str] if by_name else []) + scope_kinds(scope)
    order = Sorting.ordering(DerivedProperty, _DERIVED_ORDER, True)
    return (
        CompiledCount(build, *kinds),
        CompiledValues(lambda *a: build(*a).order_by(*order).values_list(*DERIVED_PAGE_COLUMNS), *kinds),
    )


_DERIVED_LISTINGS = {
    (scope, by_name): _derived_listing(scope, by_name)
    for scope in ("one", "many", "")
    for by_name in (True, False)
}


def derived_page_listing(
    *, user: Any, name: str | None, per_page: int, page_text: str | None
) -> CompiledRows:
    """The derived-property page in its default order, unfiltered or by name, as ``derived_page_rows``: the count
    and the page's rows in one round trip, through statements compiled once (one team compared with ``=``, so
    that the ``(team, name, -computed_at, -id)`` and ``(team, -computed_at, -id)`` indexes serve the page)."""
    scope, team_args = team_scope(None if user.is_staff else team_ids_for(user))
    args: list[Any] = ([] if name is None else [name]) + team_args
    count, values = _DERIVED_LISTINGS[(scope, name is not None)]
    return CompiledRows(
        lambda: count.statement(*args),
        lambda low, high: values.statement(*args, low=low, high=high),
        derived_page_rows,
        per_page=per_page,
        page_text=page_text,
        # its nine joined tables: PostgreSQL re-planned it on every run (2-8 ms), lims/plans.py
        generic_plans=True,
    )


def derived_rows_for_api(user: Any) -> QuerySet[DerivedProperty]:
    """The API's list (DerivedPropertySerializer): the property's own columns and, of the joined records, only
    what its cell code, electrolyte label and filler content print. The measurement and series are answered as
    ids, so they are not joined (a measurement row carries its parser metadata as JSON, parsed per row)."""
    return scope_to_teams(derived_api_rows(), user)


def derived_api_rows() -> QuerySet[DerivedProperty]:
    """``derived_rows_for_api`` before the team scope (the hot read: measurements.api.derived_views)."""
    own = [f.name for f in DerivedProperty._meta.concrete_fields]
    qs = DerivedProperty.objects.select_related(
        "cell", "membrane__batch__recipe_version__recipe", "pellet"
    ).only(
        *own,
        "cell__code",
        "membrane__filler_fraction",
        "membrane__batch__filler_fraction",
        "membrane__batch__recipe_version__number",
        "membrane__batch__recipe_version__filler_fraction",
        "membrane__batch__recipe_version__recipe__name",
        "pellet__code",
    )
    return qs


def series_for(user: Any) -> QuerySet[MeasurementSeries]:
    return scope_to_teams(MeasurementSeries.objects.select_related("cell"), user).order_by("-created_at")


def series_detail(user: Any, series_id: int) -> MeasurementSeries:
    """A series with its members and its derived properties (raises DoesNotExist outside the user's teams)."""
    return (
        series_for(user)
        .prefetch_related("memberships__measurement__cell", "derived_properties")
        .get(pk=series_id)
    )


def measurements_for(user: Any) -> QuerySet[Measurement]:
    return scope_to_teams(Measurement.objects.select_related("cell"), user)


def label_of(name: str) -> str:
    return derive.PROPERTY_LABELS.get(name, name.replace("_", " "))


def provenance_url(row: DerivedProperty) -> str:
    return provenance_url_of(row.pk)


def provenance_url_of(pk: int) -> str:
    return f"/derived/{pk}/"


def subject_label(row: DerivedProperty) -> str:
    series = row.series if row.series_id is not None else None
    return subject_text(
        series.name if series is not None else None,
        row.cell.code if row.cell is not None else None,
        row.membrane.code if row.membrane is not None else None,
        row.pellet.code if row.pellet is not None else None,
        row.measurement.technique if row.measurement is not None else None,
        row.measurement_id,
        row.subject_key,
    )


def subject_text(
    series_name: str | None,
    cell_code: str | None,
    membrane_code: str | None,
    pellet_code: str | None,
    technique: str | None,
    measurement_id: int | None,
    subject_key: str,
) -> str:
    """What a property is of (``subject_label`` from the columns it reads; a missing record's column is None):
    its series, else the cell, membrane or pellet and the measurement, else its subject key."""
    if series_name is not None:
        return f"series {series_name}"
    parts = []
    if cell_code is not None:
        parts.append(cell_code)
    elif membrane_code is not None:
        parts.append(membrane_code)
    elif pellet_code is not None:
        parts.append(pellet_code)
    if technique is not None:
        parts.append(f"{technique} #{measurement_id}")
    return " · ".join(parts) or subject_key


def electrolyte_label(row: DerivedProperty) -> str:
    m, p = row.membrane, row.pellet
    if m is None:
        return electrolyte_text(None, None, None, None, p.code if p is not None else None)
    rv = m.batch.recipe_version
    return electrolyte_text(rv.recipe.name, rv.number, filler_wt_percent(row), m.pk, None)


def electrolyte_text(
    recipe_name: str | None,
    version_number: int | None,
    filler_percent: float | None,
    membrane_id: int | None,
    pellet_code: str | None,
) -> str:
    """What a property's electrolyte is called: the membrane's recipe version and filler content, else the
    pellet, else nothing (``electrolyte_label`` from the columns it reads)."""
    if membrane_id is not None:
        suffix = f" · {filler_percent:g} wt% filler" if filler_percent is not None else ""
        return f"{recipe_name} v{version_number}{suffix}"
    if pellet_code is not None:
        return f"pellet {pellet_code}"
    return ""


def filler_wt_percent(row: DerivedProperty) -> float | None:
    m = row.membrane
    if m is None:
        return None
    return filler_percent_of(
        m.filler_fraction, m.batch.filler_fraction, m.batch.recipe_version.filler_fraction
    )


def filler_percent_of(*fractions: float | None) -> float | None:
    """The filler wt% of a membrane: its own fraction, else its batch's, else its recipe version's (0-1, first
    one set), rounded to 0.01 %."""
    for fraction in fractions:
        if fraction is not None:
            return round(100.0 * float(fraction), 2)
    return None


@dataclass(frozen=True)
class LatestItem:
    label: str
    value: float
    unit: str
    subject_label: str
    computed_at_text: str
    url: str


def latest_derived_properties(user: Any, limit: int = 8) -> list[LatestItem]:
    rows = derived_properties(user).order_by("-computed_at", "-id")[:limit]
    return [
        LatestItem(
            label_of(r.name),
            r.value,
            r.unit,
            subject_label(r),
            timezone.localtime(r.computed_at).strftime("%Y-%m-%d %H:%M"),
            provenance_url(r),
        )
        for r in rows
    ]


# ------------------------------------------------------------------------------------------------ CSV
CSV_HEADER = [
    "id",
    "name",
    "value",
    "unit",
    "uncertainty",
    "method",
    "method_version",
    "temperature_C",
    "cell",
    "electrolyte",
    "filler_wt_percent",
    "measurement_id",
    "series_id",
    "subject",
    "inputs",
    "computed_at",
]


def csv_rows(qs: QuerySet[DerivedProperty]) -> Iterator[list[Any]]:
    """One list per derived property, in CSV_HEADER order (streams with iterator(); joins are in ``qs``)."""
    import json

    for r in qs.iterator(chunk_size=2000):
        yield [
            r.pk,
            r.name,
            repr(r.value),
            r.unit,
            "" if r.uncertainty is None else repr(r.uncertainty),
            r.method,
            r.method_version,
            "" if r.temperature is None else f"{r.temperature:g}",
            r.cell.code if r.cell is not None else "",
            electrolyte_label(r),
            "" if (f := filler_wt_percent(r)) is None else f"{f:g}",
            r.measurement_id or "",
            r.series_id or "",
            r.subject_key,
            json.dumps(r.inputs, sort_keys=True),
            r.computed_at.isoformat(),
        ]


# ------------------------------------------------------------------------------------------------ comparison
@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    names: tuple[str, ...]


#: the key of the conductivities as measured, at whatever temperature (one value per temperature, labelled)
MEASURED_CONDUCTIVITY = "conductivity_measured"
#: a direct measurement counts as "at 20 °C" within this many kelvin
AT_20C_TOLERANCE_K = 1.0

COMPARISON_METRICS: tuple[Metric, ...] = (
    Metric("conductivity_20C", "σ at 20 °C", "mS/cm", (derive.CONDUCTIVITY, derive.CONDUCTIVITY_20C)),
    Metric(MEASURED_CONDUCTIVITY, "σ as measured", "mS/cm", (derive.CONDUCTIVITY,)),
    Metric("activation_energy", "Ea", "eV", (derive.ACTIVATION_ENERGY,)),
    Metric("transference_number", "t+", "", (derive.TRANSFERENCE,)),
    Metric("critical_current_density", "CCD", "mA/cm^2", (derive.CCD,)),
    Metric("stability_window", "stability window", "V", (derive.WINDOW,)),
    Metric("symmetric_life", "Li|Li life", "h", (derive.SYMMETRIC_LIFETIME,)),
    Metric("retention", "full-cell retention", "%", (derive.RETENTION,)),
)
METRICS_BY_KEY = {m.key: m for m in COMPARISON_METRICS}


@dataclass
class ComparisonValue:
    """The value shown in one cell of the table: the median row of the group (n rows), linked to its provenance."""

    value: float
    unit: str
    n: int
    derived_property_id: int
    url: str
    method: str
    note: str = ""
    lower_bound: bool = False
    #: the temperature the value is at (a conductivity as measured: its group's temperature, rounded to 1 °C)
    temperature_C: float | None = None

    @property
    def text(self) -> str:
        return f"{'>' if self.lower_bound else ''}{self.value:.4g}"


@dataclass
class ComparisonRow:
    key: str
    label: str
    kind: str  # "membrane" or "pellet"
    recipe_version_id: int | None
    filler_wt_percent: float | None
    pellet_id: int | None
    #: one value per metric; for MEASURED_CONDUCTIVITY the one measured nearest to 20 °C
    values: dict[str, ComparisonValue | None] = field(default_factory=dict)
    #: the conductivities as measured, one per temperature (rounded to 1 °C), coldest first, unknown last
    measured_conductivity: list[ComparisonValue] = field(default_factory=list)

    def cells(self) -> list[tuple[Metric, list[ComparisonValue]]]:
        """What the table shows per metric: every temperature for the measured conductivity, else 0 or 1 value."""
        out: list[tuple[Metric, list[ComparisonValue]]] = []
        for m in COMPARISON_METRICS:
            if m.key == MEASURED_CONDUCTIVITY:
                out.append((m, list(self.measured_conductivity)))
            else:
                v = self.values.get(m.key)
                out.append((m, [] if v is None else [v]))
        return out


def _group_key(row: DerivedProperty) -> tuple[str, str, dict[str, Any]] | None:
    if row.membrane is not None:
        rv = row.membrane.batch.recipe_version
        filler = filler_wt_percent(row)
        key = f"recipe_version:{rv.pk}:filler:{filler}"
        return key, "membrane", {"recipe_version_id": rv.pk, "filler_wt_percent": filler, "pellet_id": None}
    if row.pellet is not None:
        return (
            f"pellet:{row.pellet_id}",
            "pellet",
            {"recipe_version_id": None, "filler_wt_percent": None, "pellet_id": row.pellet_id},
        )
    return None


def _at_20C(row: DerivedProperty) -> bool:
    return row.temperature is not None and abs(row.temperature - 20.0) <= AT_20C_TOLERANCE_K


def _metrics_of(row: DerivedProperty) -> list[str]:
    """The metrics a row counts for: a conductivity always counts "as measured" (at its temperature), and also
    "at 20 °C" when it was measured at 20 ± 1 °C."""
    if row.name == derive.CONDUCTIVITY:
        return ["conductivity_20C", MEASURED_CONDUCTIVITY] if _at_20C(row) else [MEASURED_CONDUCTIVITY]
    return [m.key for m in COMPARISON_METRICS if row.name in m.names]


def _temperature_group(row: DerivedProperty) -> float | None:
    return None if row.temperature is None else float(round(row.temperature))


def temperature_label(temperature_C: float | None) -> str:
    return "temperature not recorded" if temperature_C is None else f"at {temperature_C:g} °C"


def _median(rows: list[DerivedProperty]) -> DerivedProperty:
    """The row holding the (lower) median value, so that the value shown links to its provenance."""
    return sorted(rows, key=lambda r: r.value)[(len(rows) - 1) // 2]


def _shown(med: DerivedProperty, n: int, note: str, **extra: Any) -> ComparisonValue:
    return ComparisonValue(
        value=med.value,
        unit=med.unit,
        n=n,
        derived_property_id=med.pk,
        url=provenance_url(med),
        method=med.method,
        note=note,
        **extra,
    )


def _note_of(med: DerivedProperty) -> str:
    if med.name == derive.CONDUCTIVITY_20C:
        if med.parameters.get("extrapolated"):
            return "Arrhenius extrapolation: 20 °C is outside the measured temperatures"
        return "Arrhenius interpolation"
    if med.name == derive.CONDUCTIVITY:
        return f"measured {temperature_label(med.temperature)}"
    if med.name == derive.SYMMETRIC_LIFETIME:
        note = str(med.parameters.get("failure_mode", ""))
        j = med.parameters.get("current_density_mA_per_cm2")
        if j:
            note += f" at {j:.2g} mA/cm²"
        return note
    if med.name == derive.RETENTION and med.parameters.get("cycle"):
        return f"after {med.parameters['cycle']} cycles"
    return ""


def comparison_table(user: Any) -> list[ComparisonRow]:
    """Electrolytes side by side (one query): a row per recipe version and filler wt% (membranes) or per pellet.

    In each cell the median of the group's values, as the actual row holding it (so it links to its provenance),
    with the number of rows n. Conductivity at 20 °C is a direct measurement at 20 ± 1 °C when there is one, else
    the Arrhenius interpolation (the method is shown, and an extrapolation says so). The conductivity as measured
    is given per temperature (rounded to 1 °C), so an electrolyte measured only at 25 °C is compared at 25 °C,
    labelled, and never passed off as 20 °C. A symmetric-cell life without a short is a lower bound.
    """
    names = sorted({n for m in COMPARISON_METRICS for n in m.names})
    qs = derived_properties(user).filter(name__in=names).order_by("id")
    groups: dict[str, ComparisonRow] = {}
    candidates: dict[tuple[str, str], dict[str, list[DerivedProperty]]] = {}
    measured: dict[str, dict[float | None, list[DerivedProperty]]] = {}
    for row in qs:
        metrics = _metrics_of(row)
        gk = _group_key(row)
        if not metrics or gk is None:
            continue
        key, kind, extra = gk
        if key not in groups:
            groups[key] = ComparisonRow(key=key, label=electrolyte_label(row), kind=kind, **extra)
        for metric in metrics:
            if metric == MEASURED_CONDUCTIVITY:
                measured.setdefault(key, {}).setdefault(_temperature_group(row), []).append(row)
            else:
                candidates.setdefault((key, metric), {}).setdefault(row.name, []).append(row)
    for (key, metric_key), by_name in candidates.items():
        spec = METRICS_BY_KEY[metric_key]
        chosen = next((by_name[n] for n in spec.names if by_name.get(n)), [])
        if not chosen:
            continue
        med = _median(chosen)
        groups[key].values[metric_key] = _shown(
            med,
            len(chosen),
            _note_of(med),
            lower_bound=bool(med.name == derive.SYMMETRIC_LIFETIME and med.parameters.get("censored")),
            temperature_C=med.temperature,
        )
    for key, by_temperature in measured.items():
        per_t = [
            _shown(_median(rows), len(rows), temperature_label(t), temperature_C=t)
            for t, rows in sorted(by_temperature.items(), key=lambda kv: (kv[0] is None, kv[0] or 0.0))
        ]
        groups[key].measured_conductivity = per_t
        groups[key].values[MEASURED_CONDUCTIVITY] = min(
            per_t,
            key=lambda v: (v.temperature_C is None, abs((v.temperature_C or 0.0) - 20.0)),
        )
    return sorted(groups.values(), key=lambda g: g.label)


@dataclass(frozen=True)
class ComparisonNotes:
    """What the comparison page says about what it shows, or why it shows nothing."""

    empty_reason: str = ""
    needs: list[str] = field(default_factory=list)


WHAT_THE_TABLE_NEEDS = (
    "EIS of a blocking cell built with a membrane or pellet gives σ as measured, at the temperature of the "
    "measurement; σ at 20 °C needs such a measurement at 20 ± 1 °C, or an Arrhenius series (EIS of one cell at "
    "two or more temperatures), which also gives Ea. The other columns come from their own measurements: "
    "t+ from an EIS–CA–EIS series, the stability window from LSV, CCD, Li|Li life and retention from cycling"
)


def comparison_notes(user: Any, rows: list[ComparisonRow]) -> ComparisonNotes:
    """Why the table is empty (one count query, only then), or what is missing for a fair comparison."""
    if not rows:
        names = sorted({n for m in COMPARISON_METRICS for n in m.names})
        compared = Q(name__in=names)
        counts = derived_properties(user).aggregate(
            total=Count("id"),
            compared=Count("id", filter=compared),
            of_electrolyte=Count(
                "id", filter=compared & (Q(membrane__isnull=False) | Q(pellet__isnull=False))
            ),
        )
        if not counts["total"]:
            reason = "Nothing to compare yet: no measurement you can see has been analysed."
        elif not counts["compared"]:
            reason = (
                f"Nothing to compare yet: none of the {counts['total']} derived properties you can see is one "
                "the table compares (σ, Ea, t+, CCD, stability window, Li|Li life, full-cell retention)."
            )
        else:
            reason = (
                f"Nothing to compare yet: the {counts['compared']} derived properties the table would compare "
                "are of cells built without a membrane or pellet, so there is no electrolyte to group them by."
            )
        return ComparisonNotes(empty_reason=reason, needs=[WHAT_THE_TABLE_NEEDS + "."])
    needs = []
    if len(rows) == 1:
        needs.append(
            "Only one electrolyte so far: a second recipe version, filler content or pellet gives something to "
            "compare it with."
        )
    without_20 = [
        r.label for r in rows if r.values.get("conductivity_20C") is None and r.measured_conductivity
    ]
    if without_20:
        needs.append(
            f"No σ at 20 °C for {', '.join(without_20)}: it needs an EIS at 20 ± 1 °C or an Arrhenius series "
            "(EIS of one cell at two or more temperatures). Until then compare σ as measured, at the "
            "temperature shown."
        )
    temperatures = {
        v.temperature_C for r in rows for v in r.measured_conductivity if v.temperature_C is not None
    }
    if len(rows) > 1 and len(temperatures) > 1:
        needs.append(
            "σ as measured is compared at the same temperature only: the chart has one bar colour per temperature."
        )
    return ComparisonNotes(needs=needs)


def comparison_figure(rows: list[ComparisonRow], metric_key: str) -> dict[str, Any]:
    metric = METRICS_BY_KEY[metric_key]
    unit = f" / {metric.unit}" if metric.unit else ""
    hover = "%{x}<br>%{y:.4g}" + (" " + metric.unit if metric.unit else "") + "<br>%{text}"
    layout = {
        "title": {"text": metric.label},
        "xaxis": {"title": {"text": "electrolyte"}, "automargin": True},
        "yaxis": {"title": {"text": f"{metric.label}{unit}"}},
        "showlegend": False,
    }
    if metric_key == MEASURED_CONDUCTIVITY:
        # one trace per temperature: bars side by side are at the same temperature, the legend says which
        by_t: dict[float | None, list[tuple[str, ComparisonValue]]] = {}
        for r in rows:
            for v in r.measured_conductivity:
                by_t.setdefault(v.temperature_C, []).append((r.label, v))
        traces = [
            {
                "type": "bar",
                "name": temperature_label(t).removeprefix("at "),
                "x": [label for label, _ in at_t],
                "y": [v.value for _, v in at_t],
                "text": [f"n = {v.n}, {v.note}" for _, v in at_t],
                "hovertemplate": hover,
            }
            for t, at_t in sorted(by_t.items(), key=lambda kv: (kv[0] is None, kv[0] or 0.0))
        ]
        layout.update(
            {"title": {"text": f"{metric.label}, by temperature"}, "barmode": "group", "showlegend": True}
        )
        return {"data": traces, "layout": layout}
    shown = [(r.label, value) for r in rows if (value := r.values.get(metric_key)) is not None]
    return {
        "data": [
            {
                "type": "bar",
                "name": metric.label,
                "x": [label for label, _ in shown],
                "y": [v.value for _, v in shown],
                "text": [
                    f"n = {v.n}{' (lower bound)' if v.lower_bound else ''}{', ' + v.note if v.note else ''}"
                    for _, v in shown
                ],
                "hovertemplate": hover,
            }
        ],
        "layout": layout,
    }


def comparison_csv_rows(rows: list[ComparisonRow]) -> Iterable[list[Any]]:
    yield [
        "electrolyte",
        *[f"{m.key} ({m.unit})" if m.unit else m.key for m in COMPARISON_METRICS],
        *[f"{m.key}_n" for m in COMPARISON_METRICS],
        *[f"{m.key}_derived_property_id" for m in COMPARISON_METRICS],
        *[f"{m.key}_note" for m in COMPARISON_METRICS],
    ]
    for r in rows:
        cells = [r.values.get(m.key) for m in COMPARISON_METRICS]
        yield [
            r.label,
            *[("" if c is None else c.text) for c in cells],
            *[("" if c is None else c.n) for c in cells],
            *[("" if c is None else c.derived_property_id) for c in cells],
            *[("" if c is None else c.note) for c in cells],
        ]


# ------------------------------------------------------------------------------------------------ figures
def _finite_list(a: Iterable[float]) -> list[float | None]:
    return [float(x) if math.isfinite(float(x)) else None for x in a]


def arrhenius_points(series: MeasurementSeries) -> tuple[DerivedProperty | None, list[dict[str, Any]]]:
    """The series' activation-energy row (sigma form) and the points it was fitted to (from its inputs)."""
    ea = next((r for r in series.derived_properties.all() if r.name == derive.ACTIVATION_ENERGY), None)
    if ea is None:
        return None, []
    return ea, list(ea.inputs.get("points", []))


def arrhenius_figure(series: MeasurementSeries) -> dict[str, Any]:
    """ln-scale sigma vs 1000/T with the fitted line; Ea (± standard error) and R^2 in the legend."""
    ea, points = arrhenius_points(series)
    if ea is None or not points:
        return {"data": [], "layout": {"title": {"text": "No Arrhenius fit yet"}}}
    t_k = np.array([p["temperature_C"] + ZERO_C_K for p in points])
    sigma = np.array([p["sigma_mS_per_cm"] for p in points])
    grid = np.linspace(t_k.min(), t_k.max(), 50)
    prefactor_mS_cm = float(ea.parameters.get("prefactor", 0.0)) * 10.0  # S/m -> mS/cm
    fit = prefactor_mS_cm * np.exp(-ea.value / (K_B_EV_PER_K * grid))
    err = f" ± {ea.uncertainty:.3f}" if ea.uncertainty is not None else ""
    r2 = ea.parameters.get("r_squared")
    legend = f"fit: Ea = {ea.value:.3f}{err} eV" + (f", R² = {r2:.4f}" if r2 is not None else "")
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "name": "measured",
                "x": _finite_list(1000.0 / t_k),
                "y": _finite_list(sigma),
                "text": [f"{p['temperature_C']:.1f} °C" for p in points],
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": legend,
                "x": _finite_list(1000.0 / grid),
                "y": _finite_list(fit),
            },
        ],
        "layout": {
            "title": {"text": f"Arrhenius plot: {series.name}"},
            "xaxis": {"title": {"text": "1000 / T / K⁻¹"}},
            "yaxis": {"title": {"text": "σ / mS cm⁻¹"}, "type": "log"},
            "legend": {"orientation": "h", "y": -0.2},
        },
    }


def arrhenius_csv_rows(series: MeasurementSeries) -> Iterable[list[Any]]:
    _, points = arrhenius_points(series)
    yield [
        "measurement_id",
        "temperature_C",
        "inverse_temperature_1000_per_K",
        "sigma_mS_per_cm",
        "thickness_source",
    ]
    for p in points:
        t_k = p["temperature_C"] + ZERO_C_K
        yield [
            p["measurement_id"],
            p["temperature_C"],
            1000.0 / t_k,
            p["sigma_mS_per_cm"],
            p.get("thickness_source", ""),
        ]


def eis_fit_row(measurement: Measurement) -> DerivedProperty | None:
    """The row that holds the measurement's equivalent-circuit fit (bulk or interfacial resistance)."""
    rows = {
        r.name: r
        for r in measurement.derived_properties.filter(
            name__in=[derive.BULK_RESISTANCE, derive.INTERFACIAL_RESISTANCE]
        )
    }
    return rows.get(derive.BULK_RESISTANCE) or rows.get(derive.INTERFACIAL_RESISTANCE)


def nyquist_data(measurement: Measurement) -> tuple[np.ndarray, np.ndarray]:
    cols = storage.read_columns(measurement.data_file, ["freq_Hz", "z_re_ohm", "z_im_ohm"])
    f = np.asarray(cols["freq_Hz"], dtype=float)
    z = np.asarray(cols["z_re_ohm"], dtype=float) + 1j * np.asarray(cols["z_im_ohm"], dtype=float)
    return f, z


def nyquist_fit_figure(measurement: Measurement) -> dict[str, Any]:
    """Nyquist plot (Z' vs -Z'') of the measured spectrum with the fitted circuit drawn over it."""
    f, z = nyquist_data(measurement)
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": "measured",
            "x": _finite_list(z.real),
            "y": _finite_list(-z.imag),
            "text": [f"{x:.4g} Hz" for x in f],
        }
    ]
    row = eis_fit_row(measurement)
    if row is not None and row.parameters.get("circuit") and row.parameters.get("fitted"):
        circuit = parse_circuit(row.parameters["circuit"])
        grid = np.logspace(np.log10(f.max()), np.log10(f.min()), 200)
        zf = circuit(row.parameters["fitted"], grid)
        fitted = ", ".join(f"{k} = {v:.4g}" for k, v in row.parameters["fitted"].items())
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"fit {row.parameters['circuit']} ({fitted})",
                "x": _finite_list(zf.real),
                "y": _finite_list(-zf.imag),
            }
        )
    return {
        "data": data,
        "layout": {
            "title": {"text": f"Nyquist plot: measurement {measurement.pk}"},
            "xaxis": {"title": {"text": "Z′ / Ω"}},
            "yaxis": {"title": {"text": "−Z″ / Ω"}, "scaleanchor": "x", "scaleratio": 1},
            "legend": {"orientation": "h", "y": -0.2},
        },
    }


def nyquist_csv_rows(measurement: Measurement) -> Iterable[list[Any]]:
    f, z = nyquist_data(measurement)
    row = eis_fit_row(measurement)
    zf = None
    if row is not None and row.parameters.get("circuit") and row.parameters.get("fitted"):
        zf = parse_circuit(row.parameters["circuit"])(row.parameters["fitted"], f)
    yield ["freq_Hz", "z_re_ohm", "z_im_ohm", "fit_z_re_ohm", "fit_z_im_ohm"]
    for k in range(f.size):
        yield [
            f[k],
            z[k].real,
            z[k].imag,
            "" if zf is None else zf[k].real,
            "" if zf is None else zf[k].imag,
        ]


# ------------------------------------------------------------------------------------------------ per cell
#: the numbers a researcher looks for first, in the order shown (cell page, dashboard "cells on test")
HEADLINE_NAMES: tuple[str, ...] = (
    derive.CONDUCTIVITY,
    derive.CONDUCTIVITY_20C,
    derive.ACTIVATION_ENERGY,
    derive.TRANSFERENCE,
    derive.WINDOW,
    derive.CCD,
    derive.OVERPOTENTIAL,
    derive.SYMMETRIC_LIFETIME,
    derive.INTERFACIAL_RESISTANCE,
    derive.DISCHARGE_REFERENCE,
    derive.DISCHARGE_LAST,
    derive.RETENTION,
    derive.CE_MEAN_EX_FIRST,
    derive.RATE_RECOVERY,
)
#: the one number per cell the dashboard shows for a cell on test, by preference
ON_TEST_NAMES: tuple[str, ...] = (
    derive.OVERPOTENTIAL,
    derive.DISCHARGE_LAST,
    derive.CONDUCTIVITY,
    derive.CCD,
    derive.WINDOW,
)


def cell_headline(user: Any, cell_id: int) -> list[DerivedProperty]:
    """The cell's headline derived properties (its own and its series'), ordered by HEADLINE_NAMES, then by
    temperature and measurement (one query)."""
    return headline_order(_HEADLINE.all(user, cell_id))


def headline_statement(user: Any, cell_id: int) -> Any:
    """The read of ``cell_headline`` (to run with the cell page's other reads); its rows go to
    ``headline_order``. None when it would read nothing."""
    return _HEADLINE.statement(user, cell_id)


def headline_order(rows: list[DerivedProperty]) -> list[DerivedProperty]:
    rank = {name: k for k, name in enumerate(HEADLINE_NAMES)}
    return sorted(rows, key=lambda r: rank[r.name])


def headline_texts(rows: Iterable[DerivedProperty]) -> list[dict[str, Any]]:
    """The texts of the cell page's results table, one dict per property (the page's template prints them): what
    the template wrote from each property: its label, ``value|sig:4``, ``uncertainty|sig:2``, ``temperature|
    floatformat:"-1"``, and the page it was computed from (its series, else its measurement)."""
    from lims.templatetags.lims_ui import sig

    language = get_language()  # read once for the table, as are the routes' prefixes
    detail_url, series_url = id_urls("measurements:derived-detail"), id_urls("measurements:series-detail")
    measurement_url = id_urls("measurements:measurement-detail")
    return [
        {
            "name": r.name,
            "url": detail_url(r.pk),
            "label": label_of(r.name),
            "value": sig(r.value, 4),
            "uncertainty": None if r.uncertainty is None else sig(r.uncertainty, 2),
            "unit": r.unit,
            "temperature": None if r.temperature is None else fixed(r.temperature, -1, language),
            "series_url": series_url(r.series_id) if r.series_id else None,
            "measurement_url": measurement_url(r.measurement_id) if r.measurement_id else None,
            "measurement_id": r.measurement_id,
        }
        for r in rows
    ]


def headline_rows() -> QuerySet[DerivedProperty]:
    """What the cell page shows of a headline property: its name, value, uncertainty, unit, temperature and what it
    was computed from (not the nine joined records of ``derived_properties``)."""
    return DerivedProperty.objects.only(
        "id",
        "team_id",
        "cell_id",
        "name",
        "value",
        "uncertainty",
        "unit",
        "temperature",
        "series_id",
        "measurement_id",
    )


_HEADLINE: ScopedQuery[DerivedProperty] = ScopedQuery(
    headline_rows,
    lambda qs, cell_id: qs.filter(cell_id=cell_id, name__in=HEADLINE_NAMES).order_by(
        "temperature", "measurement_id", "id"
    ),
    int,
)


def latest_on_test_value(user: Any, cell_ids: Iterable[int]) -> dict[int, str]:
    """cell id -> "overpotential 412 mV" (or the latest capacity, conductivity...), in one query."""
    ids = list(cell_ids)
    if not ids:
        return {}
    rank = {name: k for k, name in enumerate(ON_TEST_NAMES)}
    best: dict[int, DerivedProperty] = {}
    rows = (
        scope_to_teams(DerivedProperty.objects.all(), user)
        .filter(cell_id__in=ids, name__in=ON_TEST_NAMES)
        .only("id", "cell_id", "name", "value", "unit", "computed_at")
        .order_by("-computed_at", "-id")
    )
    for r in rows:
        assert r.cell_id is not None
        held = best.get(r.cell_id)
        if held is None or rank[r.name] < rank[held.name]:
            best[r.cell_id] = r
    return {cid: f"{label_of(r.name)} {r.value:.4g} {r.unit}".strip() for cid, r in best.items()}


def derived_search_q(text: str) -> Q:
    """A search of the derived-property list: the property's name or label, the cell or sample, the method."""
    lowered = text.lower()
    names = [name for name, label in derive.PROPERTY_LABELS.items() if lowered in label.lower()]
    return (
        Q(name__icontains=text.replace(" ", "_"))
        | Q(name__in=names)
        | Q(cell__code__icontains=text)
        | Q(membrane__code__icontains=text)
        | Q(pellet__code__icontains=text)
        | Q(method__icontains=text)
    )
