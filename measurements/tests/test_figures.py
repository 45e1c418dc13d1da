"""The annotated plots of the measurement page: what the analysis found is marked where the data show it.

Every figure is read through the API endpoint the page draws (``/api/v1/measurements/<id>/figures/<kind>.json``)
from synthetic data whose answer is known, so a mark at the wrong place fails.
"""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pytest

from cells.models import Configuration
from measurements.analysis import synthetic as syn
from measurements.services import derive
from measurements.services.derive import run_for_measurement
from measurements.tests.test_derived_support import (
    eis_columns,
    make_cathode,
    make_cell,
    make_measurement,
    make_membrane,
    time_series_columns,
)

pytestmark = pytest.mark.django_db


def _figure(client, m, kind, **params):  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/measurements/{m.pk}/figures/{kind}.json", params)
    assert response.status_code == 200, response.content[:500]
    return response.json()


def _trace(fig, prefix):  # type: ignore[no-untyped-def]
    return next(t for t in fig["data"] if t["name"].startswith(prefix))


def test_nyquist_and_bode_overlay_the_fitted_circuit_when_asked(api, team, researcher):
    """R0 = 94 ohm + a 90 ohm bulk arc: the fitted curve lies on the points; the fitted values are in the subtitle."""
    cell = make_cell(team, researcher, Configuration.BLOCKING)
    cols = eis_columns(
        "R0-p(R1,CPE1)-CPE2",
        {"R0": 94.0, "R1": 90.0, "CPE1_0": 1e-7, "CPE1_1": 0.9, "CPE2_0": 5e-6, "CPE2_1": 0.85},
    )
    m = make_measurement(team, researcher, "PEIS", cols, cell=cell, temperature_C=20.0)
    run_for_measurement(m.pk)
    client = api(researcher)
    raw = _figure(client, m, "nyquist")
    assert len(raw["data"]) == 1  # without ?fit=1 the plot is the data alone
    fig = _figure(client, m, "nyquist", fit="1")
    fit, measured = _trace(fig, "fit R0-p(R1,CPE1)-CPE2"), _trace(fig, "measured")
    assert min(fit["x"]) == pytest.approx(min(measured["x"]), rel=0.005)  # the curve lies on the data
    assert re.search(r"R0 = 9[34](\.\d+)? Ω, R1 = (89|90)(\.\d+)? Ω", fig["layout"]["title"]["text"])
    bode = _figure(client, m, "bode", fit="1")
    modulus, data = _trace(bode, "|Z| fit"), _trace(bode, "|Z|")
    assert modulus["y"][0] == pytest.approx(data["y"][0], rel=0.01)  # both start at 1 MHz
    assert _trace(bode, "−phase fit")["yaxis"] == "y2"
    rows = list(
        csv.reader(
            io.StringIO(client.get(f"/api/v1/measurements/{m.pk}/figures/nyquist.csv?fit=1").content.decode())
        )
    )
    assert rows[0] == ["trace", "x", "y"] and any(r[0].startswith("fit ") for r in rows[1:])


def test_a_chronoamperogram_marks_i0_and_the_steady_state_current_used_by_bruce_vincent(
    api, team, researcher
):
    """dV = 10 mV, R0 = 472 ohm, Rss = 510 ohm, t+ = 0.632: I0 is the first point, Iss the mean of the last 10 %."""
    cell = make_cell(team, researcher, Configuration.SYMMETRIC)
    before = make_measurement(
        team, researcher, "PEIS",
        eis_columns("R0-p(R1,CPE1)", {"R0": 94.0, "R1": 472.0, "CPE1_0": 1e-6, "CPE1_1": 0.9}), cell=cell,
    )  # fmt: skip
    bve = syn.chronoamperometry_bve(0.010, 472.0, 510.0, 0.632, r_bulk_ohm=94.0, noise=0.0, seed=4)
    ca = make_measurement(
        team, researcher, "CA",
        {"time_s": bve.time_s, "current_A": bve.current_A, "voltage_V": np.full(bve.time_s.size, 0.010)},
        cell=cell,
    )  # fmt: skip
    after = make_measurement(
        team, researcher, "PEIS",
        eis_columns("R0-p(R1,CPE1)", {"R0": 94.0, "R1": 510.0, "CPE1_0": 1e-6, "CPE1_1": 0.9}), cell=cell,
    )  # fmt: skip
    series = derive.create_series(team=team, name="BVE", kind="transference", cell=cell)
    for role, m in (("eis_before", before), ("ca", ca), ("eis_after", after)):
        derive.add_series_member(series=series, measurement=m, role=role)
    for m in (before, ca, after):
        run_for_measurement(m.pk)
    t_plus = derive.DerivedProperty.objects.get(series=series, name=derive.TRANSFERENCE)
    fig = _figure(api(researcher), ca, "chronoamperometry")
    i0 = _trace(fig, "I₀")
    iss = _trace(fig, "I_ss")
    assert i0["y"][0] == pytest.approx(t_plus.parameters["i0_measured_A"] * 1e6)
    assert iss["y"] == pytest.approx([t_plus.parameters["iss_A"] * 1e6] * 2)
    assert i0["y"][0] == pytest.approx(float(bve.current_A[0]) * 1e6)
    assert f"t+ = {t_plus.value:.3g}" in fig["layout"]["title"]["text"]
    assert fig["layout"]["shapes"][0]["type"] == "rect"  # the steady-state window


def test_a_linear_sweep_marks_the_onset_of_the_stability_window(api, team, researcher):
    membrane = make_membrane(team, researcher)
    cell = make_cell(team, researcher, Configuration.LI_SS, membrane=membrane)
    sweep = syn.lsv(4.76, area_m2=2e-4, asr_ohm_m2=0.05, noise_A_per_m2=0.002, seed=1)
    m = make_measurement(
        team, researcher, "LSV", {"voltage_V": sweep.potential_V, "current_A": sweep.current_A}, cell=cell
    )
    run_for_measurement(m.pk)
    onset = derive.DerivedProperty.objects.get(measurement=m, name=derive.WINDOW)
    fig = _figure(api(researcher), m, "lsv")
    line = fig["layout"]["shapes"][0]
    assert line["x0"] == pytest.approx(onset.value) and onset.value == pytest.approx(4.76, rel=0.02)
    assert fig["layout"]["yaxis"]["type"] == "log" and fig["layout"]["yaxis"]["title"]["text"].startswith(
        "|j|"
    )
    threshold = _trace(fig, "threshold")
    assert threshold["y"] == [0.01, 0.01]  # mA/cm2


def test_the_voltage_plot_of_a_symmetric_cell_marks_its_hard_short(api, team, researcher):
    cell = make_cell(team, researcher, Configuration.SYMMETRIC)
    ts = syn.symmetric_cycling(1.0, 2e-4, 0.68, hours=200, short_at_h=150.0, points_per_half_cycle=20)
    m = make_measurement(team, researcher, "GCPL", time_series_columns(ts), cell=cell)
    run_for_measurement(m.pk)
    fig = _figure(api(researcher), m, "voltage-time")
    assert [t["type"] for t in fig["data"]] == ["scatter", "scatter"]  # SVG, drawn without WebGL
    short = fig["layout"]["shapes"][0]
    assert short["x0"] == pytest.approx(150.0, rel=0.01)  # hours, on the time axis
    assert "hard short at 15" in fig["layout"]["annotations"][0]["text"]


def test_a_ccd_record_marks_the_failing_step(api, team, researcher):
    cell = make_cell(team, researcher, Configuration.SYMMETRIC)
    data = syn.stepped_ccd([1.0 * k for k in range(1, 11)], 2e-4, 0.01, short_in_step=8)
    m = make_measurement(team, researcher, "GCPL", time_series_columns(data), cell=cell)
    run_for_measurement(m.pk)
    row = derive.DerivedProperty.objects.get(measurement=m, name=derive.CCD)
    fig = _figure(api(researcher), m, "voltage-time")
    assert fig["layout"]["shapes"][0]["x0"] == pytest.approx(row.parameters["failing_step"]["failure_time_h"])
    assert "CCD = 0.8 mA/cm²" in fig["layout"]["annotations"][0]["text"]


def test_a_rate_test_has_its_capability_bars_on_the_measurement_page(client, api, team, researcher):
    """0.1/0.2/0.5/1/2 C then 0.1 C again, 5 cycles each: one bar per step, in test order."""
    cell = make_cell(team, researcher, Configuration.FULL, cathode=make_cathode(team))
    caps = [143.79, 136.29, 125.38, 112.89, 101.90, 140.39]
    rates = [0.1, 0.2, 0.5, 1.0, 2.0, 0.1]
    ts = syn.full_cell_cycling(
        np.repeat(caps, 5).tolist(), 2e-6, np.repeat(rates, 5).tolist(), 170.0, points_per_half_cycle=20
    )
    m = make_measurement(team, researcher, "CYCLING", time_series_columns(ts), cell=cell)
    run_for_measurement(m.pk)
    fig = _figure(api(researcher), m, "rate-capability")
    bars = fig["data"][0]
    assert bars["type"] == "bar" and len(bars["y"]) == 6
    assert bars["y"][3] == pytest.approx(112.89, rel=0.01)
    assert bars["x"][0].startswith("C/10") and bars["x"][3].startswith("1C") and bars["x"][4].startswith("2C")
    client.force_login(researcher)
    html = client.get(f"/measurements/{m.pk}/").content.decode()
    assert f'data-figure-url="/api/v1/measurements/{m.pk}/figures/rate-capability.json"' in html
    assert "Rate capability" in html and 'data-property="capacity_retention"' in html


def test_the_measurement_page_lists_its_derived_properties_and_asks_for_the_fit_overlay(
    client, team, researcher
):
    cell = make_cell(team, researcher, Configuration.BLOCKING)
    m = make_measurement(
        team,
        researcher,
        "PEIS",
        eis_columns("R0-CPE1", {"R0": 100.0, "CPE1_0": 2e-6, "CPE1_1": 0.85}),
        cell=cell,
    )
    run_for_measurement(m.pk)
    client.force_login(researcher)
    html = client.get(f"/measurements/{m.pk}/").content.decode()
    assert 'data-property="ionic_conductivity"' in html and "Nyquist plot with the fitted circuit" in html
    assert f"/api/v1/measurements/{m.pk}/figures/nyquist.json?fit=1" in html
    assert f"/api/v1/measurements/{m.pk}/figures/bode.csv?fit=1" in html


def test_the_cell_page_and_the_dashboard_show_the_latest_result(client, team, researcher):
    """sigma = 500 um / (100 ohm x 2 cm2) = 0.25 mS/cm, on the cell page and, on test, on the dashboard."""
    cell = make_cell(team, researcher, Configuration.BLOCKING)
    m = make_measurement(
        team,
        researcher,
        "PEIS",
        eis_columns("R0-CPE1", {"R0": 100.0, "CPE1_0": 2e-6, "CPE1_1": 0.85}),
        cell=cell,
    )
    run_for_measurement(m.pk)
    cell.state = "on_test"
    cell.save()
    client.force_login(researcher)
    page = client.get(f"/cells/{cell.pk}/").content.decode()
    assert 'data-property="ionic_conductivity"' in page and f"/measurements/{m.pk}/" in page
    home = client.get("/").content.decode()
    assert "Latest result" in home and "ionic conductivity 0.25 mS/cm" in home
