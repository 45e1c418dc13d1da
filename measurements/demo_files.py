"""Generate the demo's raw instrument files from physical models whose parameters are the paper's values.

SYNTHETIC DATA, clearly labelled: every file carries "SYNTHETIC DEMO DATA" in its header (``.mpt``: an extra
header line; CSV: a comment-free first column name is kept standard, so the label is in the file name and the
upload notes). The models are the ones in ``measurements.analysis.synthetic`` (equivalent circuits for EIS, the
Arrhenius law for sigma(T), a Bruce-Vincent-consistent chronoamperogram, an exponential LSV onset, stepped-current
plating with a short, galvanostatic Li|Li cycling with a short, constant-current full-cell cycling), fed with the
parameters in ``measurements.demo_paper`` and with the geometry (thickness, area, active mass) of the demo's own
cells, so that the LIMS, analysing these files through its real pipeline, should give back the paper's numbers.

Formats: BioLogic EC-Lab ASCII ``.mpt`` (EIS, CA, LSV, GCPL), BioLogic binary ``.mpr`` (the sintered pellet's
Arrhenius spectra, measurements/parsers/synthetic_mpr.py), LAND ``.xlsx`` exports (coin-cell full-cell cycling, as
a LAND cycler would write them), Neware ``.ndax`` archives (the NCM811 full cell, measurements/parsers/
synthetic_ndax.py, in the data.ndc layout NewareNDA decodes) and CSV with a column mapping (tensile).

Run on its own (writes the files of a default geometry into a folder)::

    python -m measurements.demo_files var/demo_files
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from measurements.analysis import synthetic
from measurements.demo_paper import Electrolyte
from measurements.parsers.synthetic_mpr import write_mpr
from measurements.parsers.synthetic_mpt import write_mpt
from measurements.parsers.synthetic_ndax import write_ndax

LABEL = {"Comments": "SYNTHETIC DEMO DATA generated from the paper's values (measurements/demo_files.py)"}
ARRHENIUS_TEMPERATURES_C = (20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0)
#: Geometric capacitance of the electrolyte and double-layer CPE of blocking electrodes (model parameters).
CPE_BLOCKING_Q = 5e-6
CPE_BLOCKING_ALPHA = 0.85
CPE_INTERFACE_Q = 2e-6
CPE_INTERFACE_ALPHA = 0.8


@dataclass(frozen=True)
class DemoFile:
    """One file to upload: where it is, what it is, and how it ties to the others."""

    path: Path
    technique: str
    temperature_C: float | None = None
    series: str = ""  # series name it belongs to ("" none)
    series_kind: str = ""  # arrhenius | transference
    role: str = ""  # eis_before | ca | eis_after
    order: int = 0
    notes: str = ""
    mapping: dict[str, Any] = field(default_factory=dict)


def _eis(
    path: Path,
    circuit: str,
    params: dict[str, float],
    temperature_C: float,
    seed: int,
    file_format: str = "mpt",
) -> Path:
    spec = synthetic.eis_spectrum(circuit, params, np.logspace(6, -1, 71), noise=0.002, seed=seed)
    n = spec.freq_Hz.size
    columns = {
        "time_s": np.arange(n, dtype=float) * 2.0,
        "freq_Hz": spec.freq_Hz,
        "z_re_ohm": spec.z_ohm.real,
        "z_im_ohm": spec.z_ohm.imag,
    }
    columns["temperature_C"] = np.full(n, temperature_C)
    if file_format == "mpr":
        return write_mpr(path.with_suffix(".mpr"), "PEIS", columns, comment=LABEL["Comments"])
    write_mpt(path, "PEIS", columns, extra_header=LABEL)
    return path


def bulk_resistance_ohm(sigma_S_per_m: float, thickness_m: float, area_m2: float) -> float:
    """R_b = L / (sigma A): the resistance that gives ``sigma`` for this geometry."""
    return thickness_m / (sigma_S_per_m * area_m2)


def arrhenius_eis(
    folder: Path, e: Electrolyte, *, thickness_m: float, area_m2: float, prefix: str, file_format: str = "mpt"
) -> list[DemoFile]:
    """Blocking SS|E|SS spectra at 20-90 C: R_b(T) = L / (sigma(T) A) in series with a blocking CPE, as EC-Lab
    ``.mpt`` exports or (``file_format="mpr"``) the binary ``.mpr`` files themselves."""
    temps_K = np.array(ARRHENIUS_TEMPERATURES_C) + 273.15
    sig = synthetic.arrhenius_conductivity(temps_K, e.ea_eV, e.sigma_20C_mS_per_cm * 0.1).sigma_S_per_m
    out = []
    for k, (t_C, s) in enumerate(zip(ARRHENIUS_TEMPERATURES_C, sig, strict=True)):
        r_b = bulk_resistance_ohm(float(s), thickness_m, area_m2)
        path = _eis(
            folder / f"{prefix}_PEIS_{int(t_C)}C.mpt",
            "R0-CPE1",
            {"R0": r_b, "CPE1_0": CPE_BLOCKING_Q, "CPE1_1": CPE_BLOCKING_ALPHA},
            t_C,
            seed=k,
            file_format=file_format,
        )
        out.append(
            DemoFile(
                path,
                "PEIS",
                t_C,
                f"{prefix} Arrhenius 20-90 C",
                "arrhenius",
                f"T{int(t_C)}",
                k,
                f"synthetic blocking-cell EIS at {t_C:g} C",
            )
        )
    return out


def transference(
    folder: Path, e: Electrolyte, *, thickness_m: float, area_m2: float, prefix: str, r_interface_ohm: float
) -> list[DemoFile]:
    """EIS - CA (10 mV) - EIS on Li|E|Li, self-consistent with Bruce-Vincent-Evans for the paper's t+."""
    r_b = bulk_resistance_ohm(e.sigma_20C_mS_per_cm * 0.1, thickness_m, area_m2)
    r0, rss = r_interface_ohm, r_interface_ohm * 1.08
    bve = synthetic.chronoamperometry_bve(
        0.010, r0, rss, e.t_plus, r_bulk_ohm=r_b, duration_s=36_000.0, n_points=1801, noise=0.0005, seed=3
    )
    series = f"{prefix} transference (BVE)"
    files = []
    for k, (role, r_int) in enumerate((("eis_before", r0), ("eis_after", rss))):
        path = _eis(
            folder / f"{prefix}_{role}.mpt",
            "R0-p(R1,CPE1)",
            {"R0": r_b, "R1": r_int, "CPE1_0": CPE_INTERFACE_Q, "CPE1_1": CPE_INTERFACE_ALPHA},
            20.0,
            10 + k,
        )
        files.append(
            DemoFile(
                path,
                "PEIS",
                20.0,
                series,
                "transference",
                role,
                0 if k == 0 else 2,
                f"synthetic EIS {'before' if k == 0 else 'after'} polarisation",
            )
        )
    n = bve.time_s.size
    ca = folder / f"{prefix}_CA_10mV.mpt"
    write_mpt(
        ca,
        "CA",
        {
            "time_s": bve.time_s,
            "voltage_V": np.full(n, 0.010),
            "current_A": bve.current_A,
            "temperature_C": np.full(n, 20.0),
        },
        extra_header=LABEL,
    )
    files.insert(1, DemoFile(ca, "CA", 20.0, series, "transference", "ca", 1, "synthetic 10 mV polarisation"))
    return files


def lsv(folder: Path, e: Electrolyte, *, area_m2: float, prefix: str) -> DemoFile:
    """Li|E|SS anodic sweep, 1 mV/s from 3.0 V, exponential onset at the paper's window, ohmically limited."""
    # the oxidation current is limited by a series area-specific resistance (500 ohm cm2, the electrolyte and its
    # interfaces), so it rises to ~1-2 mA/cm2 at 5.5 V instead of growing exponentially without bound
    data = synthetic.lsv(
        e.window_V,
        area_m2=area_m2,
        start_V=3.0,
        end_V=5.5,
        step_V=0.002,
        asr_ohm_m2=0.05,
        noise_A_per_m2=0.002,
        seed=4,
    )
    t = (data.potential_V - 3.0) / 0.001
    path = folder / f"{prefix}_LSV.mpt"
    write_mpt(
        path,
        "LSV",
        {"time_s": t, "voltage_V": data.potential_V, "current_A": data.current_A},
        extra_header=LABEL,
    )
    return DemoFile(path, "LSV", 20.0, notes="synthetic LSV 1 mV/s")


def ccd(folder: Path, e: Electrolyte, *, area_m2: float, prefix: str) -> DemoFile:
    """Stepped-current plating/stripping, 0.05 mA/cm2 steps of 1 h; short in the first step above the CCD."""
    steps_mA_cm2 = np.round(np.arange(0.05, 1.5, 0.05), 3)
    short = int(np.argmax(steps_mA_cm2 > e.ccd_mA_per_cm2 + 1e-9))
    data = synthetic.stepped_ccd(
        list(steps_mA_cm2 * 10.0),
        area_m2,
        asr_ohm_m2=e.sym_overpotential_mV / 1000.0,  # V at 1 A/m2 (0.1 mA/cm2): the Li|Li overpotential
        short_in_step=short,
        seed=5,
    )
    path = folder / f"{prefix}_CCD.mpt"
    write_mpt(
        path,
        "GCPL",
        {"time_s": data.time_s, "voltage_V": data.voltage_V, "current_A": data.current_A},
        extra_header=LABEL,
    )
    # declared as plain cycling: the analysis recognises the stepped current itself
    return DemoFile(path, "GCPL", 20.0, notes="synthetic stepped-current (CCD) test, 0.05 mA/cm2 per hour")


def symmetric_cycling(
    folder: Path,
    e: Electrolyte,
    *,
    area_m2: float,
    prefix: str,
    j_mA_per_cm2: float = 0.1,
    overpotential_mV: float | None = None,
    hours: float | None = None,
    short_at_h: float | None = None,
) -> DemoFile:
    """Li|E|Li at j (default 0.1 mA/cm2 = 1 A/m2), 1 h half cycles (j x 1 h per cm2), overpotential and short
    from the paper (the electrolyte's 0.1 mA/cm2 values unless given)."""
    eta_mV = e.sym_overpotential_mV if overpotential_mV is None else overpotential_mV
    data = synthetic.symmetric_cycling(
        j_mA_per_cm2 * 10.0,
        area_m2,
        eta_mV / 1000.0,
        e.sym_hours if hours is None else hours,
        points_per_half_cycle=8,
        short_at_h=e.sym_short_h if hours is None else short_at_h,
        noise_V=0.002,
        seed=6,
    )
    path = folder / f"{prefix}_GCPL_{j_mA_per_cm2:g}mAcm2.mpt"
    write_mpt(
        path,
        "GCPL",
        {"time_s": data.time_s, "voltage_V": data.voltage_V, "current_A": data.current_A},
        extra_header=LABEL,
    )
    return DemoFile(
        path, "GCPL", 20.0, notes=f"synthetic Li|Li cycling {j_mA_per_cm2:g} mA/cm2, {j_mA_per_cm2:g} mAh/cm2"
    )


def interfacial_eis(
    folder: Path, e: Electrolyte, *, thickness_m: float, area_m2: float, prefix: str
) -> list[DemoFile]:
    """Li|E|Li spectra taken during cycling, after each of ``e.interfacial_cycles``: R0 the bulk, R1||CPE1 the
    interface with the paper's interfacial resistance after that many cycles."""
    r_b = bulk_resistance_ohm(e.sigma_20C_mS_per_cm * 0.1, thickness_m, area_m2)
    out = []
    for k, (n, r_int) in enumerate(zip(e.interfacial_cycles, e.interfacial_ohm, strict=True)):
        path = _eis(
            folder / f"{prefix}_PEIS_after_{n}_cycles.mpt",
            "R0-p(R1,CPE1)",
            {"R0": r_b, "R1": r_int, "CPE1_0": CPE_INTERFACE_Q, "CPE1_1": CPE_INTERFACE_ALPHA},
            20.0,
            seed=20 + k,
        )
        out.append(DemoFile(path, "PEIS", 20.0, notes=f"synthetic EIS of the Li|Li cell after {n} cycles"))
    return out


def _activation_then_fade(
    first: float, best: float, cycles: int, retention: float, best_at: int = 10
) -> np.ndarray:
    """Discharge capacity per cycle: rises from ``first`` to ``best`` over ``best_at`` cycles (activation), then
    fades linearly so that the last cycle holds ``retention`` x best."""
    n = np.arange(1, cycles + 1, dtype=float)
    rise = first + (best - first) * np.clip((n - 1) / (best_at - 1), 0, 1)
    fade = best * (1 - (1 - retention) * np.clip((n - best_at) / (cycles - best_at), 0, 1))
    return np.where(n <= best_at, rise, fade)


def full_cell(
    folder: Path,
    name: str,
    *,
    capacities_mAh_g: Sequence[float],
    c_rates: Sequence[float] | float,
    active_mass_g: float,
    specific_capacity: float,
    plateau_V: float,
    notes: str,
    ce_first: float = 0.97,
    ce: float = 0.9989,
    points: int = 16,
    file_format: str = "mpt",
) -> DemoFile:
    n = len(capacities_mAh_g)
    ces = np.full(n, ce)
    ces[0] = ce_first
    data = synthetic.full_cell_cycling(
        capacities_mAh_g,
        active_mass_g / 1000.0,
        c_rates,
        specific_capacity,
        coulombic_efficiency=ces,
        points_per_half_cycle=points,
        plateau_V=plateau_V,
        seed=7,
    )
    if file_format == "land-xlsx":
        path = folder / f"{name}.xlsx"
        write_land_xlsx(path, data)
        return DemoFile(path, "CYCLING", 20.0, notes=notes)
    if file_format == "ndax":
        path = folder / f"{name}.ndax"
        write_ndax(
            path,
            {"time_s": data.time_s, "voltage_V": data.voltage_V, "current_A": data.current_A},
            comment=LABEL["Comments"],
        )
        return DemoFile(path, "CYCLING", 20.0, notes=notes)
    path = folder / f"{name}.mpt"
    write_mpt(
        path,
        "GCPL",
        {
            "time_s": data.time_s,
            "voltage_V": data.voltage_V,
            "current_A": data.current_A,
            "cycle": data.cycle,
        },
        extra_header=LABEL,
    )
    return DemoFile(path, "GCPL", 20.0, notes=notes)


def write_land_xlsx(path: Path, data: synthetic.TimeSeries) -> None:
    """A LAND (LANDdt) export in its English layout (measurements/parsers/exports.py, land-xlsx): a sheet
    naming the data as synthetic, then ``Record`` with TestTime/Sec, StepTime/Sec, Cycle-Index, Step-Index,
    Voltage/V, Current/mA and Capacity/mAh (charge passed since the step began)."""
    import openpyxl

    t = np.asarray(data.time_s, dtype=float)
    i_mA = np.asarray(data.current_A, dtype=float) * 1e3
    step = np.concatenate([[1], 1 + np.cumsum(np.sign(i_mA[1:]) != np.sign(i_mA[:-1]))]).astype(int)
    starts = np.concatenate([[0], np.nonzero(np.diff(step))[0] + 1])
    step_t0 = np.repeat(t[starts], np.diff(np.concatenate([starts, [t.size]])))
    dt = np.diff(t, prepend=t[0])
    dq = np.abs(i_mA) * dt / 3600.0
    dq[starts] = 0.0
    q = np.cumsum(dq)
    q -= np.repeat(q[starts], np.diff(np.concatenate([starts, [t.size]])))
    wb = openpyxl.Workbook(write_only=True)
    info = wb.create_sheet("Info")
    info.append(["Comments", LABEL["Comments"]])
    rec = wb.create_sheet("Record")
    rec.append(
        [
            "Record",
            "TestTime/Sec",
            "StepTime/Sec",
            "Cycle-Index",
            "Step-Index",
            "Voltage/V",
            "Current/mA",
            "Capacity/mAh",
        ]
    )
    for k in range(t.size):
        rec.append(
            [
                k + 1,
                round(float(t[k]), 3),
                round(float(t[k] - step_t0[k]), 3),
                int(data.cycle[k]),
                int(step[k]),
                round(float(data.voltage_V[k]), 6),
                float(i_mA[k]),
                round(float(q[k]), 9),
            ]
        )
    wb.save(path)
    _freeze_zip(path)


def _freeze_zip(path: Path) -> None:
    """Make a saved workbook byte-for-byte reproducible: openpyxl stamps the save time into docProps/core.xml
    and every zip member, so the same data would be a new upload (a new SHA-256) on every demo run."""
    import re
    import zipfile

    fixed = b"2024-01-01T00:00:00Z"
    with zipfile.ZipFile(path) as zin:
        members = [(info.filename, zin.read(info.filename)) for info in zin.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for name, data in members:
            if name == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", rb"\g<1>" + fixed + rb"\2", data
                )
            frozen = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            frozen.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(frozen, data)


def tensile_csv(folder: Path, name: str, strength_kPa: float, elongation: float = 0.85) -> DemoFile:
    """Stress-strain curve: stress rises as a saturating curve to the strength at break (strain ``elongation``)."""
    strain = np.linspace(0.0, elongation, 400)
    stress_kPa = strength_kPa * (1 - np.exp(-strain / 0.25)) / (1 - np.exp(-elongation / 0.25))
    path = folder / f"{name}.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["strain (%)", "stress (kPa)"])
        w.writerows(zip(np.round(strain * 100, 5), np.round(stress_kPa, 5), strict=True))
    mapping = {
        "columns": {"strain": ["strain (%)", "%"], "stress_Pa": ["stress (kPa)", "kPa"]},
        "technique": "TENSILE",
    }
    return DemoFile(path, "TENSILE", 20.0, notes="synthetic tensile test", mapping=mapping)


def main(argv: list[str]) -> None:  # pragma: no cover - manual use
    from measurements.demo_paper import ELECTROLYTES

    folder = Path(argv[1] if len(argv) > 1 else "var/demo_files")
    folder.mkdir(parents=True, exist_ok=True)
    for key, e in ELECTROLYTES.items():
        arrhenius_eis(folder, e, thickness_m=500e-6, area_m2=2.0e-4, prefix=key)
    print(f"wrote demo files to {folder}")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv)
