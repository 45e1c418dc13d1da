"""Builders shared by the derived-property tests (no tests here): samples, cells and measurements whose Parquet
data come from the synthetic generators of measurements.analysis.synthetic."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pytest

from cells.models import Cell
from formulations.models import (
    Batch,
    Chemical,
    Electrode,
    Membrane,
    Mould,
    Pellet,
    Recipe,
    RecipeVersion,
    StockLot,
)
from measurements import storage
from measurements.analysis import synthetic as syn
from measurements.models import Measurement, MeasurementSeries, SeriesMember, Upload

_counter = iter(range(1, 10_000_000))


def _n() -> int:
    return next(_counter)


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Run Celery tasks in-process for the test, whatever the environment's broker."""
    from lims.celery import app

    old = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = old


def make_membrane(
    team: Any,
    user: Any,
    *,
    recipe_name: str = "LLZTO-PMA",
    filler_fraction: float | None = 0.2,
    thickness_measured_um: float | None = 500.0,
    thickness_from_mass_um: float = 480.0,
    recipe_version: RecipeVersion | None = None,
) -> Membrane:
    n = _n()
    if recipe_version is None:
        recipe, _ = Recipe.objects.get_or_create(team=team, name=recipe_name)
        recipe_version = RecipeVersion.objects.create(
            recipe=recipe, number=n, filler_fraction=filler_fraction
        )
    batch = Batch.objects.create(team=team, code=f"B{n}", recipe_version=recipe_version, operator=user)
    mould = Mould.objects.create(name=f"mould {n}", area=10.0)
    return Membrane.objects.create(
        team=team,
        code=f"M{n}",
        batch=batch,
        mould=mould,
        cast_mass=1.0,
        slurry_density=1.2,
        thickness_from_mass=thickness_from_mass_um,
        thickness_measured=thickness_measured_um,
        filler_fraction=filler_fraction,
    )


def make_pellet(team: Any, *, thickness_mm: float = 0.5, diameter_mm: float = 12.0) -> Pellet:
    n = _n()
    llzto, _ = Chemical.objects.get_or_create(name="LLZTO", defaults={"role": "ceramic_filler"})
    lot = StockLot.objects.create(code=f"L{n}", chemical=llzto)
    return Pellet.objects.create(
        team=team,
        code=f"P{n}",
        lot=lot,
        powder_mass=1.0,
        press_pressure=300.0,
        sinter_temperature=1180.0,
        sinter_dwell=6 * 3600.0,
        final_diameter=diameter_mm,
        final_thickness=thickness_mm,
        final_mass=0.5,
    )


def make_cathode(
    team: Any, *, active_mass_mg: float = 2.0, specific_capacity: float | None = 170.0
) -> Electrode:
    n = _n()
    lfp, _ = Chemical.objects.get_or_create(
        name="LiFePO4", defaults={"role": "cathode_active", "specific_capacity": specific_capacity}
    )
    lot = StockLot.objects.create(code=f"E{n}", chemical=lfp)
    return Electrode.objects.create(
        team=team,
        code=f"C{n}",
        active_lot=lot,
        active_fraction=0.8,
        area=1.13,
        active_mass=active_mass_mg / 1000.0,
    )


def make_cell(
    team: Any,
    user: Any,
    configuration: str,
    *,
    membrane: Membrane | None = None,
    pellet: Pellet | None = None,
    cathode: Electrode | None = None,
    area_cm2: float = 2.0,
) -> Cell:
    if membrane is None and pellet is None:
        membrane = make_membrane(team, user)
    return Cell.objects.create(
        team=team,
        code=f"CELL-{_n()}",
        configuration=configuration,
        membrane=membrane,
        pellet=pellet,
        cathode=cathode,
        active_area=area_cm2,
        operator=user,
    )


def make_measurement(
    team: Any,
    user: Any,
    technique: str,
    columns: Mapping[str, np.ndarray],
    *,
    cell: Cell | None = None,
    membrane: Membrane | None = None,
    pellet: Pellet | None = None,
    temperature_C: float | None = None,
    parameters: dict[str, Any] | None = None,
) -> Measurement:
    sha = secrets.token_hex(32)
    upload = Upload.objects.create(
        team=team,
        sha256=sha,
        raw_file=f"raw/{sha}.mpr",
        original_name=f"{technique.lower()}-{sha[:6]}.mpr",
        size_bytes=1,
        technique=technique,
        cell=cell,
        uploaded_by=user,
        stage="done",
    )
    path = storage.write_columns(storage.parquet_path(sha), columns)
    n_rows = len(next(iter(columns.values())))
    return Measurement.objects.create(
        team=team,
        upload=upload,
        cell=cell,
        membrane=membrane,
        pellet=pellet,
        technique=technique,
        source_format="synthetic",
        temperature=temperature_C,
        row_count=n_rows,
        columns=list(columns),
        parameters=parameters or {},
        data_file=path,
    )


def eis_columns(
    circuit: str, params: Mapping[str, float], noise: float = 0.0, seed: int = 0
) -> dict[str, np.ndarray]:
    s = syn.eis_spectrum(circuit, params, noise=noise, seed=seed)
    return {"freq_Hz": s.freq_Hz, "z_re_ohm": s.z_ohm.real, "z_im_ohm": s.z_ohm.imag}


def time_series_columns(ts: syn.TimeSeries) -> dict[str, np.ndarray]:
    return {"time_s": ts.time_s, "voltage_V": ts.voltage_V, "current_A": ts.current_A, "cycle": ts.cycle}


def bulk_resistance_ohm(sigma_S_per_m: float, thickness_um: float, area_cm2: float) -> float:
    return float(thickness_um * 1e-6 / (sigma_S_per_m * area_cm2 * 1e-4))


def make_arrhenius_series(
    team: Any,
    user: Any,
    cell: Cell,
    *,
    ea_eV: float = 0.331,
    sigma20_S_per_m: float = 0.0266,
    thickness_um: float = 500.0,
    temperatures_C: tuple[float, ...] = (20, 30, 40, 50, 60, 70, 80, 90),
    noise: float = 0.002,
) -> tuple[MeasurementSeries, list[Measurement]]:
    """Blocking-cell EIS at each temperature: R_b = L / (sigma(T) A), R0-CPE1 spectra with |Z|-relative noise."""
    t_k = np.array(temperatures_C, dtype=float) + 273.15
    sig = syn.arrhenius_conductivity(t_k, ea_eV, sigma20_S_per_m, 293.15).sigma_S_per_m
    series = MeasurementSeries.objects.create(
        team=team, name=f"Arrhenius {_n()}", kind="arrhenius", cell=cell
    )
    members = []
    for k, (tc, s) in enumerate(zip(temperatures_C, sig, strict=True)):
        r_b = bulk_resistance_ohm(float(s), thickness_um, cell.active_area)
        cols = eis_columns("R0-CPE1", {"R0": r_b, "CPE1_0": 2e-6, "CPE1_1": 0.85}, noise=noise, seed=k)
        m = make_measurement(team, user, "PEIS", cols, cell=cell, temperature_C=float(tc))
        SeriesMember.objects.create(series=series, measurement=m, order=k)
        members.append(m)
    return series, members


def make_rows(
    team: Any, user: Any, n: int, *, name: str = "ionic_conductivity", temperature_C: float = 20.0
) -> list:
    """n derived properties on n cells with their own membranes (filler 0, 10, 20 wt% in turn)."""
    from measurements.models import DerivedProperty

    rows = []
    for k in range(n):
        membrane = make_membrane(team, user, filler_fraction=0.1 * (k % 3))
        cell = make_cell(team, user, "blocking", membrane=membrane)
        rows.append(
            DerivedProperty.objects.create(
                team=team,
                subject_key=f"test:{cell.pk}:{name}",
                name=name,
                value=0.2 + 0.01 * k,
                unit="mS/cm",
                method="test",
                method_version="test/1",
                cell=cell,
                membrane=membrane,
                temperature=temperature_C,
            )
        )
    return rows
