"""Derived properties: the analyses that run after a measurement is parsed, and the series that combine them.

``run_for_measurement`` is the hook the ingestion pipeline calls in the worker (stage "analysing"). Every number is
computed by a function of :mod:`measurements.analysis` (pure, versioned) and stored as a :class:`DerivedProperty`
upserted by (subject_key, name, method_version), so a retry never duplicates; a run replaces the rows of its
subject that it no longer produces (the audit trail keeps the old ones).

What each technique gives (names of the rows in brackets):

=================  ===========================================================================================
PEIS / GEIS        high-frequency intercept [hf_intercept_resistance], lin-KK [kk_residual_max]; blocking
                   cells: R0-CPE1 or R0-p(R1,CPE1)-CPE2 (arc resolved) -> [bulk_resistance] and
                   sigma = L / (R_b A) [ionic_conductivity]; Li|E|Li: R0-p(R1,CPE1)[-p(R2,CPE2)] ->
                   [bulk_resistance], [interfacial_resistance]
CA                 nothing alone; with EIS before and after in a "transference" series -> [transference_number]
LSV                [stability_window] (threshold) and [stability_window_tangent]
GCPL/CYCLING/MB    Li|E|Li: [overpotential], [overpotential_trend], [time_on_test], [symmetric_cycling_lifetime],
                   [soft_short_count]; stepped current (or technique CCD): [critical_current_density];
                   full cells: capacities, CE, retention, voltage gap, C-rate, rate capability
TENSILE, TGA       [tensile_strength], [elongation_at_break]; [filler_content_tga]
series arrhenius   [activation_energy] (ln sigma vs 1/T), [activation_energy_sigmaT] (ln sigma T, labelled
                   alternative), [vtf_pseudo_activation_energy] (>= 4 points), [ionic_conductivity_20C]
=================  ===========================================================================================

Inputs are recorded on every row: measurement ids, the thickness used and where it came from (measured, from cast
mass, pellet final thickness), the area, the active mass and the specific capacity used for 1 C.

Columns read from the Parquet file (canonical, see measurements.parsers._base): time_s, voltage_V, current_A,
freq_Hz, z_re_ohm, z_im_ohm, temperature_C; tensile tests: strain + stress_Pa (or extension_m + force_N with
parameters gauge_length_m and cross_section_m2); TGA: temperature_C + mass_g (or mass_mg or mass_percent).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from cells.models import Cell, Configuration
from formulations.models import Membrane, Pellet
from lims.audit import acting_as, current_context
from lims.errors import DomainError
from measurements import storage
from measurements.analysis import (
    arrhenius,
    ccd,
    conductivity,
    cycling,
    eis,
    lsv,
    mechanical,
    tga,
    transference,
)
from measurements.models import (
    DerivedProperty,
    Measurement,
    MeasurementSeries,
    SeriesKind,
    SeriesMember,
    Technique,
)

logger = logging.getLogger(__name__)

EIS_TECHNIQUES = frozenset({Technique.PEIS, Technique.GEIS, "EIS"})
CYCLING_TECHNIQUES = frozenset({Technique.GCPL, Technique.CYCLING, Technique.MB, Technique.CP})
T_20C_K = 293.15
ZERO_C_K = 273.15

#: Names of the properties, in one place (the comparison table and the filters use them too).
BULK_RESISTANCE = "bulk_resistance"
INTERFACIAL_RESISTANCE = "interfacial_resistance"
HF_INTERCEPT = "hf_intercept_resistance"
KK_RESIDUAL = "kk_residual_max"
CONDUCTIVITY = "ionic_conductivity"
CONDUCTIVITY_20C = "ionic_conductivity_20C"
ACTIVATION_ENERGY = "activation_energy"
ACTIVATION_ENERGY_SIGMA_T = "activation_energy_sigmaT"
VTF_PSEUDO_EA = "vtf_pseudo_activation_energy"
TRANSFERENCE = "transference_number"
WINDOW = "stability_window"
WINDOW_TANGENT = "stability_window_tangent"
CCD = "critical_current_density"
OVERPOTENTIAL = "overpotential"
OVERPOTENTIAL_TREND = "overpotential_trend"
TIME_ON_TEST = "time_on_test"
SYMMETRIC_LIFETIME = "symmetric_cycling_lifetime"
SOFT_SHORTS = "soft_short_count"
DISCHARGE_FIRST = "discharge_capacity_first"
DISCHARGE_REFERENCE = "discharge_capacity_reference"
DISCHARGE_LAST = "discharge_capacity_last"
RETENTION = "capacity_retention"
CE_MEAN_ALL = "coulombic_efficiency_mean"
CE_MEAN_EX_FIRST = "coulombic_efficiency_mean_excluding_first"
VOLTAGE_GAP = "voltage_gap"
SPECIFIC_ENERGY = "specific_discharge_energy_reference"
C_RATE = "c_rate"
RATE_RECOVERY = "rate_capability_recovery"
CYCLE_COUNT = "cycle_count"
TENSILE_STRENGTH = "tensile_strength"
ELONGATION = "elongation_at_break"
FILLER_TGA = "filler_content_tga"

PROPERTY_LABELS: dict[str, str] = {
    BULK_RESISTANCE: "bulk resistance",
    INTERFACIAL_RESISTANCE: "interfacial resistance",
    HF_INTERCEPT: "high-frequency intercept",
    KK_RESIDUAL: "lin-KK max residual",
    CONDUCTIVITY: "ionic conductivity",
    CONDUCTIVITY_20C: "ionic conductivity at 20 °C (Arrhenius)",
    ACTIVATION_ENERGY: "activation energy (ln σ vs 1/T)",
    ACTIVATION_ENERGY_SIGMA_T: "activation energy (ln σT vs 1/T)",
    VTF_PSEUDO_EA: "VTF pseudo-activation energy",
    TRANSFERENCE: "Li+ transference number",
    WINDOW: "stability window (threshold)",
    WINDOW_TANGENT: "stability window (tangent)",
    CCD: "critical current density",
    OVERPOTENTIAL: "overpotential",
    OVERPOTENTIAL_TREND: "overpotential trend",
    TIME_ON_TEST: "time on test",
    SYMMETRIC_LIFETIME: "symmetric-cell lifetime",
    SOFT_SHORTS: "soft shorts",
    DISCHARGE_FIRST: "first discharge capacity",
    DISCHARGE_REFERENCE: "reference discharge capacity",
    DISCHARGE_LAST: "last discharge capacity",
    RETENTION: "capacity retention",
    CE_MEAN_ALL: "mean Coulombic efficiency (all cycles)",
    CE_MEAN_EX_FIRST: "mean Coulombic efficiency (excluding cycle 1)",
    VOLTAGE_GAP: "charge-discharge voltage gap",
    SPECIFIC_ENERGY: "specific discharge energy",
    C_RATE: "C-rate",
    RATE_RECOVERY: "rate capability recovery",
    CYCLE_COUNT: "cycles",
    TENSILE_STRENGTH: "tensile strength",
    ELONGATION: "elongation at break",
    FILLER_TGA: "filler content (TGA)",
}


class DerivationError(DomainError):
    """A measurement that cannot be analysed (missing columns, missing geometry, a failed fit)."""


# ------------------------------------------------------------------------------------------------ row specs
@dataclass
class RowSpec:
    """One property a computation produced, before it is written."""

    name: str
    value: float
    unit: str
    method: str
    method_version: str
    uncertainty: float | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    temperature_C: float | None = None


@dataclass(frozen=True)
class Subject:
    """What a set of rows is attached to: a measurement or a series, with the sample FKs for filtering."""

    key: str
    team_id: int
    measurement: Measurement | None
    series: MeasurementSeries | None
    cell: Cell | None
    membrane: Membrane | None
    pellet: Pellet | None


def _clean(value: Any) -> Any:
    """JSON-safe copy: numpy scalars/arrays to Python, NaN/inf to None, tuples to lists."""
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    return value


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


@transaction.atomic
def _write(subject: Subject, specs: Sequence[RowSpec]) -> list[DerivedProperty]:
    """Upsert the rows of one subject and drop the rows of that subject this run no longer produces."""
    written: list[DerivedProperty] = []
    for spec in specs:
        if not math.isfinite(spec.value):
            continue
        row, _ = DerivedProperty.objects.update_or_create(
            subject_key=subject.key,
            name=spec.name,
            method_version=spec.method_version,
            defaults={
                "team_id": subject.team_id,
                "value": float(spec.value),
                "unit": spec.unit,
                "uncertainty": _finite(spec.uncertainty),
                "method": spec.method[:80],
                "parameters": _clean(spec.parameters),
                "inputs": _clean(spec.inputs),
                "temperature": _finite(spec.temperature_C),
                "measurement": subject.measurement,
                "series": subject.series,
                "cell": subject.cell,
                "membrane": subject.membrane,
                "pellet": subject.pellet,
                "computed_at": timezone.now(),
            },
        )
        written.append(row)
    stale = DerivedProperty.objects.filter(subject_key=subject.key).exclude(pk__in=[r.pk for r in written])
    for old in stale:  # one by one so that the audit trail records each deletion
        old.delete()
    return written


# ------------------------------------------------------------------------------------------------ loading
def _measurements() -> QuerySet[Measurement]:
    return Measurement.objects.select_related(
        "cell__membrane__batch__recipe_version__recipe",
        "cell__pellet",
        "cell__cathode__active_lot__chemical",
        "membrane__batch__recipe_version__recipe",
        "pellet",
        "upload",
    )


def _subject_for_measurement(m: Measurement) -> Subject:
    cell = m.cell
    return Subject(
        key=f"measurement:{m.pk}",
        team_id=m.team_id,
        measurement=m,
        series=None,
        cell=cell,
        membrane=m.membrane or (cell.membrane if cell else None),
        pellet=m.pellet or (cell.pellet if cell else None),
    )


def _read(m: Measurement, required: Sequence[str], optional: Sequence[str] = ()) -> dict[str, np.ndarray]:
    if not m.data_file:
        raise DerivationError(f"{m}: the measurement has no parsed data file")
    table = storage.read_table(m.data_file)
    present = set(table.column_names)
    missing = [c for c in required if c not in present]
    if missing:
        raise DerivationError(f"{m}: the parsed data has no column {', '.join(missing)}")
    wanted = [c for c in (*required, *optional) if c in present]
    return {c: table.column(c).to_numpy() for c in wanted}


def _temperature_C(m: Measurement, data: Mapping[str, np.ndarray] | None = None) -> float | None:
    """The measurement's temperature: the recorded value, else the mean of a temperature column."""
    if m.temperature is not None:
        return float(m.temperature)
    if m.upload_id and m.upload.temperature is not None:
        return float(m.upload.temperature)
    if data is not None and "temperature_C" in data and len(data["temperature_C"]):
        t = np.asarray(data["temperature_C"], dtype=float)
        t = t[np.isfinite(t)]
        if t.size:
            return float(t.mean())
    return None


@dataclass(frozen=True)
class Geometry:
    """Electrolyte thickness and electrode area with where each came from (recorded in ``inputs``)."""

    thickness_m: float | None
    thickness_source: str
    area_m2: float | None
    area_source: str

    def as_inputs(self) -> dict[str, Any]:
        return {
            "thickness_um": self.thickness_m * 1e6 if self.thickness_m else None,
            "thickness_source": self.thickness_source,
            "area_cm2": self.area_m2 * 1e4 if self.area_m2 else None,
            "area_source": self.area_source,
        }


def geometry_of(m: Measurement) -> Geometry:
    """Thickness: membrane measured, else from cast mass; pellet final thickness. Area: the cell's active area,
    else a pellet's face (pi d^2 / 4), else ``parameters.area_cm2``."""
    cell = m.cell
    membrane = m.membrane or (cell.membrane if cell else None)
    pellet = m.pellet or (cell.pellet if cell else None)
    thickness_m: float | None = None
    source = "unknown"
    if membrane is not None:
        if membrane.thickness_measured:
            thickness_m, source = membrane.thickness_measured * 1e-6, f"membrane {membrane.code}: measured"
        elif membrane.thickness_from_mass:
            thickness_m, source = (
                membrane.thickness_from_mass * 1e-6,
                f"membrane {membrane.code}: from cast mass",
            )
    elif pellet is not None and pellet.final_thickness:
        thickness_m, source = pellet.final_thickness * 1e-3, f"pellet {pellet.code}: final thickness"
    area_m2: float | None = None
    area_source = "unknown"
    override = (m.parameters or {}).get("area_cm2")
    if cell is not None and cell.active_area:
        area_m2, area_source = cell.active_area * 1e-4, f"cell {cell.code}: active area"
    elif override:
        area_m2, area_source = float(override) * 1e-4, "measurement parameters: area_cm2"
    elif pellet is not None and pellet.final_diameter:
        area_m2 = math.pi * (pellet.final_diameter * 1e-3) ** 2 / 4.0
        area_source = f"pellet {pellet.code}: face pi d^2/4"
    return Geometry(thickness_m, source, area_m2, area_source)


def _configuration(m: Measurement) -> str:
    """The cell configuration; a sample measured without a cell is treated as a blocking-electrode fixture."""
    if m.cell is not None:
        return m.cell.configuration
    return str((m.parameters or {}).get("configuration", Configuration.BLOCKING))


def _base_inputs(m: Measurement) -> dict[str, Any]:
    out: dict[str, Any] = {"measurement_ids": [m.pk]}
    if m.cell_id:
        out["cell_id"] = m.cell_id
    return out


# ------------------------------------------------------------------------------------------------ EIS
def _arc_resolved(freq_Hz: np.ndarray, z: np.ndarray) -> bool:
    """True when -Im(Z) rises to an apex and falls to a valley (a bulk arc) before the low-frequency tail."""
    order = np.argsort(-freq_Hz)
    mim = -np.asarray(z, dtype=complex)[order].imag
    if mim.size < 5:
        return False
    peaks = np.nonzero((mim[1:-1] > mim[:-2]) & (mim[1:-1] >= mim[2:]) & (mim[1:-1] > 0))[0] + 1
    for p in peaks:
        tail = mim[p:]
        valley = int(np.argmin(tail))
        if 0 < valley < tail.size - 1 and tail[valley] < 0.8 * mim[p]:
            return True
    return False


def _choose_circuit(
    m: Measurement, configuration: str, freq_Hz: np.ndarray, z: np.ndarray
) -> tuple[str, str]:
    """(circuit, why). ``parameters.circuit`` overrides the standard circuit of the cell configuration."""
    given = (m.parameters or {}).get("circuit")
    if given:
        return str(given), "given in the measurement parameters"
    if configuration == Configuration.BLOCKING:
        if _arc_resolved(freq_Hz, z):
            return eis.BLOCKING_ARC, "blocking electrodes, bulk arc resolved"
        return eis.BLOCKING_SIMPLE, "blocking electrodes, bulk arc above the highest frequency"
    if configuration == Configuration.SYMMETRIC:
        if int((m.parameters or {}).get("arcs", 1)) >= 2:
            return eis.SYMMETRIC_LI_TWO_ARCS, "Li|E|Li, two interfacial arcs (parameters.arcs = 2)"
        return eis.SYMMETRIC_LI_ONE_ARC, "Li|E|Li, one interfacial arc"
    return "", "no standard circuit for this configuration"


def _fit_summary(fit: eis.EISFit, circuit_reason: str) -> dict[str, Any]:
    return {
        "circuit": fit.circuit,
        "circuit_choice": circuit_reason,
        "fitted": fit.params,
        "stderr": fit.stderr,
        "units": fit.units,
        "chi2_reduced": fit.chi2_reduced,
        "rmse_ohm": fit.rmse_ohm,
        "weighting": fit.weighting,
        "n_points": fit.n_points,
        "converged": fit.success,
    }


def _quadrature(*errors: float | None) -> float | None:
    vals = [e for e in errors if e is not None]
    if not vals or any(not math.isfinite(e) for e in vals):
        return None
    return float(math.sqrt(sum(e * e for e in vals)))


def analyse_eis(m: Measurement) -> list[RowSpec]:
    data = _read(m, ["freq_Hz", "z_re_ohm", "z_im_ohm"], ["temperature_C"])
    f = np.asarray(data["freq_Hz"], dtype=float)
    z = np.asarray(data["z_re_ohm"], dtype=float) + 1j * np.asarray(data["z_im_ohm"], dtype=float)
    keep = np.isfinite(f) & np.isfinite(z) & (f > 0)
    f, z = f[keep], z[keep]
    if f.size < 5:
        raise DerivationError(f"{m}: an impedance spectrum needs at least 5 points, got {f.size}")
    temp = _temperature_C(m, data)
    inputs = _base_inputs(m)
    specs: list[RowSpec] = [
        RowSpec(
            name=HF_INTERCEPT,
            value=eis.high_frequency_intercept(f, z),
            unit="ohm",
            method="high-frequency real-axis intercept of the Nyquist plot",
            method_version=eis.METHOD_VERSION,
            inputs=inputs,
            temperature_C=temp,
        )
    ]
    # a capacitive low-frequency tail (blocking electrodes) needs the series capacitance of lin-KK
    mim = -z.imag
    capacitive_tail = bool(mim[int(np.argmin(f))] >= 0.9 * mim.max() > 0)
    kk = eis.lin_kk(f, z, add_capacitance=capacitive_tail)
    specs.append(
        RowSpec(
            name=KK_RESIDUAL,
            value=100.0 * kk.max_abs_residual,
            unit="%",
            method=kk.method,
            method_version=kk.version,
            parameters={
                "M": kk.M,
                "mu": kk.mu,
                "passed": kk.passed,
                "threshold_percent": 100.0 * kk.threshold,
                "rms_residual_percent": 100.0 * kk.rms_residual,
                "series_capacitance": capacitive_tail,
            },
            inputs=inputs,
            temperature_C=temp,
        )
    )
    configuration = _configuration(m)
    circuit, why = _choose_circuit(m, configuration, f, z)
    if not circuit:
        return specs
    try:
        fit = eis.fit_circuit(circuit, f, z)
    except (ValueError, RuntimeError, KeyError) as exc:
        raise DerivationError(f"{m}: the EIS fit with {circuit} failed: {exc}") from None
    summary = _fit_summary(fit, why)
    summary["kk_passed"] = kk.passed
    method = f"{fit.method}, {fit.weighting} weighting, {fit.circuit}"
    include_arc = bool((m.parameters or {}).get("bulk_includes_arc", True))
    if configuration == Configuration.BLOCKING and "R0" in fit.params:
        r_b = eis.bulk_resistance(fit, include_arc=include_arc)
        err = _quadrature(
            fit.stderr.get("R0"), fit.stderr.get("R1") if include_arc and "R1" in fit.params else None
        )
        bulk_params = {**summary, "bulk": "R0 + R1" if include_arc and "R1" in fit.params else "R0"}
    elif "R0" in fit.params:
        r_b, err, bulk_params = fit.params["R0"], fit.stderr.get("R0"), {**summary, "bulk": "R0"}
    else:
        return specs
    specs.append(RowSpec(BULK_RESISTANCE, r_b, "ohm", method, fit.version, err, bulk_params, inputs, temp))
    if configuration == Configuration.SYMMETRIC and "R1" in fit.params:
        r_i = eis.interfacial_resistance(fit)
        err_i = _quadrature(fit.stderr.get("R1"), fit.stderr.get("R2") if "R2" in fit.params else None)
        specs.append(
            RowSpec(
                INTERFACIAL_RESISTANCE,
                r_i,
                "ohm",
                method,
                fit.version,
                err_i,
                {**summary, "interfacial": "R1 + R2" if "R2" in fit.params else "R1"},
                inputs,
                temp,
            )
        )
    if configuration == Configuration.BLOCKING:
        geo = geometry_of(m)
        if geo.thickness_m and geo.area_m2:
            res = conductivity.ionic_conductivity(r_b, geo.thickness_m, geo.area_m2)
            rel = (err / r_b) if err is not None and r_b > 0 else None
            specs.append(
                RowSpec(
                    CONDUCTIVITY,
                    res.sigma_mS_per_cm,
                    "mS/cm",
                    res.method,
                    res.version,
                    res.sigma_mS_per_cm * rel if rel is not None else None,
                    {"r_bulk_ohm": r_b, "circuit": fit.circuit, "sigma_S_per_m": res.sigma_S_per_m},
                    {**inputs, **geo.as_inputs()},
                    temp,
                )
            )
        else:
            specs[-1].parameters["conductivity_not_computed"] = (
                f"no electrolyte thickness ({geo.thickness_source}) or area ({geo.area_source})"
            )
    return specs


# ------------------------------------------------------------------------------------------------ LSV
def analyse_lsv(m: Measurement) -> list[RowSpec]:
    data = _read(m, ["voltage_V", "current_A"], ["temperature_C"])
    geo = geometry_of(m)
    if not geo.area_m2:
        raise DerivationError(f"{m}: the stability window needs the electrode area")
    params = m.parameters or {}
    threshold_mA_cm2 = float(params.get("threshold_mA_per_cm2", 0.01))
    res = lsv.stability_window(
        data["voltage_V"], data["current_A"], geo.area_m2, threshold_A_per_m2=threshold_mA_cm2 * 10.0
    )
    temp = _temperature_C(m, data)
    inputs = {**_base_inputs(m), "area_cm2": geo.area_m2 * 1e4, "area_source": geo.area_source}
    common = {
        "threshold_mA_per_cm2": threshold_mA_cm2,
        "baseline_range_V": res.baseline_range_V,
        "rise_range_V": res.rise_range_V,
        "onset_threshold_V": res.onset_threshold_V,
        "onset_tangent_V": res.onset_tangent_V,
    }
    specs: list[RowSpec] = []
    if res.onset_threshold_V is not None:
        specs.append(
            RowSpec(
                WINDOW,
                res.onset_threshold_V,
                "V",
                res.method_threshold,
                res.version,
                None,
                common,
                inputs,
                temp,
            )
        )
    if res.onset_tangent_V is not None:
        specs.append(
            RowSpec(
                WINDOW_TANGENT,
                res.onset_tangent_V,
                "V",
                res.method_tangent,
                res.version,
                None,
                common,
                inputs,
                temp,
            )
        )
    return specs


# ------------------------------------------------------------------------------------------------ cycling
def _is_stepped_current(current_A: np.ndarray) -> bool:
    """A CCD-style test: the current magnitude climbs through >= 3 distinct, non-decreasing levels."""
    a = np.abs(np.asarray(current_A, dtype=float))
    if a.size == 0:
        return False
    a = a[a > 1e-3 * a.max()]
    if a.size < 3:
        return False
    change = np.abs(np.diff(a)) > 0.05 * np.maximum(a[1:], a[:-1])
    levels = np.concatenate([[a[0]], a[1:][change]])
    return bool(levels.size >= 3 and np.all(np.diff(levels) > 0))


def analyse_ccd(m: Measurement, data: Mapping[str, np.ndarray]) -> list[RowSpec]:
    geo = geometry_of(m)
    if not geo.area_m2:
        raise DerivationError(f"{m}: the critical current density needs the electrode area")
    params = m.parameters or {}
    res = ccd.critical_current_density(
        data["time_s"],
        data["voltage_V"],
        data["current_A"],
        geo.area_m2,
        short_V=float(params.get("short_V", 0.005)),
        voltage_limit_V=float(params.get("voltage_limit_V", 5.0)),
    )
    if res.ccd_mA_per_cm2 is None:
        raise DerivationError(f"{m}: no current step was completed before the first failure")
    steps = [
        {
            "index": s.index,
            "current_density_mA_per_cm2": s.current_density_A_per_m2 / 10.0,
            "completed": s.completed,
            "failure": s.failure,
            "failure_time_h": s.failure_time_s / 3600.0 if s.failure_time_s is not None else None,
            "median_abs_voltage_V": s.median_abs_voltage_V,
        }
        for s in res.steps
    ]
    fail = res.failing_step
    return [
        RowSpec(
            CCD,
            res.ccd_mA_per_cm2,
            "mA/cm^2",
            res.method,
            res.version,
            None,
            {
                "failing_step": steps[fail.index] if fail is not None else None,
                "failure_mode": fail.failure if fail is not None else "none (test ended without failure)",
                "steps": steps,
            },
            {**_base_inputs(m), "area_cm2": geo.area_m2 * 1e4, "area_source": geo.area_source},
            _temperature_C(m, data),
        )
    ]


def analyse_symmetric_cycling(m: Measurement, data: Mapping[str, np.ndarray]) -> list[RowSpec]:
    params = m.parameters or {}
    res = cycling.analyse_symmetric(
        data["time_s"],
        data["voltage_V"],
        data["current_A"],
        short_V=float(params.get("short_V", 0.005)),
        soft_drop_fraction=float(params.get("soft_drop_fraction", 0.5)),
    )
    geo = geometry_of(m)
    i = np.abs(np.asarray(data["current_A"], dtype=float))
    flowing = i[i > 1e-3 * i.max()] if i.size else i
    j_mA_cm2 = float(np.median(flowing)) / geo.area_m2 / 10.0 if geo.area_m2 and flowing.size else None
    half_h = res.total_time_h / res.n_half_cycles if res.n_half_cycles else None
    common = {
        "current_density_mA_per_cm2": j_mA_cm2,
        "areal_capacity_mAh_per_cm2": j_mA_cm2 * half_h if j_mA_cm2 is not None and half_h else None,
        "n_half_cycles": res.n_half_cycles,
        "failure_mode": res.failure_mode,
    }
    inputs = {**_base_inputs(m), "area_cm2": geo.area_m2 * 1e4 if geo.area_m2 else None}
    temp = _temperature_C(m, data)
    shorted = res.lifetime_h is not None
    soft = [
        {"start_h": s.start_h, "end_h": s.end_h, "min_overpotential_mV": 1e3 * s.min_overpotential_V}
        for s in res.soft_shorts
    ]
    failure_mode = res.failure_mode if not soft or shorted else "soft short(s), recovered"
    return [
        RowSpec(
            OVERPOTENTIAL,
            1e3 * res.mean_overpotential_V,
            "mV",
            res.method + " (mean of half-cycle medians)",
            res.version,
            None,
            {
                **common,
                "first_half_cycle_mV": 1e3 * float(res.overpotential_V[0]) if res.n_half_cycles else None,
                "last_half_cycle_mV": 1e3 * float(res.overpotential_V[-1]) if res.n_half_cycles else None,
            },
            inputs,
            temp,
        ),
        RowSpec(
            OVERPOTENTIAL_TREND,
            10.0 * res.overpotential_trend_V_per_100h,  # V per 100 h -> mV per h
            "mV/h",
            "linear fit of half-cycle overpotential vs time",
            res.version,
            None,
            common,
            inputs,
            temp,
        ),
        RowSpec(
            TIME_ON_TEST,
            res.total_time_h,
            "h",
            "last minus first time stamp",
            res.version,
            None,
            common,
            inputs,
            temp,
        ),
        RowSpec(
            SYMMETRIC_LIFETIME,
            res.lifetime_h if shorted else res.total_time_h,  # type: ignore[arg-type]
            "h",
            "time to hard short" if shorted else "time on test without hard short (lower bound)",
            res.version,
            None,
            {**common, "failure_mode": failure_mode, "censored": not shorted, "soft_shorts": soft},
            inputs,
            temp,
        ),
        RowSpec(
            SOFT_SHORTS,
            float(len(soft)),
            "",
            "recovered drops of the half-cycle overpotential",
            res.version,
            None,
            {**common, "soft_shorts": soft},
            inputs,
            temp,
        ),
    ]


def _full_cell_inputs(m: Measurement) -> tuple[float, float, dict[str, Any]]:
    """(active mass kg, 1 C specific capacity mAh/g, inputs) for a full cell."""
    params = m.parameters or {}
    cell = m.cell
    cathode = cell.cathode if cell else None
    mass_g = float(params.get("active_mass_g") or (cathode.active_mass if cathode else 0.0) or 0.0)
    mass_source = (
        "measurement parameters"
        if params.get("active_mass_g")
        else (f"electrode {cathode.code}: active mass" if cathode else "unknown")
    )
    q = params.get("specific_capacity_mAh_per_g")
    q_source = "measurement parameters"
    if not q and cathode is not None:
        q = cathode.active_lot.chemical.specific_capacity
        q_source = f"chemical {cathode.active_lot.chemical.name}: specific capacity"
    if mass_g <= 0:
        raise DerivationError(f"{m}: full-cell analysis needs the cathode's active mass")
    if not q:
        raise DerivationError(
            f"{m}: full-cell analysis needs the cathode's specific capacity (1 C), e.g. 170 mAh/g for LFP"
        )
    return (
        mass_g * 1e-3,
        float(q),
        {
            **_base_inputs(m),
            "active_mass_mg": mass_g * 1e3,
            "active_mass_source": mass_source,
            "specific_capacity_1C_mAh_per_g": float(q),
            "specific_capacity_source": q_source,
        },
    )


def analyse_full_cell(m: Measurement, data: Mapping[str, np.ndarray]) -> list[RowSpec]:
    mass_kg, q1c, inputs = _full_cell_inputs(m)
    params = m.parameters or {}
    ref = params.get("reference_cycle")
    res = cycling.analyse_full_cell(
        data["time_s"],
        data["voltage_V"],
        data["current_A"],
        mass_kg,
        q1c,
        reference_cycle=int(ref) if ref else None,
        reference_within=int(params.get("reference_within", 20)),
    )
    n = int(res.cycle.size)
    if n == 0 or not np.any(res.discharge_Ah > 0):
        raise DerivationError(f"{m}: no discharge found in the cycling record")
    last_dis = int(np.nonzero(res.discharge_Ah > 0)[0][-1])
    ref_pos = int(np.nonzero(res.cycle == res.reference_cycle)[0][0])
    temp = _temperature_C(m, data)
    v = res.version
    ref_rule = (
        f"cycle {res.reference_cycle} (given)"
        if ref
        else f"highest discharge capacity within the first {int(params.get('reference_within', 20))} cycles"
    )
    per_cycle = {
        "cycle": res.cycle,
        "discharge_mAh_per_g": np.round(res.discharge_mAh_per_g, 4),
        "charge_mAh_per_g": np.round(res.charge_mAh_per_g, 4),
        "coulombic_efficiency": np.round(res.coulombic_efficiency, 6),
        "c_rate": np.round(res.c_rate, 4),
    }
    common = {"reference_cycle": res.reference_cycle, "reference_rule": ref_rule, "n_cycles": n}
    c_rate_median = float(np.nanmedian(res.c_rate)) if np.any(np.isfinite(res.c_rate)) else float("nan")
    common["c_rate_median"] = c_rate_median
    specs = [
        RowSpec(
            DISCHARGE_FIRST,
            float(res.discharge_mAh_per_g[0]),
            "mAh/g",
            res.method,
            v,
            None,
            common,
            inputs,
            temp,
        ),
        RowSpec(
            DISCHARGE_REFERENCE,
            float(res.discharge_mAh_per_g[ref_pos]),
            "mAh/g",
            res.method,
            v,
            None,
            common,
            inputs,
            temp,
        ),
        RowSpec(
            DISCHARGE_LAST,
            float(res.discharge_mAh_per_g[last_dis]),
            "mAh/g",
            res.method,
            v,
            None,
            {**common, "cycle": int(res.cycle[last_dis])},
            inputs,
            temp,
        ),
        RowSpec(
            RETENTION,
            100.0 * float(res.retention[last_dis]),
            "%",
            f"Q_dis(cycle {int(res.cycle[last_dis])}) / Q_dis(reference)",
            v,
            None,
            {**common, "cycle": int(res.cycle[last_dis]), "per_cycle": per_cycle},
            inputs,
            temp,
        ),
        RowSpec(
            CE_MEAN_ALL,
            100.0 * res.mean_ce_all,
            "%",
            "mean CE = Q_dis/Q_ch, all cycles",
            v,
            None,
            common,
            inputs,
            temp,
        ),
        RowSpec(
            CE_MEAN_EX_FIRST,
            100.0 * res.mean_ce_excluding_first,
            "%",
            "mean CE = Q_dis/Q_ch, excluding cycle 1",
            v,
            None,
            common,
            inputs,
            temp,
        ),
        RowSpec(
            VOLTAGE_GAP,
            float(res.voltage_gap_V[ref_pos]),
            "V",
            "mean charge voltage - mean discharge voltage (E/Q), reference cycle",
            v,
            None,
            {
                **common,
                "mean_charge_voltage_V": res.mean_charge_voltage_V[ref_pos],
                "mean_discharge_voltage_V": res.mean_discharge_voltage_V[ref_pos],
            },
            inputs,
            temp,
        ),
        RowSpec(
            SPECIFIC_ENERGY,
            float(res.discharge_energy_Wh[ref_pos]) * 1e3 / (mass_kg * 1e3),
            "mWh/g",
            "discharge energy of the reference cycle per gram of active material",
            v,
            None,
            common,
            inputs,
            temp,
        ),
        RowSpec(
            C_RATE,
            c_rate_median,
            "1/h",
            "median of mean |I_discharge| / I_1C per cycle",
            v,
            None,
            common,
            inputs,
            temp,
        ),
        RowSpec(CYCLE_COUNT, float(n), "", "number of cycles", v, None, common, inputs, temp),
    ]
    if len(res.rate_table) > 1:
        table = [
            {
                "c_rate": s.c_rate,
                "first_cycle": s.first_cycle,
                "last_cycle": s.last_cycle,
                "mean_discharge_mAh_per_g": s.mean_discharge_mAh_per_g,
            }
            for s in res.rate_table
        ]
        if res.recovery_ratio is not None:
            specs.append(
                RowSpec(
                    RATE_RECOVERY,
                    100.0 * res.recovery_ratio,
                    "%",
                    "mean capacity of the last step at the first C-rate / first step",
                    v,
                    None,
                    {**common, "rate_table": table},
                    inputs,
                    temp,
                )
            )
        else:
            specs[3].parameters["rate_table"] = table
    return specs


def analyse_cycling(m: Measurement) -> list[RowSpec]:
    data = _read(m, ["time_s", "voltage_V", "current_A"], ["temperature_C"])
    configuration = _configuration(m)
    if configuration == Configuration.FULL:
        return analyse_full_cell(m, data)
    if configuration == Configuration.SYMMETRIC:
        protocol = str((m.parameters or {}).get("protocol", ""))
        if (
            m.technique == Technique.CCD
            or protocol == "ccd"
            or (protocol != "cycling" and _is_stepped_current(data["current_A"]))
        ):
            return analyse_ccd(m, data)
        return analyse_symmetric_cycling(m, data)
    return []


# ------------------------------------------------------------------------------------------------ mechanical, TGA
def analyse_tensile(m: Measurement) -> list[RowSpec]:
    params = m.parameters or {}
    data = _read(m, [], ["strain", "stress_Pa", "extension_m", "force_N"])
    if "strain" in data and "stress_Pa" in data:
        res = mechanical.tensile_properties(data["strain"], data["stress_Pa"])
        basis: dict[str, Any] = {"columns": "strain, stress_Pa"}
    elif (
        "extension_m" in data
        and "force_N" in data
        and params.get("gauge_length_m")
        and params.get("cross_section_m2")
    ):
        res = mechanical.tensile_from_force(
            data["extension_m"],
            data["force_N"],
            float(params["gauge_length_m"]),
            float(params["cross_section_m2"]),
        )
        basis = {
            "columns": "extension_m, force_N",
            "gauge_length_m": params["gauge_length_m"],
            "cross_section_m2": params["cross_section_m2"],
        }
    else:
        raise DerivationError(
            f"{m}: a tensile test needs strain + stress_Pa columns, or extension_m + force_N with "
            "parameters gauge_length_m and cross_section_m2"
        )
    inputs = {**_base_inputs(m), **basis}
    temp = _temperature_C(m)
    return [
        RowSpec(
            TENSILE_STRENGTH,
            res.tensile_strength_Pa / 1e3,
            "kPa",
            res.method,
            res.version,
            None,
            {"strain_at_max_stress": res.strain_at_max_stress},
            inputs,
            temp,
        ),
        RowSpec(
            ELONGATION, 100.0 * res.elongation_at_break, "%", res.method, res.version, None, {}, inputs, temp
        ),
    ]


def analyse_tga(m: Measurement) -> list[RowSpec]:
    params = m.parameters or {}
    data = _read(m, ["temperature_C"], ["mass_g", "mass_mg", "mass_percent"])
    mass_col = next((c for c in ("mass_g", "mass_mg", "mass_percent") if c in data), None)
    if mass_col is None:
        raise DerivationError(f"{m}: a TGA record needs a mass column (mass_g, mass_mg or mass_percent)")
    at_C = float(params.get("residue_temperature_C", 700.0))
    rp = float(params.get("polymer_residue_percent", 0.0))
    res = tga.filler_content(
        np.asarray(data["temperature_C"], float) + ZERO_C_K, data[mass_col], at_C + ZERO_C_K, rp
    )
    membrane = m.membrane or (m.cell.membrane if m.cell else None)
    recipe_wt = None
    if membrane is not None and membrane.filler_fraction is not None:
        recipe_wt = 100.0 * membrane.filler_fraction
    return [
        RowSpec(
            FILLER_TGA,
            res.filler_wt_percent,
            "%",
            res.method,
            res.version,
            None,
            {
                "residue_temperature_C": at_C,
                "residue_percent": res.residue_percent,
                "polymer_residue_percent": rp,
                "recipe_filler_wt_percent": recipe_wt,
                "difference_from_recipe_wt_percent": res.filler_wt_percent - recipe_wt
                if recipe_wt is not None
                else None,
            },
            {**_base_inputs(m), "mass_column": mass_col},
            None,
        )
    ]


# ------------------------------------------------------------------------------------------------ dispatch
def analyse(m: Measurement) -> list[RowSpec]:
    """The property specs of one measurement (pure computation on its data; nothing is written).

    An analysis function refusing the data (ValueError and kin) becomes a DerivationError naming the measurement.
    """
    try:
        return _analyse(m)
    except DerivationError:
        raise
    except (ValueError, ZeroDivisionError, RuntimeError, np.linalg.LinAlgError, KeyError, IndexError) as exc:
        raise DerivationError(f"{m}: the {m.technique} analysis could not use these data: {exc}") from exc


def _audit(actor: Any, reason: str) -> AbstractContextManager[Any]:
    """Attribute the writes to ``actor`` unless a caller (the ingest worker, a task) already set the context."""
    if actor is None or current_context() is not None:
        return nullcontext()
    return acting_as(actor, reason=reason, via="service")


def _analyse(m: Measurement) -> list[RowSpec]:
    t = m.technique
    if t in EIS_TECHNIQUES:
        return analyse_eis(m)
    if t == Technique.LSV:
        return analyse_lsv(m)
    if t in CYCLING_TECHNIQUES or t == Technique.CCD:
        return analyse_cycling(m)
    if t == Technique.TENSILE:
        return analyse_tensile(m)
    if t == Technique.TGA:
        return analyse_tga(m)
    return []  # CA (only within a series), OCV, CV, peak lists: stored as data, nothing derived alone


def _analyse_and_write(m: Measurement) -> list[DerivedProperty]:
    return _write(_subject_for_measurement(m), analyse(m))


def run_for_measurement(measurement_id: int, *, actor: Any = None) -> list[DerivedProperty]:
    """Compute and upsert every derived property the measurement allows, then recompute the series it belongs to.

    Returns the rows written for the measurement itself and for its series. Raises :class:`DerivationError`
    (a DomainError) when the measurement's data cannot be analysed.
    """
    with _audit(actor, "derived properties computed"):
        m = _measurements().get(pk=measurement_id)
        rows = _analyse_and_write(m)
        for series_id in SeriesMember.objects.filter(measurement_id=m.pk).values_list("series_id", flat=True):
            try:
                rows.extend(_run_series(series_id))
            except DerivationError as exc:  # an incomplete series is normal while its files arrive
                logger.info("series %s not computed yet: %s", series_id, exc)
        return rows


# ------------------------------------------------------------------------------------------------ series
def _member_rows(
    members: Sequence[SeriesMember], names: Iterable[str]
) -> dict[int, dict[str, DerivedProperty]]:
    """measurement id -> name -> row, analysing members that have no row yet (one query when all exist)."""
    ids = [sm.measurement_id for sm in members]
    wanted = list(names)

    def load() -> dict[int, dict[str, DerivedProperty]]:
        out: dict[int, dict[str, DerivedProperty]] = {i: {} for i in ids}
        for row in DerivedProperty.objects.filter(
            subject_key__in=[f"measurement:{i}" for i in ids], name__in=wanted
        ):
            assert row.measurement_id is not None
            out[row.measurement_id][row.name] = row
        return out

    rows = load()
    missing = [i for i, by_name in rows.items() if not by_name]
    if missing:
        for m in _measurements().filter(pk__in=missing):
            _analyse_and_write(m)
        rows = load()
    return rows


def _series_subject(series: MeasurementSeries, first: Measurement | None) -> Subject:
    cell = series.cell or (first.cell if first else None)
    membrane = (first.membrane if first else None) or (cell.membrane if cell else None)
    pellet = (first.pellet if first else None) or (cell.pellet if cell else None)
    return Subject(f"series:{series.pk}", series.team_id, None, series, cell, membrane, pellet)


def _run_series(series_id: int) -> list[DerivedProperty]:
    series = MeasurementSeries.objects.select_related(
        "cell__membrane__batch__recipe_version__recipe", "cell__pellet"
    ).get(pk=series_id)
    members = list(
        SeriesMember.objects.filter(series=series)
        .select_related(
            "measurement__cell__membrane",
            "measurement__cell__pellet",
            "measurement__membrane",
            "measurement__pellet",
            "measurement__upload",
        )
        .order_by("order", "id")
    )
    if series.kind == SeriesKind.ARRHENIUS:
        specs, first = analyse_arrhenius_series(series, members)
    elif series.kind == SeriesKind.TRANSFERENCE:
        specs, first = analyse_transference_series(series, members)
    else:
        return []
    return _write(_series_subject(series, first), specs)


def run_for_series(series_id: int, *, actor: Any = None) -> list[DerivedProperty]:
    """(Re)compute the properties of a series (analysing members that were not analysed yet)."""
    with _audit(actor, "series derived properties computed"):
        return _run_series(series_id)


def analyse_arrhenius_series(
    series: MeasurementSeries, members: Sequence[SeriesMember]
) -> tuple[list[RowSpec], Measurement | None]:
    eis_members = [sm for sm in members if sm.measurement.technique in EIS_TECHNIQUES]
    if len(eis_members) < 2:
        raise DerivationError(f"series {series}: an Arrhenius fit needs EIS at two or more temperatures")
    rows = _member_rows(eis_members, [CONDUCTIVITY])
    temps: list[float] = []
    sigmas: list[float] = []
    used: list[dict[str, Any]] = []
    for sm in eis_members:
        row = rows[sm.measurement_id].get(CONDUCTIVITY)
        if row is None or row.temperature is None:
            raise DerivationError(
                f"series {series}: measurement {sm.measurement_id} has no conductivity with a temperature"
            )
        temps.append(row.temperature + ZERO_C_K)
        sigmas.append(row.value * 0.1)  # mS/cm -> S/m
        used.append(
            {
                "measurement_id": sm.measurement_id,
                "derived_property_id": row.pk,
                "temperature_C": row.temperature,
                "sigma_mS_per_cm": row.value,
                "thickness_um": row.inputs.get("thickness_um"),
                "thickness_source": row.inputs.get("thickness_source"),
                "area_cm2": row.inputs.get("area_cm2"),
            }
        )
    if len(set(np.round(temps, 3))) < 2:
        raise DerivationError(f"series {series}: the measurements are all at the same temperature")
    t = np.array(temps)
    s = np.array(sigmas)
    inputs = {
        "measurement_ids": [u["measurement_id"] for u in used],
        "points": used,
        "thickness_sources": sorted({str(u["thickness_source"]) for u in used}),
    }
    specs: list[RowSpec] = []
    fits: dict[str, arrhenius.ArrheniusFit] = {}
    for form, name in (("sigma", ACTIVATION_ENERGY), ("sigmaT", ACTIVATION_ENERGY_SIGMA_T)):
        fit = arrhenius.fit_arrhenius(t, s, form=form)  # type: ignore[arg-type]
        fits[form] = fit
        specs.append(
            RowSpec(
                name,
                fit.ea_eV,
                "eV",
                fit.method,
                fit.version,
                fit.ea_stderr_eV,
                {
                    "form": fit.form,
                    "r_squared": fit.r_squared,
                    "prefactor": fit.prefactor,
                    "prefactor_unit": fit.prefactor_unit,
                    "n_points": fit.n_points,
                    "temperature_range_C": [
                        fit.temperature_range_K[0] - ZERO_C_K,
                        fit.temperature_range_K[1] - ZERO_C_K,
                    ],
                },
                inputs,
                None,
            )
        )
    main = fits["sigma"]
    sigma20 = float(main.sigma_at(T_20C_K)) * 10.0
    in_range = main.temperature_range_K[0] - 0.5 <= T_20C_K <= main.temperature_range_K[1] + 0.5
    specs.append(
        RowSpec(
            CONDUCTIVITY_20C,
            sigma20,
            "mS/cm",
            "sigma(20 °C) from the Arrhenius fit of ln(sigma) vs 1/T",
            main.version,
            None,
            {"form": "sigma", "ea_eV": main.ea_eV, "extrapolated": not in_range, "r_squared": main.r_squared},
            inputs,
            20.0,
        )
    )
    if t.size >= 4:
        try:
            vtf = arrhenius.fit_vtf(t, s)
        except (ValueError, RuntimeError, np.linalg.LinAlgError) as exc:
            logger.info("VTF fit of series %s failed: %s", series.pk, exc)
        else:
            specs.append(
                RowSpec(
                    VTF_PSEUDO_EA,
                    vtf.pseudo_ea_eV,
                    "eV",
                    vtf.method,
                    vtf.version,
                    None,
                    {"A": vtf.a_prefactor, "B_K": vtf.b_K, "T0_K": vtf.t0_K, "r_squared": vtf.r_squared},
                    inputs,
                    None,
                )
            )
    return specs, eis_members[0].measurement


def _by_role(members: Sequence[SeriesMember]) -> tuple[SeriesMember, SeriesMember, SeriesMember] | None:
    roles = {sm.role: sm for sm in members if sm.role}
    if {"eis_before", "ca", "eis_after"} <= roles.keys():
        return roles["eis_before"], roles["ca"], roles["eis_after"]
    ca_pos = [k for k, sm in enumerate(members) if sm.measurement.technique == Technique.CA]
    if len(ca_pos) != 1:
        return None
    k = ca_pos[0]
    before = [sm for sm in members[:k] if sm.measurement.technique in EIS_TECHNIQUES]
    after = [sm for sm in members[k + 1 :] if sm.measurement.technique in EIS_TECHNIQUES]
    if not before or not after:
        return None
    return before[-1], members[k], after[0]


def analyse_transference_series(
    series: MeasurementSeries, members: Sequence[SeriesMember]
) -> tuple[list[RowSpec], Measurement | None]:
    trio = _by_role(members)
    if trio is None:
        raise DerivationError(
            f"series {series}: Bruce-Vincent needs EIS before, chronoamperometry and EIS after "
            "(roles eis_before, ca, eis_after, or that order)"
        )
    before, ca_member, after = trio
    rows = _member_rows([before, after], [INTERFACIAL_RESISTANCE, BULK_RESISTANCE])
    r0_row = rows[before.measurement_id].get(INTERFACIAL_RESISTANCE)
    rss_row = rows[after.measurement_id].get(INTERFACIAL_RESISTANCE)
    rb_row = rows[before.measurement_id].get(BULK_RESISTANCE)
    if r0_row is None or rss_row is None:
        raise DerivationError(
            f"series {series}: the EIS before/after gave no interfacial resistance (is the cell Li|E|Li?)"
        )
    ca_m = ca_member.measurement
    data = _read(ca_m, ["time_s", "current_A"], ["voltage_V"])
    params = ca_m.parameters or {}
    dv = params.get("polarisation_V") or params.get("delta_V")
    if dv is None:
        if "voltage_V" not in data:
            raise DerivationError(f"{ca_m}: the polarisation dV is neither a parameter nor a voltage column")
        dv = float(np.median(np.abs(np.asarray(data["voltage_V"], dtype=float))))
        dv_source = "median |voltage| of the chronoamperogram"
    else:
        dv_source = "measurement parameters"
    dv = float(dv)
    r_total = (rb_row.value + r0_row.value) if rb_row is not None else None
    source = str(params.get("i0_source", "measured"))
    if source not in ("measured", "ohms_law"):
        raise DerivationError(f"{ca_m}: i0_source must be 'measured' or 'ohms_law', got {source!r}")
    if source == "ohms_law" and r_total is None:
        raise DerivationError(f"{ca_m}: I0 from Ohm's law needs the bulk resistance of the EIS before")
    fraction = float(params.get("steady_fraction", 0.1))
    results = {
        s: transference.transference_number(
            data["time_s"],
            data["current_A"],
            dv,
            r0_row.value,
            rss_row.value,
            r_total,
            s,
            fraction,  # type: ignore[arg-type]
        )
        for s in (("measured", "ohms_law") if r_total else ("measured",))
    }
    used = results[source]
    temp = _temperature_C(ca_m, None)
    return [
        RowSpec(
            TRANSFERENCE,
            used.t_plus,
            "",
            f"{used.method}, I0 {'first point' if source == 'measured' else 'from Ohm law'}",
            used.version,
            None,
            {
                "i0_source": source,
                "delta_V": dv,
                "delta_V_source": dv_source,
                "i0_measured_A": used.i0_measured_A,
                "i0_ohms_law_A": used.i0_ohms_law_A,
                "iss_A": used.iss_A,
                "r0_ohm": used.r0_ohm,
                "rss_ohm": used.rss_ohm,
                "steady_fraction": fraction,
                "t_plus_measured_i0": results["measured"].t_plus,
                "t_plus_ohms_law_i0": results["ohms_law"].t_plus if "ohms_law" in results else None,
            },
            {
                "measurement_ids": [before.measurement_id, ca_m.pk, after.measurement_id],
                "eis_before": {
                    "measurement_id": before.measurement_id,
                    "interfacial_resistance_id": r0_row.pk,
                },
                "ca": {"measurement_id": ca_m.pk},
                "eis_after": {
                    "measurement_id": after.measurement_id,
                    "interfacial_resistance_id": rss_row.pk,
                },
                "bulk_resistance_id": rb_row.pk if rb_row is not None else None,
            },
            temp,
        )
    ], before.measurement


# ------------------------------------------------------------------------------------------------ recompute
def _recompute(measurements: QuerySet[Measurement]) -> list[DerivedProperty]:
    """Recompute the measurements first, then each series they belong to once (so that a series fit never mixes
    old and new inputs)."""
    rows: list[DerivedProperty] = []
    ids: list[int] = []
    for m in _measurements().filter(pk__in=measurements.values("pk")).order_by("pk"):
        rows.extend(_analyse_and_write(m))
        ids.append(m.pk)
    series_ids = sorted(
        set(SeriesMember.objects.filter(measurement_id__in=ids).values_list("series_id", flat=True))
    )
    for sid in series_ids:
        try:
            rows.extend(_run_series(sid))
        except DerivationError as exc:
            logger.info("series %s not recomputed: %s", sid, exc)
    return rows


def recompute_for_membrane(membrane_id: int, *, actor: Any = None) -> list[DerivedProperty]:
    """A membrane's thickness changed: recompute the conductivities (and Ea) that depend on it."""
    qs = Measurement.objects.filter(
        Q(membrane_id=membrane_id) | Q(cell__membrane_id=membrane_id), technique__in=EIS_TECHNIQUES
    )
    with _audit(actor, "membrane thickness changed"):
        return _recompute(qs)


def recompute_for_pellet(pellet_id: int, *, actor: Any = None) -> list[DerivedProperty]:
    """A pellet's thickness or diameter changed: recompute its conductivities (and Ea)."""
    qs = Measurement.objects.filter(
        Q(pellet_id=pellet_id) | Q(cell__pellet_id=pellet_id), technique__in=EIS_TECHNIQUES
    )
    with _audit(actor, "pellet geometry changed"):
        return _recompute(qs)


def recompute_for_cell(cell_id: int, *, actor: Any = None) -> list[DerivedProperty]:
    """A cell's area, configuration or electrodes changed: recompute everything measured on it."""
    with _audit(actor, "cell changed"):
        return _recompute(Measurement.objects.filter(cell_id=cell_id))


# ------------------------------------------------------------------------------------------------ series CRUD
SERIES_ROLES = ("eis_before", "ca", "eis_after", "")


@transaction.atomic
def create_series(
    *, team: Any, name: str, kind: str, cell: Cell | None = None, notes: str = "", created_by: Any = None
) -> MeasurementSeries:
    if cell is not None and cell.team_id != team.pk:
        raise DomainError(f"cell {cell} belongs to another team")
    return MeasurementSeries.objects.create(
        team=team, name=name, kind=kind, cell=cell, notes=notes, created_by=created_by
    )


@transaction.atomic
def update_series(*, series: MeasurementSeries, **changes: Any) -> MeasurementSeries:
    series = MeasurementSeries.objects.select_for_update().get(pk=series.pk)
    for key in ("name", "kind", "cell", "notes"):
        if key in changes:
            setattr(series, key, changes[key])
    if series.cell is not None and series.cell.team_id != series.team_id:
        raise DomainError(f"cell {series.cell} belongs to another team")
    series.save()
    return series


@transaction.atomic
def add_series_member(
    *, series: MeasurementSeries, measurement: Measurement, role: str = "", order: int | None = None
) -> SeriesMember:
    """Add a measurement to a series (same team; kind-appropriate technique); re-adding updates role/order."""
    series = MeasurementSeries.objects.select_for_update().get(pk=series.pk)
    if measurement.team_id != series.team_id:
        raise DomainError(f"measurement {measurement.pk} belongs to another team")
    if role not in SERIES_ROLES:
        raise DomainError(f"role must be one of eis_before, ca, eis_after (or empty), got {role!r}")
    if series.kind == SeriesKind.ARRHENIUS and measurement.technique not in EIS_TECHNIQUES:
        raise DomainError(
            f"an Arrhenius series holds EIS measurements; {measurement} is {measurement.technique}"
        )
    if series.kind == SeriesKind.TRANSFERENCE:
        expected = Technique.CA if role == "ca" else None
        if role in ("eis_before", "eis_after") and measurement.technique not in EIS_TECHNIQUES:
            raise DomainError(
                f"role {role} needs an EIS measurement; {measurement} is {measurement.technique}"
            )
        if expected and measurement.technique != expected:
            raise DomainError(f"role ca needs a chronoamperometry; {measurement} is {measurement.technique}")
    if order is None:
        last = series.memberships.order_by("-order").values_list("order", flat=True).first()
        order = 0 if last is None else last + 1
    member, _ = SeriesMember.objects.update_or_create(
        series=series, measurement=measurement, defaults={"role": role, "order": order}
    )
    return member


@transaction.atomic
def remove_series_member(*, series: MeasurementSeries, measurement_id: int) -> None:
    deleted = 0
    for member in SeriesMember.objects.filter(series=series, measurement_id=measurement_id):
        member.delete()
        deleted += 1
    if not deleted:
        raise DomainError(f"measurement {measurement_id} is not in series {series}")


@transaction.atomic
def delete_series(*, series: MeasurementSeries) -> None:
    for member in series.memberships.all():
        member.delete()
    for row in series.derived_properties.all():
        row.delete()
    series.delete()
