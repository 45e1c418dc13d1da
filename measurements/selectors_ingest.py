"""Reads of the ingest part: which uploads and measurements a user (or an instrument) sees, the samples an
upload may name, downsampled data for plots and the Plotly figures of the measurement page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db.models import Q, QuerySet

from cells.models import Cell
from formulations.models import Membrane, Pellet
from lims.permissions import ScopedQuery, scope_to_teams
from lims.queries import without_bookkeeping
from measurements import storage
from measurements.models import CycleSummary, Instrument, Measurement, Stage, Upload

IN_PROGRESS = (Stage.RECEIVED, Stage.PARSING, Stage.ANALYSING)


# ------------------------------------------------------------------------------------------------ who sees what
def instrument_of(user: Any) -> Instrument | None:
    """The instrument whose service account ``user`` is (None for a person)."""
    if not getattr(user, "is_instrument", False):
        return None
    return Instrument.objects.select_related("team").filter(service_user=user).first()


def uploads_for(user: Any, *, instrument_token: bool = False) -> QuerySet[Upload]:
    """Uploads a person may see (their teams'), or, for an instrument token, only the instrument's own."""
    qs = Upload.objects.select_related(
        "cell", "membrane", "pellet", "instrument", "uploaded_by", "measurement"
    )
    qs = without_bookkeeping(qs, "cell", "membrane", "pellet", "instrument", "uploaded_by", "measurement")
    return _visible_uploads(qs, user, instrument_token=instrument_token)


def upload_status_for(user: Any, *, instrument_token: bool = False) -> QuerySet[Upload]:
    """What the upload API answers (UploadStatusSerializer): the upload, its cell's code and its measurement's id.

    Instruments poll this after every file: it reads one row and two keys, not the six joined records (and the
    measurement's JSON metadata) of the upload pages."""
    return _visible_uploads(upload_status_rows(), user, instrument_token=instrument_token)


def upload_status_rows() -> QuerySet[Upload]:
    """``upload_status_for`` before the scope (for the compiled detail: measurements.api.ingest_views)."""
    own = [f.name for f in Upload._meta.concrete_fields]
    return Upload.objects.select_related("cell", "measurement").only(*own, "cell__code", "measurement__id")


def _visible_uploads(qs: QuerySet[Upload], user: Any, *, instrument_token: bool) -> QuerySet[Upload]:
    if instrument_token or getattr(user, "is_instrument", False):
        return qs.filter(uploaded_by=user)
    return scope_to_teams(qs, user)


def measurements_for(user: Any) -> QuerySet[Measurement]:
    return scope_to_teams(_measurement_rows(), user)


def _measurement_rows() -> QuerySet[Measurement]:
    qs = Measurement.objects.select_related("cell", "membrane", "pellet", "upload")
    return without_bookkeeping(qs, "cell", "membrane", "pellet", "upload")


def cell_page_measurement_rows() -> QuerySet[Measurement]:
    """What the cell page lists of a measurement: its technique, temperature and file name (not the joined cell,
    membrane and pellet rows of ``measurements_for``)."""
    return Measurement.objects.select_related("upload").only(
        "id",
        "team_id",
        "cell_id",
        "technique",
        "temperature",
        "created_at",
        "upload__id",
        "upload__original_name",
    )


_OF_CELL: ScopedQuery[Measurement] = ScopedQuery(
    cell_page_measurement_rows,
    lambda qs, cell_id: qs.filter(cell_id=cell_id).order_by("-created_at")[:50],
    int,
)


def latest_measurements_of_cell(user: Any, cell_id: int) -> list[Measurement]:
    """The cell page's list: the user's measurements of the cell (``cell_page_measurement_rows``), newest first,
    at most 50 (compiled)."""
    return _OF_CELL.all(user, cell_id)


def latest_measurements_statement(user: Any, cell_id: int) -> Any:
    """The read of ``latest_measurements_of_cell`` (to run with the cell page's other reads); None when it
    would read nothing."""
    return _OF_CELL.statement(user, cell_id)


def measurement_rows_for_api(user: Any) -> QuerySet[Measurement]:
    """The API's measurement list (MeasurementListSerializer): the measurement's columns but its metadata and
    parameters (JSON the list does not print), the cell's code and the upload's file name; not the whole joined
    cell, membrane, pellet and upload rows of ``measurements_for`` (compiling their ~90 columns was a third of
    ``/api/v1/measurements/?cell=`` under cProfile)."""
    return scope_to_teams(measurement_api_rows(), user)


def measurement_api_rows() -> QuerySet[Measurement]:
    """``measurement_rows_for_api`` before the team scope (the hot read: measurements.api.ingest_views)."""
    own = [f.name for f in Measurement._meta.concrete_fields if f.name not in ("metadata", "parameters")]
    return Measurement.objects.select_related("cell", "upload").only(
        *own, "cell__code", "upload__original_name"
    )


def instruments_for(user: Any) -> QuerySet[Instrument]:
    return scope_to_teams(Instrument.objects.select_related("team", "service_user"), user)


def _team_scope(user: Any, instrument: Instrument | None) -> Q | None:
    """None = every team (staff); else the Q restricting ``team`` to what the caller may name in an upload."""
    if instrument is not None:
        return Q(team_id=instrument.team_id)
    if user.is_staff:
        return None
    from lims.permissions import team_ids_for

    return Q(team_id__in=team_ids_for(user))


def find_sample(user: Any, *, kind: str, reference: str, instrument: Instrument | None = None) -> Any | None:
    """The cell, membrane or pellet named by id or code that ``user`` (or ``instrument``) may see, else None."""
    models: dict[str, Any] = {"cell": Cell, "membrane": Membrane, "pellet": Pellet}
    model = models[kind]
    reference = str(reference).strip()
    if not reference:
        return None
    qs = model.objects.select_related("team")
    scope = _team_scope(user, instrument)
    if scope is not None:
        qs = qs.filter(scope)
    by_code = qs.filter(code=reference).first()
    if by_code is not None or not reference.isdigit():
        return by_code
    return qs.filter(pk=int(reference)).first()


def cell_choices(user: Any, limit: int = 500) -> list[str]:
    """Codes of the most recent cells the user sees (for the upload page's suggestions)."""
    return list(scope_to_teams(Cell.objects.all(), user).values_list("code", flat=True)[:limit])


def cycle_rows(measurement: Measurement, *, whole_cycles_only: bool = False) -> QuerySet[CycleSummary]:
    qs = CycleSummary.objects.filter(measurement=measurement).order_by("cycle", "half_cycle")
    return qs.filter(half_cycle=0) if whole_cycles_only else qs


def dashboard_uploads(user: Any, *, limit: int = 10) -> dict[str, list[Upload]]:
    base = uploads_for(user).order_by("-created_at")
    return {
        "in_progress": list(base.filter(stage__in=IN_PROGRESS)[:limit]),
        "failed": list(base.filter(stage=Stage.FAILED)[:limit]),
    }


def search_uploads(user: Any, text: str, *, limit: int = 10) -> list[Upload]:
    qs = uploads_for(user).filter(Q(original_name__icontains=text) | Q(sha256__startswith=text.lower()))
    return list(qs[:limit])


# ------------------------------------------------------------------------------------------------ data for plots
def minmax_downsample(
    columns: Mapping[str, npt.NDArray[Any]], max_points: int, *, keep: Sequence[str] | None = None
) -> npt.NDArray[np.int64]:
    """Indices of the rows to plot: for each bucket of consecutive rows, the rows of the min and max of each
    column in ``keep`` (all columns by default), plus the first and the last row.

    A spike survives because the row holding a bucket's extreme is always kept. With n rows, c kept columns and
    ``max_points`` p, there are b = max(1, p // (2c)) buckets of ceil(n / b) rows, so at most 2 b c + 2 <= p + 2
    rows come back. Hand check: n = 10, p = 4, one column -> b = 2 buckets of 5 rows -> <= 4 (+2) rows.
    """
    names = list(keep) if keep else list(columns)
    if not names:
        return np.zeros(0, dtype=np.int64)
    n = len(columns[names[0]])
    if n <= max(max_points, 2):
        return np.arange(n, dtype=np.int64)
    buckets = max(1, max_points // (2 * len(names)))
    size = -(-n // buckets)
    pad = buckets * size - n
    picked = [np.array([0, n - 1])]
    offsets = np.arange(buckets) * size
    for name in names:
        y = np.asarray(columns[name], dtype=np.float64)
        lo = np.concatenate([np.where(np.isnan(y), np.inf, y), np.full(pad, np.inf)]).reshape(buckets, size)
        hi = np.concatenate([np.where(np.isnan(y), -np.inf, y), np.full(pad, -np.inf)]).reshape(buckets, size)
        picked.append(offsets + np.argmin(lo, axis=1))
        picked.append(offsets + np.argmax(hi, axis=1))
    idx = np.unique(np.concatenate(picked))
    return idx[idx < n].astype(np.int64)


def measurement_data(
    measurement: Measurement, *, columns: Sequence[str] | None = None, max_points: int = 5000
) -> dict[str, Any]:
    """The measurement's columns (all or ``columns``), min/max-downsampled to about ``max_points`` rows."""
    available = list(measurement.columns)
    wanted = [c for c in (columns or available) if c in available]
    unknown = [c for c in (columns or []) if c not in available]
    if unknown:
        from lims.errors import DomainError

        raise DomainError(
            f"This measurement has no column(s) {', '.join(unknown)}; it has {', '.join(available)}."
        )
    data = storage.read_columns(measurement.data_file, wanted)
    keep = [c for c in wanted if c not in ("time_s", "cycle", "half_cycle", "step")] or wanted
    idx = minmax_downsample(data, max_points, keep=keep)
    out = {name: _plain(np.asarray(values)[idx]) for name, values in data.items()}
    return {
        "measurement": measurement.pk,
        "row_count": measurement.row_count,
        "returned_rows": int(idx.size),
        "downsampled": int(idx.size) < measurement.row_count,
        "columns": out,
    }


def _plain(values: npt.NDArray[Any]) -> list[Any]:
    if values.dtype.kind == "f":
        return [None if not np.isfinite(v) else float(v) for v in values.tolist()]
    return values.tolist()


# ------------------------------------------------------------------------------------------------ figures
FIGURE_TITLES = {
    "nyquist": "Nyquist plot",
    "bode": "Bode plot",
    "voltage-time": "Voltage and current vs time",
    "capacity-cycle": "Capacity and Coulombic efficiency vs cycle",
    "chronoamperometry": "Chronoamperometry",
    "lsv": "Linear sweep voltammetry",
    "rate-capability": "Rate capability",
}


def figure_kinds(measurement: Measurement) -> list[str]:
    """The plots a measurement's columns and technique allow (no query: the API lists them for every row)."""
    return figure_kinds_of(measurement.columns, measurement.technique)


def figure_kinds_of(columns: Any, technique: str) -> list[str]:
    """``figure_kinds`` from the measurement's columns and technique."""
    cols = set(columns)
    kinds = []
    if {"freq_Hz", "z_re_ohm", "z_im_ohm"} <= cols:
        kinds += ["nyquist", "bode"]
    if technique == "CA" and {"time_s", "current_A"} <= cols:
        return [*kinds, "chronoamperometry"]
    if technique == "LSV" and {"voltage_V", "current_A"} <= cols:
        return [*kinds, "lsv"]
    if {"time_s", "voltage_V"} <= cols and technique not in ("PEIS", "GEIS"):
        kinds.append("voltage-time")
    if technique not in ("PEIS", "GEIS") and "current_A" in cols and "time_s" in cols:
        kinds.append("capacity-cycle")
    return kinds


def derived_figure_kinds(measurement: Measurement) -> list[str]:
    """The plots that depend on what the analysis found (one query): rate capability of a full cell."""
    from measurements.selectors_figures import rate_table

    return ["rate-capability"] if len(rate_table(measurement)) > 1 else []


def figure(
    measurement: Measurement, kind: str, *, max_points: int = 4000, fit: bool = False
) -> dict[str, Any]:
    """A Plotly figure {"data", "layout"} for the measurement page (built server-side, drawn by plots.js).

    ``fit`` overlays the fitted equivalent circuit on the Nyquist and Bode plots. The voltage-vs-time plot marks
    the short (or the CCD failure) the analysis found; chronoamperometry marks I0 and Iss; LSV its onset.
    """
    from lims.errors import DomainError
    from measurements import selectors_figures as annotated

    available = figure_kinds(measurement)
    if kind not in available and kind not in (extra := derived_figure_kinds(measurement)):
        raise DomainError(
            f"No '{kind}' plot for this measurement; available: {', '.join(available + extra)}."
        )
    title = f"{FIGURE_TITLES[kind]} — {measurement.upload.original_name}"
    if kind in ("nyquist", "bode"):
        fig = _eis_figure(measurement, kind, title, max_points)
        if fit:
            freq = measurement_data(measurement, columns=["freq_Hz"], max_points=max_points)["columns"][
                "freq_Hz"
            ]
            fit_traces = annotated.eis_fit_traces(measurement, freq, kind)
            if fit_traces and kind == "nyquist":
                fig["data"][0]["name"] = "measured"
            fig["data"] += fit_traces
            summary = annotated.eis_fit_summary(measurement)
            if summary:
                fig["layout"]["title"]["text"] += f"<br><sub>fit: {summary}</sub>"
            fig["layout"]["legend"] = {"orientation": "h", "y": -0.25}
            zoom = annotated.nyquist_zoom(measurement, fig["data"][0]["x"]) if kind == "nyquist" else None
            if zoom is not None:
                fig["layout"]["xaxis"]["range"] = zoom["x_range"]
                fig["layout"]["yaxis"]["range"] = zoom["y_range"]
                fig["layout"]["updatemenus"] = [zoom["menu"]]
        return fig
    if kind == "chronoamperometry":
        cols = ["time_s", "current_A"] + (["voltage_V"] if "voltage_V" in measurement.columns else [])
        data = measurement_data(measurement, columns=cols, max_points=max_points)["columns"]
        return annotated.chronoamperometry(measurement, data, title)
    if kind == "lsv":
        data = measurement_data(measurement, columns=["voltage_V", "current_A"], max_points=max_points)[
            "columns"
        ]
        return annotated.lsv(measurement, data, title)
    if kind == "rate-capability":
        return annotated.rate_capability(measurement, title)
    return _time_or_cycle_figure(measurement, kind, title, max_points)


def _eis_figure(measurement: Measurement, kind: str, title: str, max_points: int) -> dict[str, Any]:
    if kind == "nyquist":
        d = measurement_data(measurement, columns=["z_re_ohm", "z_im_ohm"], max_points=max_points)["columns"]
        return {
            "data": [
                {
                    "type": "scatter",
                    "mode": "markers+lines",
                    "name": "Z",
                    "x": d["z_re_ohm"],
                    "y": [None if v is None else -v for v in d["z_im_ohm"]],
                }
            ],
            "layout": {
                "title": {"text": title},
                "xaxis": {"title": {"text": "Re(Z) / Ω"}},
                "yaxis": {"title": {"text": "−Im(Z) / Ω"}, "scaleanchor": "x", "scaleratio": 1},
            },
        }
    if kind == "bode":
        d = measurement_data(measurement, columns=["freq_Hz", "z_re_ohm", "z_im_ohm"], max_points=max_points)[
            "columns"
        ]
        re = np.array(d["z_re_ohm"], dtype=float)
        im = np.array(d["z_im_ohm"], dtype=float)
        return {
            "data": [
                {
                    "type": "scatter",
                    "mode": "markers+lines",
                    "name": "|Z|",
                    "x": d["freq_Hz"],
                    "y": _plain(np.hypot(re, im)),
                },
                {
                    "type": "scatter",
                    "mode": "markers+lines",
                    "name": "−phase",
                    "x": d["freq_Hz"],
                    "y": _plain(-np.degrees(np.arctan2(im, re))),
                    "yaxis": "y2",
                },
            ],
            "layout": {
                "title": {"text": title},
                "xaxis": {"title": {"text": "frequency / Hz"}, "type": "log"},
                "yaxis": {"title": {"text": "|Z| / Ω"}, "type": "log"},
                "yaxis2": {"title": {"text": "−phase / °"}, "overlaying": "y", "side": "right"},
            },
        }
    raise AssertionError(kind)


def _time_or_cycle_figure(measurement: Measurement, kind: str, title: str, max_points: int) -> dict[str, Any]:
    from measurements import selectors_figures as annotated

    if kind == "voltage-time":
        cols = ["time_s", "voltage_V"] + (["current_A"] if "current_A" in measurement.columns else [])
        d = measurement_data(measurement, columns=cols, max_points=max_points)["columns"]
        hours = [t / 3600.0 for t in d["time_s"]]
        # SVG traces, not WebGL: min/max downsampling keeps them small, and they draw everywhere (and export)
        traces: list[dict[str, Any]] = [
            {"type": "scatter", "mode": "lines", "name": "voltage", "x": hours, "y": d["voltage_V"]}
        ]
        if "current_A" in d:
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": "current",
                    "x": hours,
                    "y": [None if c is None else c * 1e3 for c in d["current_A"]],
                    "yaxis": "y2",
                    "line": {"width": 1, "color": "#9aa3b5"},
                }
            )
        marks = annotated.short_marks(measurement, 3600.0, max(hours) if hours else None)
        return {
            "data": traces,
            "layout": {
                "title": {
                    "text": title + (f"<br><sub>{marks['subtitle']}</sub>" if marks["subtitle"] else "")
                },
                "xaxis": {"title": {"text": "time / h"}},
                "yaxis": {"title": {"text": "voltage / V"}},
                "yaxis2": {"title": {"text": "current / mA"}, "overlaying": "y", "side": "right"},
                "shapes": marks["shapes"],
                "annotations": marks["annotations"],
                "dragmode": "zoom",
            },
        }
    rows = list(
        cycle_rows(measurement, whole_cycles_only=True).values_list(
            "cycle", "charge_capacity_Ah", "discharge_capacity_Ah", "coulombic_efficiency"
        )
    )
    cycles = [r[0] for r in rows]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "name": "charge",
                "x": cycles,
                "y": [_mah(r[1]) for r in rows],
            },
            {
                "type": "scatter",
                "mode": "markers",
                "name": "discharge",
                "x": cycles,
                "y": [_mah(r[2]) for r in rows],
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "CE",
                "x": cycles,
                "y": [None if r[3] is None else 100.0 * r[3] for r in rows],
                "yaxis": "y2",
            },
        ],
        "layout": {
            "title": {"text": title},
            "xaxis": {"title": {"text": "cycle"}},
            "yaxis": {"title": {"text": "capacity / mAh"}},
            "yaxis2": {
                "title": {"text": "Coulombic efficiency / %"},
                "overlaying": "y",
                "side": "right",
                "tickformat": ".1f",
            },
        },
    }


def _mah(value: float | None) -> float | None:
    return None if value is None else value * 1e3


def figure_csv_rows(fig: Mapping[str, Any]) -> list[list[Any]]:
    """The plotted data as rows (trace, x, y) for the CSV download next to each plot."""
    rows: list[list[Any]] = [["trace", "x", "y"]]
    for trace in fig["data"]:
        rows += [[trace["name"], x, y] for x, y in zip(trace["x"], trace["y"], strict=False)]
    return rows
