"""The annotated figures of the measurement page: what the analysis found, drawn over the data.

Each function returns a Plotly figure dict (``{"data", "layout"}``) built from the measurement's downsampled data
and from the derived properties the LIMS reports (so the mark on the plot is the number in the table):

* ``eis_fit_traces``       the fitted equivalent circuit over the Nyquist and Bode plots;
* ``chronoamperometry``    current vs time with I0 and the Iss window of the Bruce-Vincent analysis;
* ``lsv``                  current density vs potential with the onset(s) of the stability window;
* ``short_marks``          the hard short, soft shorts or CCD failure on the voltage-vs-time plot;
* ``rate_capability``      mean discharge capacity per C-rate step (bars).

The science stays in ``measurements.analysis``; this module only reads rows and arrays and calls it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from measurements.analysis.eis import parse_circuit
from measurements.analysis.transference import ca_initial_and_steady_current
from measurements.models import DerivedProperty, Measurement
from measurements.services import derive

SHORT_COLOUR = "#b3261e"
MARK_COLOUR = "#8a5a00"
FIT_COLOUR = "#222222"


def _finite(values: Any) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, dtype=float).tolist()]


def _rows(measurement: Measurement, names: Sequence[str]) -> dict[str, DerivedProperty]:
    """The measurement's derived properties of those names (one query)."""
    return {r.name: r for r in measurement.derived_properties.filter(name__in=list(names)).order_by("id")}


def _vline(x: float, colour: str, dash: str = "dash") -> dict[str, Any]:
    return {
        "type": "line",
        "xref": "x",
        "yref": "paper",
        "x0": x,
        "x1": x,
        "y0": 0,
        "y1": 1,
        "line": {"color": colour, "width": 2, "dash": dash},
    }


def _note(x: float, text: str, colour: str, y: float = 1.0, *, right: bool = False) -> dict[str, Any]:
    return {
        "x": x,
        "y": y,
        "xref": "x",
        "yref": "paper",
        "text": text,
        "showarrow": False,
        "xanchor": "right" if right else "left",
        "yanchor": "top",
        "bgcolor": "rgba(255,255,255,0.85)",
        "font": {"color": colour},
    }


# ------------------------------------------------------------------------------------------------ EIS
def eis_fit_traces(measurement: Measurement, freq_Hz: Sequence[float], kind: str) -> list[dict[str, Any]]:
    """The fitted circuit evaluated on a log grid over the measured range, as Nyquist or Bode traces.

    Empty when the measurement has no fit (e.g. a full cell, or a fit that was not attempted).
    """
    from measurements.selectors_derived import eis_fit_row

    row = eis_fit_row(measurement)
    if row is None or not row.parameters.get("circuit") or not row.parameters.get("fitted"):
        return []
    f = np.asarray([x for x in freq_Hz if x and x > 0], dtype=float)
    if f.size < 2:
        return []
    grid = np.logspace(np.log10(f.max()), np.log10(f.min()), 200)
    z = parse_circuit(row.parameters["circuit"])(row.parameters["fitted"], grid)
    name = f"fit {row.parameters['circuit']}"
    line = {"color": FIT_COLOUR, "width": 2}
    if kind == "nyquist":
        return [
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "x": _finite(z.real),
                "y": _finite(-z.imag),
                "line": line,
            }
        ]
    return [
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"|Z| {name}",
            "x": _finite(grid),
            "y": _finite(np.abs(z)),
            "line": line,
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"−phase {name}",
            "x": _finite(grid),
            "y": _finite(-np.degrees(np.angle(z))),
            "yaxis": "y2",
            "line": {**line, "dash": "dot"},
        },
    ]


def eis_fit_summary(measurement: Measurement) -> str:
    """ "R0 = 93.5 Ω, R1 = 2.76 Ω, ..." for the figure's subtitle, or ''."""
    from measurements.selectors_derived import eis_fit_row

    row = eis_fit_row(measurement)
    if row is None or not row.parameters.get("fitted"):
        return ""
    units = row.parameters.get("units") or {}
    parts = []
    for name, value in row.parameters["fitted"].items():
        unit = str(units.get(name, "")).replace("Ohm^-1", "Ω⁻¹").replace("Ohm", "Ω").replace("ohm", "Ω")
        unit = unit.replace("s^a", "sᵅ")
        parts.append(f"{name} = {value:.4g}{(' ' + unit) if unit and unit != '1' else ''}")
    return ", ".join(parts)


# ------------------------------------------------------------------------------------------------ time axis
def time_axis(seconds: Sequence[float]) -> tuple[float, str]:
    """(divisor, unit) so that the time axis reads in s, min or h."""
    finite = [t for t in seconds if t is not None]
    span = (max(finite) - min(finite)) if finite else 0.0
    if span > 2 * 3600:
        return 3600.0, "h"
    if span > 120:
        return 60.0, "min"
    return 1.0, "s"


# ------------------------------------------------------------------------------------------------ CA
def chronoamperometry(measurement: Measurement, data: dict[str, list[Any]], title: str) -> dict[str, Any]:
    """Current vs time; I0 (first point) and Iss (mean of the last fraction by time) marked.

    The values come from the transference number that used this chronoamperogram when there is one (its
    steady fraction, I0 and Iss), else from the same analysis function with its default fraction (10 %).
    """
    t = [x for x in data["time_s"]]
    i = data["current_A"]
    div, unit = time_axis(t)
    x = [None if v is None else v / div for v in t]
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "current",
            "x": x,
            "y": [None if v is None else v * 1e6 for v in i],
        }
    ]
    used = (
        DerivedProperty.objects.filter(name=derive.TRANSFERENCE, inputs__ca__measurement_id=measurement.pk)
        .order_by("-computed_at")
        .first()
    )
    full = _full_columns(measurement, ["time_s", "current_A"])
    fraction = float(used.parameters.get("steady_fraction", 0.1)) if used is not None else 0.1
    ca = ca_initial_and_steady_current(full["time_s"], full["current_A"], fraction)
    i0 = float(used.parameters.get("i0_measured_A", ca.i0_A)) if used is not None else ca.i0_A
    iss = float(used.parameters.get("iss_A", ca.iss_A)) if used is not None else ca.iss_A
    t_all = np.asarray(full["time_s"], dtype=float)
    t0, t_end = float(np.nanmin(t_all)), float(np.nanmax(t_all))
    t_start = t_end - fraction * (t_end - t0)
    traces.append(
        {
            "type": "scatter",
            "mode": "markers",
            "name": f"I₀ = {i0 * 1e6:.4g} µA",
            "x": [t0 / div],
            "y": [i0 * 1e6],
            "marker": {"size": 12, "symbol": "diamond", "color": MARK_COLOUR},
        }
    )
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"I_ss = {iss * 1e6:.4g} µA (last {fraction:.0%} of the run)",
            "x": [t_start / div, t_end / div],
            "y": [iss * 1e6, iss * 1e6],
            "line": {"color": SHORT_COLOUR, "width": 3},
        }
    )
    source = (
        f"t+ = {used.value:.3g} (Bruce-Vincent, derived property #{used.pk})"
        if used is not None
        else "not yet part of a transference-number series"
    )
    layout: dict[str, Any] = {
        "title": {"text": f"{title}<br><sub>{source}</sub>"},
        "xaxis": {"title": {"text": f"time / {unit}"}},
        "yaxis": {"title": {"text": "current / µA"}},
        "legend": {"orientation": "h", "y": -0.25},
        "shapes": [
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": t_start / div,
                "x1": t_end / div,
                "y0": 0,
                "y1": 1,
                "fillcolor": "rgba(179,38,30,0.08)",
                "line": {"width": 0},
            }
        ],
    }
    if "voltage_V" in data:
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "voltage",
                "x": x,
                "y": [None if v is None else v * 1e3 for v in data["voltage_V"]],
                "yaxis": "y2",
                "line": {"color": "#7f7f7f", "width": 1},
            }
        )
        layout["yaxis2"] = {"title": {"text": "voltage / mV"}, "overlaying": "y", "side": "right"}
    return {"data": traces, "layout": layout}


def _full_columns(measurement: Measurement, columns: Sequence[str]) -> dict[str, np.ndarray]:
    from measurements import storage

    return {k: np.asarray(v) for k, v in storage.read_columns(measurement.data_file, list(columns)).items()}


# ------------------------------------------------------------------------------------------------ LSV
def lsv(measurement: Measurement, data: dict[str, list[Any]], title: str) -> dict[str, Any]:
    """Current density (or current, without an area) vs potential, with the stability-window onsets."""
    rows = _rows(measurement, [derive.WINDOW, derive.WINDOW_TANGENT])
    any_row = rows.get(derive.WINDOW) or rows.get(derive.WINDOW_TANGENT)
    area = float(any_row.inputs.get("area_cm2") or 0.0) if any_row is not None else 0.0
    v = data["voltage_V"]
    i = data["current_A"]
    if area > 0:
        y = [None if c is None else abs(c) * 1e3 / area for c in i]
        y_title = "|j| / mA cm⁻²"
    else:
        y = [None if c is None else abs(c) * 1e3 for c in i]
        y_title = "|I| / mA"
    traces: list[dict[str, Any]] = [{"type": "scatter", "mode": "lines", "name": "sweep", "x": v, "y": y}]
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    thr = rows.get(derive.WINDOW)
    if thr is not None:
        limit = float(thr.parameters.get("threshold_mA_per_cm2", 0.01))
        shapes.append(_vline(thr.value, SHORT_COLOUR))
        notes.append(_note(thr.value, f"onset {thr.value:.3f} V<br>(|j| > {limit:g} mA/cm²)", SHORT_COLOUR))
        if area > 0:
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": f"threshold {limit:g} mA/cm²",
                    "x": [min(x for x in v if x is not None), max(x for x in v if x is not None)],
                    "y": [limit, limit],
                    "line": {"color": SHORT_COLOUR, "dash": "dot", "width": 1},
                }
            )
    tan = rows.get(derive.WINDOW_TANGENT)
    if tan is not None:
        shapes.append(_vline(tan.value, MARK_COLOUR, "dot"))
        notes.append(_note(tan.value, f"tangent onset {tan.value:.3f} V", MARK_COLOUR, y=0.8))
    subtitle = (
        f"stability window up to {thr.value:.3f} V (threshold method)"
        if thr is not None
        else "no onset found yet"
    )
    return {
        "data": traces,
        "layout": {
            "title": {"text": f"{title}<br><sub>{subtitle}</sub>"},
            "xaxis": {"title": {"text": "potential / V"}},
            # log by default: the onset is where the current leaves a baseline decades below the peak
            "yaxis": {"title": {"text": y_title}, "type": "log"},
            "legend": {"orientation": "h", "y": -0.25},
            "shapes": shapes,
            "annotations": notes,
            "updatemenus": [_axis_toggle("yaxis.type", [("log", "log scale"), ("linear", "linear scale")])],
        },
    }


def _axis_toggle(prop: str, options: Sequence[tuple[Any, str]]) -> dict[str, Any]:
    """Plotly buttons (drawn by Plotly itself, no script of ours) that relayout one property."""
    return {
        "type": "buttons",
        "direction": "right",
        "x": 1,
        "xanchor": "right",
        "y": -0.25,  # below the plot, on the legend's line (the legend starts on the left)
        "yanchor": "top",
        "showactive": True,
        "buttons": [
            {"label": label, "method": "relayout", "args": [{prop: value}]} for value, label in options
        ],
    }


def nyquist_zoom(measurement: Measurement, z_re: Sequence[float | None]) -> dict[str, Any] | None:
    """Buttons "fitted arc" / "whole spectrum" when a blocking-electrode tail dwarfs the arc the fit is about.

    The arc spans the high-frequency intercept to the sum of the fitted resistances; the initial view shows
    it with room around it (the axes keep equal scales).
    """
    from measurements.selectors_derived import eis_fit_row

    row = eis_fit_row(measurement)
    fitted = (row.parameters.get("fitted") or {}) if row is not None else {}
    resistances = [float(v) for k, v in fitted.items() if k.startswith("R") and "_" not in k]
    finite = [x for x in z_re if x is not None]
    if not resistances or not finite:
        return None
    lo, hi = min(finite), sum(resistances)
    width = max(hi - lo, 0.05 * hi)
    if max(finite) < lo + 20 * width:
        return None  # the whole spectrum already shows the arc
    x_range = [lo - 0.5 * width, hi + 2.0 * width]
    y_range = [-0.25 * width, 2.25 * width]
    return {
        "x_range": x_range,
        "y_range": y_range,
        "menu": {
            **_axis_toggle("", []),
            "buttons": [
                {
                    "label": "fitted arc",
                    "method": "relayout",
                    "args": [{"xaxis.range": x_range, "yaxis.range": y_range}],
                },
                {
                    "label": "whole spectrum",
                    "method": "relayout",
                    "args": [{"xaxis.autorange": True, "yaxis.autorange": True}],
                },
            ],
        },
    }


# ------------------------------------------------------------------------------------------------ shorts
def short_marks(measurement: Measurement, divisor_s: float, x_max: float | None = None) -> dict[str, Any]:
    """Layout shapes and annotations for the voltage-vs-time plot: hard short, soft shorts, CCD failure.

    ``divisor_s`` converts seconds to the axis unit (3600 for hours); a note near the right end (past 70 % of
    ``x_max``) is written to the left of its line so that it stays inside the plot.
    """
    rows = _rows(measurement, [derive.SYMMETRIC_LIFETIME, derive.CCD])

    def right(x: float) -> bool:
        return bool(x_max) and x > 0.7 * float(x_max or 0)

    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    scale = 3600.0 / divisor_s  # hours -> axis unit
    life = rows.get(derive.SYMMETRIC_LIFETIME)
    if life is not None:
        if not life.parameters.get("censored"):
            x = life.value * scale
            shapes.append(_vline(x, SHORT_COLOUR))
            notes.append(_note(x, f"hard short at {life.value:.4g} h", SHORT_COLOUR, right=right(x)))
        for s in life.parameters.get("soft_shorts") or []:
            shapes.append(
                {
                    "type": "rect",
                    "xref": "x",
                    "yref": "paper",
                    "x0": float(s["start_h"]) * scale,
                    "x1": float(s["end_h"]) * scale,
                    "y0": 0,
                    "y1": 1,
                    "fillcolor": "rgba(138,90,0,0.15)",
                    "line": {"width": 0},
                }
            )
            notes.append(_note(float(s["start_h"]) * scale, "soft short", MARK_COLOUR, y=0.9))
    ccd = rows.get(derive.CCD)
    if ccd is not None:
        step = ccd.parameters.get("failing_step") or {}
        if step.get("failure_time_h") is not None:
            x = float(step["failure_time_h"]) * scale
            shapes.append(_vline(x, SHORT_COLOUR))
            notes.append(
                _note(
                    x,
                    f"{step.get('failure') or 'failure'} at "
                    f"{float(step['current_density_mA_per_cm2']):.3g} mA/cm²<br>CCD = {ccd.value:.3g} mA/cm²",
                    SHORT_COLOUR,
                    right=right(x),
                )
            )
    subtitle = ""
    if life is not None:
        subtitle = (
            f"no hard short in {life.value:.4g} h on test"
            if life.parameters.get("censored")
            else f"hard short after {life.value:.4g} h"
        )
    elif ccd is not None:
        subtitle = f"critical current density {ccd.value:.3g} mA/cm²"
    return {"shapes": shapes, "annotations": notes, "subtitle": subtitle}


# ------------------------------------------------------------------------------------------------ rate capability
def rate_table(measurement: Measurement) -> list[dict[str, Any]]:
    """The C-rate steps of a full-cell record (from its retention or rate-recovery row), or []."""
    rows = _rows(measurement, [derive.RATE_RECOVERY, derive.RETENTION])
    for name in (derive.RATE_RECOVERY, derive.RETENTION):
        row = rows.get(name)
        if row is not None and row.parameters.get("rate_table"):
            return list(row.parameters["rate_table"])
    return []


def rate_capability(measurement: Measurement, title: str) -> dict[str, Any]:
    """Mean discharge capacity (mAh/g) of each run of cycles at one C-rate, in test order."""
    table = rate_table(measurement)
    labels = [f"{_c_rate_text(s['c_rate'])}<br>cycles {s['first_cycle']}–{s['last_cycle']}" for s in table]
    return {
        "data": [
            {
                "type": "bar",
                "name": "mean discharge capacity",
                "x": labels,
                "y": [float(s["mean_discharge_mAh_per_g"]) for s in table],
                "text": [f"{float(s['mean_discharge_mAh_per_g']):.4g}" for s in table],
                "textposition": "outside",
                "cliponaxis": False,
            }
        ],
        "layout": {
            "title": {"text": title},
            "xaxis": {"title": {"text": "C-rate (in test order)"}, "type": "category"},
            "yaxis": {
                "title": {"text": "discharge capacity / mAh g⁻¹"},
                "range": [0, 1.15 * max([float(s["mean_discharge_mAh_per_g"]) for s in table] or [1.0])],
            },
            "showlegend": False,
        },
    }


def _c_rate_text(c: float) -> str:
    """0.1 -> "C/10", 0.5 -> "C/2", 1 -> "1C", 2 -> "2C" (measured C-rates are rounded to two digits)."""
    if c and c < 0.95:
        return f"C/{1 / c:.2g}"
    return f"{c:.2g}C"
