"""The derived-property pipeline end to end: synthetic raw data (generated from known parameters) -> Parquet ->
run_for_measurement / series -> DerivedProperty rows. Recovering the parameters is the test of the pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from cells.models import Configuration
from lims.audit import acting_as
from lims.errors import DomainError
from lims.units import ureg
from measurements.analysis import synthetic as syn
from measurements.models import DerivedProperty, SeriesMember
from measurements.services import derive
from measurements.services.derive import run_for_measurement, run_for_series
from measurements.tests.test_derived_support import (  # noqa: F401  (fixture)
    eager_celery,
    eis_columns,
    make_arrhenius_series,
    make_cathode,
    make_cell,
    make_measurement,
    make_membrane,
    make_pellet,
    time_series_columns,
)

pytestmark = pytest.mark.django_db


def _value(subject_key: str, name: str) -> DerivedProperty:
    return DerivedProperty.objects.get(subject_key=subject_key, name=name)


# ------------------------------------------------------------------------------------------------ the paper
def test_the_papers_llzto_pma_numbers_are_rebuilt_from_raw_data_through_the_pipeline(team, researcher):
    """LLZTO-PMA (Li et al., Nano-Micro Lett. 2026): sigma 0.266 mS/cm at 20 °C, Ea 0.331 eV, t+ 0.632,
    CCD 0.8 mA/cm2, window 4.76 V, 96.79 % retention after 610 cycles; each recovered within 2 %.

    Hand arithmetic of the inputs: 500 um on 2.0 cm2 with sigma = 0.0266 S/m -> R_b = 5e-4 / (0.0266 x 2e-4)
    = 94.0 ohm at 20 °C; t+ = 0.632 with dV = 10 mV, R_0 = 472 ohm, R_ss = 510 ohm, R_b = 94 ohm;
    retention = 133.73 / 138.16 = 96.79 %.
    """
    membrane = make_membrane(team, researcher, thickness_measured_um=500.0)
    blocking = make_cell(team, researcher, Configuration.BLOCKING, membrane=membrane)
    series, members = make_arrhenius_series(team, researcher, blocking)
    for m in members:
        run_for_measurement(m.pk)
    sigma_20_direct = _value(f"measurement:{members[0].pk}", derive.CONDUCTIVITY)
    assert sigma_20_direct.value == pytest.approx(0.266, rel=0.02)
    assert sigma_20_direct.temperature == pytest.approx(20.0)
    ea = _value(f"series:{series.pk}", derive.ACTIVATION_ENERGY)
    assert ea.value == pytest.approx(0.331, rel=0.02)
    assert ea.unit == "eV"
    assert ea.uncertainty is not None and ea.uncertainty < 0.01
    assert ea.parameters["r_squared"] > 0.99
    assert _value(f"series:{series.pk}", derive.CONDUCTIVITY_20C).value == pytest.approx(0.266, rel=0.02)

    # Bruce-Vincent on a Li|E|Li cell: EIS before, CA, EIS after
    sym = make_cell(team, researcher, Configuration.SYMMETRIC, membrane=membrane)
    before = make_measurement(
        team, researcher, "PEIS",
        eis_columns("R0-p(R1,CPE1)", {"R0": 94.0, "R1": 472.0, "CPE1_0": 1e-6, "CPE1_1": 0.9}, noise=0.001, seed=1),
        cell=sym, temperature_C=20.0,
    )  # fmt: skip
    bve = syn.chronoamperometry_bve(0.010, 472.0, 510.0, 0.632, r_bulk_ohm=94.0, noise=0.002, seed=4)
    ca = make_measurement(
        team, researcher, "CA",
        {"time_s": bve.time_s, "current_A": bve.current_A, "voltage_V": np.full(bve.time_s.size, 0.010)},
        cell=sym, temperature_C=20.0,
    )  # fmt: skip
    after = make_measurement(
        team, researcher, "PEIS",
        eis_columns("R0-p(R1,CPE1)", {"R0": 94.0, "R1": 510.0, "CPE1_0": 1e-6, "CPE1_1": 0.9}, noise=0.001, seed=2),
        cell=sym, temperature_C=20.0,
    )  # fmt: skip
    t_series = derive.create_series(team=team, name="BVE", kind="transference", cell=sym)
    for role, m in (("eis_before", before), ("ca", ca), ("eis_after", after)):
        derive.add_series_member(series=t_series, measurement=m, role=role)
    for m in (before, ca, after):  # the order files arrive in does not matter
        run_for_measurement(m.pk)
    t_plus = _value(f"series:{t_series.pk}", derive.TRANSFERENCE)
    assert t_plus.value == pytest.approx(0.632, rel=0.02)
    assert t_plus.parameters["i0_source"] == "measured"
    assert t_plus.parameters["t_plus_ohms_law_i0"] == pytest.approx(0.632, rel=0.02)
    assert _value(f"measurement:{before.pk}", derive.INTERFACIAL_RESISTANCE).value == pytest.approx(
        472.0, rel=0.01
    )

    # critical current density: 0.1 ... 1.0 mA/cm2 steps, short during the 0.9 mA/cm2 step
    ccd_data = syn.stepped_ccd([1.0 * k for k in range(1, 11)], 2e-4, 0.01, short_in_step=8)
    ccd_m = make_measurement(team, researcher, "GCPL", time_series_columns(ccd_data), cell=sym)
    run_for_measurement(ccd_m.pk)
    ccd_row = _value(f"measurement:{ccd_m.pk}", derive.CCD)
    assert ccd_row.value == pytest.approx(0.8, rel=0.02)
    assert ccd_row.parameters["failing_step"]["current_density_mA_per_cm2"] == pytest.approx(0.9)
    assert ccd_row.parameters["failure_mode"] == "short"

    # stability window by LSV on Li|E|SS
    li_ss = make_cell(team, researcher, Configuration.LI_SS, membrane=membrane)
    sweep = syn.lsv(4.76, area_m2=2e-4, asr_ohm_m2=0.05, noise_A_per_m2=0.002, seed=1)
    lsv_m = make_measurement(
        team, researcher, "LSV", {"voltage_V": sweep.potential_V, "current_A": sweep.current_A}, cell=li_ss
    )
    run_for_measurement(lsv_m.pk)
    assert _value(f"measurement:{lsv_m.pk}", derive.WINDOW).value == pytest.approx(4.76, rel=0.02)
    assert DerivedProperty.objects.filter(
        subject_key=f"measurement:{lsv_m.pk}", name=derive.WINDOW_TANGENT
    ).exists()

    # Li|E|LFP at 0.2 C: 134.13 first, 138.16 after activation, 133.73 at cycle 610, CE 99.89 %
    full = make_cell(team, researcher, Configuration.FULL, membrane=membrane, cathode=make_cathode(team))
    q = np.concatenate([np.linspace(134.13, 138.16, 5), np.linspace(138.16, 133.73, 606)[1:]])
    cyc = syn.full_cell_cycling(
        q.tolist(), 2e-6, 0.2, 170.0, coulombic_efficiency=0.9989, points_per_half_cycle=20
    )
    full_m = make_measurement(team, researcher, "GCPL", time_series_columns(cyc), cell=full)
    run_for_measurement(full_m.pk)
    retention = _value(f"measurement:{full_m.pk}", derive.RETENTION)
    assert retention.value == pytest.approx(96.79, rel=0.02)
    assert retention.parameters["cycle"] == 610
    assert retention.parameters["reference_cycle"] == 5
    assert _value(f"measurement:{full_m.pk}", derive.DISCHARGE_REFERENCE).value == pytest.approx(
        138.16, rel=0.02
    )
    assert _value(f"measurement:{full_m.pk}", derive.CE_MEAN_EX_FIRST).value == pytest.approx(
        99.89, rel=0.001
    )
    assert _value(f"measurement:{full_m.pk}", derive.C_RATE).value == pytest.approx(0.2, rel=0.02)
    assert retention.inputs["active_mass_mg"] == pytest.approx(2.0)
    assert retention.inputs["specific_capacity_1C_mAh_per_g"] == pytest.approx(170.0)


# ------------------------------------------------------------------------------------------------ idempotency
def test_running_the_analysis_twice_leaves_the_same_rows(team, researcher):
    cell = make_cell(team, researcher, Configuration.BLOCKING)
    series, members = make_arrhenius_series(team, researcher, cell, temperatures_C=(20, 40, 60, 80))
    for m in members:
        run_for_measurement(m.pk)
    first = {(r.subject_key, r.name, r.method_version): r.pk for r in DerivedProperty.objects.all()}
    for m in members:
        run_for_measurement(m.pk)
    run_for_series(series.pk)
    again = {(r.subject_key, r.name, r.method_version): r.pk for r in DerivedProperty.objects.all()}
    assert again == first
    assert DerivedProperty.objects.filter(name=derive.ACTIVATION_ENERGY).count() == 1


def test_every_stored_unit_is_understood_by_the_unit_registry(team, researcher):
    cell = make_cell(team, researcher, Configuration.BLOCKING)
    m = make_measurement(
        team,
        researcher,
        "PEIS",
        eis_columns("R0-CPE1", {"R0": 94.0, "CPE1_0": 2e-6, "CPE1_1": 0.85}),
        cell=cell,
    )
    run_for_measurement(m.pk)
    for unit in set(DerivedProperty.objects.values_list("unit", flat=True)) | {
        "mA/cm^2",
        "mAh/g",
        "1/h",
        "mWh/g",
    }:
        ureg.parse_expression(unit.replace("^", "**").replace("%", "percent") or "1")


# ------------------------------------------------------------------------------------------------ inputs
@pytest.mark.usefixtures("eager_celery")
def test_a_thickness_correction_recomputes_the_conductivities_and_the_activation_energy(
    team, researcher, django_capture_on_commit_callbacks
):
    """First 450 um from the cast mass, then measured 500 um: sigma scales by 500/450 = 1.111, Ea stays and
    now records the measured thickness."""
    membrane = make_membrane(team, researcher, thickness_measured_um=None, thickness_from_mass_um=450.0)
    cell = make_cell(team, researcher, Configuration.BLOCKING, membrane=membrane)
    series, members = make_arrhenius_series(team, researcher, cell, temperatures_C=(20, 40, 60, 80))
    for m in members:
        run_for_measurement(m.pk)
    key = f"measurement:{members[0].pk}"
    before = _value(key, derive.CONDUCTIVITY)
    assert before.inputs["thickness_source"].endswith("from cast mass")
    assert before.inputs["thickness_um"] == pytest.approx(450.0)
    assert before.value == pytest.approx(0.266 * 450 / 500, rel=0.02)

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        acting_as(researcher, reason="measured"),
    ):
        membrane.thickness_measured = 500.0
        membrane.save()
    assert len(callbacks) == 1

    after = _value(key, derive.CONDUCTIVITY)
    assert after.pk == before.pk
    assert after.value == pytest.approx(before.value * 500.0 / 450.0, rel=1e-9)
    assert after.inputs["thickness_source"].endswith("measured")
    record = after.history.latest()
    assert (record.history_user, record.history_via) == (researcher, "worker")
    ea = _value(f"series:{series.pk}", derive.ACTIVATION_ENERGY)
    assert ea.value == pytest.approx(0.331, rel=0.02)
    assert ea.inputs["thickness_sources"] == [f"membrane {membrane.code}: measured"]
    assert _value(f"series:{series.pk}", derive.CONDUCTIVITY_20C).value == pytest.approx(0.266, rel=0.02)


def test_saving_a_membrane_without_changing_its_thickness_enqueues_nothing(
    team, researcher, django_capture_on_commit_callbacks
):
    membrane = make_membrane(team, researcher)
    make_cell(team, researcher, Configuration.BLOCKING, membrane=membrane)
    with django_capture_on_commit_callbacks() as callbacks:
        membrane.notes = "re-labelled"
        membrane.save()
    assert callbacks == []


def test_a_pellet_conductivity_uses_its_final_thickness(team, researcher):
    """0.5 mm pellet on 2 cm2 with 1562.5 ohm: sigma = 5e-4 / (1562.5 x 2e-4) = 1.6e-3 S/m = 0.016 mS/cm."""
    pellet = make_pellet(team, thickness_mm=0.5)
    cell = make_cell(team, researcher, Configuration.BLOCKING, pellet=pellet)
    m = make_measurement(
        team, researcher, "PEIS", eis_columns("R0-CPE1", {"R0": 1562.5, "CPE1_0": 2e-7, "CPE1_1": 0.9}), cell=cell,
        temperature_C=20.0,
    )  # fmt: skip
    run_for_measurement(m.pk)
    row = _value(f"measurement:{m.pk}", derive.CONDUCTIVITY)
    assert row.value == pytest.approx(0.016, rel=1e-3)
    assert row.pellet_id == pellet.pk
    assert row.inputs["thickness_source"] == f"pellet {pellet.code}: final thickness"


def test_a_resolved_bulk_arc_uses_r0_plus_r1_as_the_bulk_resistance(team, researcher):
    """R0 = 4 ohm contact + R1 = 90 ohm bulk arc -> R_b = 94 ohm -> 0.266 mS/cm on 500 um, 2 cm2."""
    cell = make_cell(team, researcher, Configuration.BLOCKING)
    cols = eis_columns(
        "R0-p(R1,CPE1)-CPE2",
        {"R0": 4.0, "R1": 90.0, "CPE1_0": 1e-7, "CPE1_1": 0.9, "CPE2_0": 5e-6, "CPE2_1": 0.85},
    )
    m = make_measurement(team, researcher, "PEIS", cols, cell=cell, temperature_C=20.0)
    run_for_measurement(m.pk)
    bulk = _value(f"measurement:{m.pk}", derive.BULK_RESISTANCE)
    assert bulk.parameters["circuit"] == "R0-p(R1,CPE1)-CPE2"
    assert bulk.value == pytest.approx(94.0, rel=0.01)
    assert _value(f"measurement:{m.pk}", derive.CONDUCTIVITY).value == pytest.approx(0.266, rel=0.01)


def test_eis_rows_carry_the_fit_quality_and_the_kramers_kronig_check(team, researcher):
    cell = make_cell(team, researcher, Configuration.BLOCKING)
    m = make_measurement(
        team, researcher, "PEIS",
        eis_columns("R0-CPE1", {"R0": 94.0, "CPE1_0": 2e-6, "CPE1_1": 0.85}, noise=0.002, seed=3), cell=cell,
    )  # fmt: skip
    run_for_measurement(m.pk)
    bulk = _value(f"measurement:{m.pk}", derive.BULK_RESISTANCE)
    assert bulk.uncertainty is not None and 0 < bulk.uncertainty < 1.0
    assert bulk.parameters["chi2_reduced"] > 0
    kk = _value(f"measurement:{m.pk}", derive.KK_RESIDUAL)
    assert kk.parameters["passed"] is True
    assert _value(f"measurement:{m.pk}", derive.HF_INTERCEPT).value == pytest.approx(94.0, rel=0.02)


# ------------------------------------------------------------------------------------------------ cycling
def test_a_symmetric_cell_that_shorts_at_740_h_reports_its_lifetime_and_failure_mode(team, researcher):
    """PMA at 0.1 mA/cm2 (1 A/m2 on 2 cm2), ~680 mV, hard short at 740 h."""
    cell = make_cell(team, researcher, Configuration.SYMMETRIC)
    ts = syn.symmetric_cycling(1.0, 2e-4, 0.68, hours=800, short_at_h=740.0, points_per_half_cycle=20)
    m = make_measurement(team, researcher, "GCPL", time_series_columns(ts), cell=cell)
    run_for_measurement(m.pk)
    life = _value(f"measurement:{m.pk}", derive.SYMMETRIC_LIFETIME)
    assert life.value == pytest.approx(740.0, rel=0.01)
    assert life.parameters["failure_mode"] == "hard short"
    assert life.parameters["censored"] is False
    assert life.parameters["current_density_mA_per_cm2"] == pytest.approx(0.1)
    assert _value(f"measurement:{m.pk}", derive.OVERPOTENTIAL).value == pytest.approx(680.0, rel=0.02)


def test_a_symmetric_cell_without_short_reports_time_on_test_as_a_lower_bound_and_flags_soft_shorts(
    team, researcher
):
    cell = make_cell(team, researcher, Configuration.SYMMETRIC)
    ts = syn.symmetric_cycling(1.0, 2e-4, 0.40, hours=600, soft_short_at_h=300.5, points_per_half_cycle=20)
    m = make_measurement(team, researcher, "GCPL", time_series_columns(ts), cell=cell)
    run_for_measurement(m.pk)
    life = _value(f"measurement:{m.pk}", derive.SYMMETRIC_LIFETIME)
    assert life.parameters["censored"] is True
    assert life.value == pytest.approx(600.0, rel=0.01)
    assert life.parameters["failure_mode"] == "soft short(s), recovered"
    assert _value(f"measurement:{m.pk}", derive.SOFT_SHORTS).value == 1


def test_a_rate_capability_test_reports_the_table_and_the_recovery(team, researcher):
    """0.1/0.2/0.5/1/2 C then back to 0.1 C, 5 cycles each: recovery = 140.39 / 143.79 = 97.64 %."""
    cell = make_cell(team, researcher, Configuration.FULL, cathode=make_cathode(team))
    caps = [143.79, 136.29, 125.38, 112.89, 101.90, 140.39]
    rates = [0.1, 0.2, 0.5, 1.0, 2.0, 0.1]
    q = np.repeat(caps, 5)
    c = np.repeat(rates, 5)
    ts = syn.full_cell_cycling(q.tolist(), 2e-6, c.tolist(), 170.0, points_per_half_cycle=20)
    m = make_measurement(team, researcher, "CYCLING", time_series_columns(ts), cell=cell)
    run_for_measurement(m.pk)
    row = _value(f"measurement:{m.pk}", derive.RATE_RECOVERY)
    assert row.value == pytest.approx(100 * 140.39 / 143.79, rel=0.005)
    table = row.parameters["rate_table"]
    assert [round(s["c_rate"], 2) for s in table] == rates
    assert table[3]["mean_discharge_mAh_per_g"] == pytest.approx(112.89, rel=0.01)


def test_a_full_cell_without_an_active_mass_is_refused_with_a_clear_message(team, researcher):
    cell = make_cell(team, researcher, Configuration.FULL, cathode=make_cathode(team, active_mass_mg=0.0))
    ts = syn.full_cell_cycling([140.0, 139.0], 2e-6, 0.2, 170.0)
    m = make_measurement(team, researcher, "GCPL", time_series_columns(ts), cell=cell)
    with pytest.raises(DomainError, match="active mass"):
        run_for_measurement(m.pk)


# ------------------------------------------------------------------------------------------------ mechanics, TGA
def test_tensile_strength_and_elongation_are_derived_from_a_stress_strain_record(team, researcher):
    """Stress rises linearly to 740 kPa at 80 % strain, then breaks -> 740 kPa and 80 %."""
    membrane = make_membrane(team, researcher)
    strain = np.concatenate([np.linspace(0, 0.8, 81), [0.81]])
    stress = np.concatenate([np.linspace(0, 740e3, 81), [1e3]])
    m = make_measurement(
        team, researcher, "TENSILE", {"strain": strain, "stress_Pa": stress}, membrane=membrane
    )
    run_for_measurement(m.pk)
    assert _value(f"measurement:{m.pk}", derive.TENSILE_STRENGTH).value == pytest.approx(740.0)
    assert _value(f"measurement:{m.pk}", derive.ELONGATION).value == pytest.approx(80.0)


def test_tga_filler_content_is_checked_against_the_recipe(team, researcher):
    """Residue 22 % at 700 °C, polymer leaves 2.5 % -> 100 x 19.5 / 97.5 = 20.0 wt% (recipe: 20 wt%)."""
    membrane = make_membrane(team, researcher, filler_fraction=0.2)
    t = np.linspace(25, 800, 200)
    mass = np.where(t < 300, 10.0, 2.2)
    m = make_measurement(
        team, researcher, "TGA", {"temperature_C": t, "mass_mg": mass}, membrane=membrane,
        parameters={"polymer_residue_percent": 2.5},
    )  # fmt: skip
    run_for_measurement(m.pk)
    row = _value(f"measurement:{m.pk}", derive.FILLER_TGA)
    assert row.value == pytest.approx(20.0, rel=1e-6)
    assert row.parameters["recipe_filler_wt_percent"] == pytest.approx(20.0)
    assert row.parameters["difference_from_recipe_wt_percent"] == pytest.approx(0.0, abs=1e-6)


# ------------------------------------------------------------------------------------------------ series rules
def test_an_arrhenius_series_refuses_a_non_eis_member(team, researcher):
    cell = make_cell(team, researcher, Configuration.BLOCKING)
    series = derive.create_series(team=team, name="A", kind="arrhenius", cell=cell)
    ts = syn.symmetric_cycling(1.0, 2e-4, 0.4, hours=4)
    m = make_measurement(team, researcher, "GCPL", time_series_columns(ts), cell=cell)
    with pytest.raises(DomainError, match="EIS"):
        derive.add_series_member(series=series, measurement=m)
    assert not SeriesMember.objects.exists()


def test_a_measurement_of_another_team_cannot_join_a_series(team, other_team, researcher, outsider):
    cell = make_cell(team, researcher, Configuration.BLOCKING)
    series = derive.create_series(team=team, name="A", kind="arrhenius", cell=cell)
    foreign = make_cell(other_team, outsider, Configuration.BLOCKING)
    m = make_measurement(
        other_team,
        outsider,
        "PEIS",
        eis_columns("R0-CPE1", {"R0": 9.0, "CPE1_0": 2e-6, "CPE1_1": 0.9}),
        cell=foreign,
    )
    with pytest.raises(DomainError, match="another team"):
        derive.add_series_member(series=series, measurement=m)


def test_an_incomplete_transference_series_does_not_stop_the_measurement_analysis(team, researcher):
    cell = make_cell(team, researcher, Configuration.SYMMETRIC)
    before = make_measurement(
        team, researcher, "PEIS",
        eis_columns("R0-p(R1,CPE1)", {"R0": 94.0, "R1": 472.0, "CPE1_0": 1e-6, "CPE1_1": 0.9}), cell=cell,
    )  # fmt: skip
    series = derive.create_series(team=team, name="BVE", kind="transference", cell=cell)
    derive.add_series_member(series=series, measurement=before, role="eis_before")
    rows = run_for_measurement(before.pk)
    assert {r.name for r in rows} >= {derive.BULK_RESISTANCE, derive.INTERFACIAL_RESISTANCE}
    assert not DerivedProperty.objects.filter(series=series).exists()
    with pytest.raises(DomainError, match="Bruce-Vincent"):
        run_for_series(series.pk)


def test_the_analysis_is_attributed_to_the_initiating_user_in_the_audit_trail(team, researcher):
    cell = make_cell(team, researcher, Configuration.BLOCKING)
    m = make_measurement(
        team,
        researcher,
        "PEIS",
        eis_columns("R0-CPE1", {"R0": 94.0, "CPE1_0": 2e-6, "CPE1_1": 0.85}),
        cell=cell,
    )
    run_for_measurement(m.pk, actor=researcher)
    row = _value(f"measurement:{m.pk}", derive.BULK_RESISTANCE)
    record = row.history.latest()
    assert record.history_user == researcher
    assert record.history_via == "service"
