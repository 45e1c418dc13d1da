"""CCD, symmetric Li|Li cycling and full-cell cycling."""

from __future__ import annotations

import numpy as np
import pytest

from measurements.analysis import ccd, cycling
from measurements.analysis import synthetic as syn

AREA_M2 = 2e-4  # 2 cm^2
STEPS_A_PER_M2 = np.arange(1, 11) * 1.0  # 0.1 ... 1.0 mA/cm^2


def test_ccd_is_0_8_mA_per_cm2_when_the_cell_shorts_in_the_0_9_step() -> None:
    d = syn.stepped_ccd(STEPS_A_PER_M2, AREA_M2, 0.01, short_in_step=8, noise_V=0.0005, seed=1)
    r = ccd.critical_current_density(d.time_s, d.voltage_V, d.current_A, AREA_M2)
    assert r.ccd_mA_per_cm2 == pytest.approx(0.8, rel=0.01)
    assert r.failing_step is not None
    assert r.failing_step.current_density_A_per_m2 == pytest.approx(9.0, rel=0.01)
    assert r.failing_step.failure == "short"
    assert r.failing_step.failure_time_s == pytest.approx(8.4 * 3600, abs=60)
    assert [s.completed for s in r.steps] == [True] * 8 + [False]
    assert r.version == ccd.METHOD_VERSION


def test_ccd_without_failure_is_the_highest_step() -> None:
    d = syn.stepped_ccd(STEPS_A_PER_M2, AREA_M2, 0.01, noise_V=0.0005)
    r = ccd.critical_current_density(d.time_s, d.voltage_V, d.current_A, AREA_M2)
    assert r.ccd_mA_per_cm2 == pytest.approx(1.0) and r.failing_step is None


def test_ccd_reports_a_voltage_limit_hit() -> None:
    """|V| = j x 0.1 ohm m^2 x (1 .. 1.05): 0.8 mA/cm^2 peaks at 0.84 V < 0.85 V, 0.9 mA/cm^2
    starts at 0.90 V >= 0.85 V -> the 0.9 step hits the limit, CCD = 0.8 mA/cm^2."""
    d = syn.stepped_ccd(STEPS_A_PER_M2, AREA_M2, 0.1)
    r = ccd.critical_current_density(d.time_s, d.voltage_V, d.current_A, AREA_M2, voltage_limit_V=0.85)
    assert r.failing_step is not None and r.failing_step.failure == "voltage limit"
    assert r.ccd_mA_per_cm2 == pytest.approx(0.8)
    assert r.failing_step.current_density_A_per_m2 == pytest.approx(9.0)


def test_half_cycles_follow_the_sign_of_the_current() -> None:
    hc = cycling.half_cycle_index([1, 1, 0, 1, -1, -1, 1])
    assert hc.tolist() == [0, 0, -1, 0, 1, 1, 2]


def test_symmetric_cell_at_400_mV_without_failure() -> None:
    """0.1 mA/cm^2 on 2 cm^2, 1 h half cycles, 400 mV, +20 mV per 100 h trend, 500 h."""
    d = syn.symmetric_cycling(1.0, AREA_M2, 0.40, 500, trend_V_per_100h=0.02, noise_V=0.002)
    r = cycling.analyse_symmetric(d.time_s, d.voltage_V, d.current_A)
    assert r.n_half_cycles == 500
    assert r.failure_mode == "none" and r.lifetime_h is None
    assert r.overpotential_V[0] == pytest.approx(0.40, rel=0.01)
    assert r.overpotential_trend_V_per_100h == pytest.approx(0.02, rel=0.01)
    assert r.total_time_h == pytest.approx(500, rel=0.01)
    assert r.soft_shorts == ()
    assert r.version == cycling.METHOD_VERSION


def test_symmetric_cell_hard_short_at_740_h_gives_the_lifetime_and_a_soft_short_is_flagged() -> None:
    d = syn.symmetric_cycling(
        1.0, AREA_M2, 0.68, 1000, short_at_h=740.3, soft_short_at_h=300.5, noise_V=0.002
    )
    r = cycling.analyse_symmetric(d.time_s, d.voltage_V, d.current_A)
    assert r.failure_mode == "hard short"
    assert r.lifetime_h == pytest.approx(740.3, rel=0.01)
    assert len(r.soft_shorts) == 1
    assert r.soft_shorts[0].start_h == pytest.approx(300.0, abs=0.1)
    assert r.soft_shorts[0].end_h == pytest.approx(301.0, abs=0.1)
    assert r.mean_overpotential_V == pytest.approx(0.68, rel=0.02)


def test_cycle_numbers_start_at_each_charge() -> None:
    assert cycling.cycle_index_from_current([1, 1, -1, -1, 1, -1]).tolist() == [1, 1, 1, 1, 2, 2]


RATES = [0.1, 0.2, 0.5, 1.0, 2.0, 0.1]
RATE_CAPS = [143.79, 136.29, 125.38, 112.89, 101.90, 140.39]


def test_rate_capability_table_reproduces_the_paper_values_and_recovery() -> None:
    """5 cycles per rate; recovery = 140.39 / 143.79 = 97.64 %."""
    q = np.repeat(RATE_CAPS, 5)
    cr = np.repeat(RATES, 5)
    d = syn.full_cell_cycling(q, 2e-6, cr, 170.0, 0.998)
    r = cycling.analyse_full_cell(d.time_s, d.voltage_V, d.current_A, 2e-6, 170.0)
    assert [s.c_rate for s in r.rate_table] == pytest.approx(RATES, rel=0.01)
    assert [s.mean_discharge_mAh_per_g for s in r.rate_table] == pytest.approx(RATE_CAPS, rel=0.01)
    assert r.recovery_ratio == pytest.approx(140.39 / 143.79, rel=0.01)
    assert r.coulombic_efficiency == pytest.approx(np.full(30, 0.998), rel=1e-3)


def test_long_cycling_retention_and_mean_ce_at_0_2_C() -> None:
    """134.13 first, 138.16 after activation, linear fade to 133.73 at cycle 610 -> 96.79 %."""
    n = 610
    q = np.concatenate([[134.13, 136.5], np.linspace(138.16, 133.73, n - 2)])
    ce = np.full(n, 0.9990)
    ce[0] = 0.90
    d = syn.full_cell_cycling(q, 3e-6, 0.2, 170.0, ce, points_per_half_cycle=40)
    r = cycling.analyse_full_cell(d.time_s, d.voltage_V, d.current_A, 3e-6, 170.0)
    assert r.discharge_mAh_per_g[0] == pytest.approx(134.13, rel=0.01)
    assert r.reference_cycle == 3
    assert r.retention[-1] == pytest.approx(133.73 / 138.16, rel=0.01)
    assert r.mean_ce_excluding_first == pytest.approx(0.999, rel=1e-3)
    assert r.mean_ce_all == pytest.approx((0.90 + 609 * 0.999) / 610, rel=1e-3)
    assert r.c_rate == pytest.approx(np.full(n, 0.2), rel=0.01)
    assert r.charge_Ah[0] == pytest.approx(134.13 * 3e-3 / 1000 / 0.90, rel=0.01)
    assert np.all(r.voltage_gap_V > 0)


def test_full_cell_capacity_from_a_charge_counter_matches_integration() -> None:
    q = np.array([150.0, 149.0, 148.0])
    d = syn.full_cell_cycling(q, 2e-6, 0.5, 170.0, 0.995)
    dq = np.concatenate([[0.0], 0.5 * (d.current_A[1:] + d.current_A[:-1]) * np.diff(d.time_s)])
    counter = np.cumsum(np.abs(dq)) / 3600.0
    r1 = cycling.analyse_full_cell(d.time_s, d.voltage_V, d.current_A, 2e-6, 170.0)
    r2 = cycling.analyse_full_cell(
        d.time_s, d.voltage_V, d.current_A, 2e-6, 170.0, cycle=d.cycle, charge_Ah=counter
    )
    assert r2.discharge_mAh_per_g == pytest.approx(r1.discharge_mAh_per_g, rel=0.01)
    assert r1.discharge_mAh_per_g == pytest.approx(q, rel=0.01)
