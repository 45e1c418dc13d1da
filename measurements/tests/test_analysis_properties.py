"""Conductivity, Arrhenius/VTF, transference (BVE), LSV window, tensile and TGA."""

from __future__ import annotations

import numpy as np
import pytest

from measurements.analysis import arrhenius, conductivity, lsv, mechanical, tga, transference
from measurements.analysis import synthetic as syn


def test_conductivity_of_a_500_um_film_with_94_ohm_on_2_cm2_is_0_266_mS_per_cm() -> None:
    """sigma = 5e-4 m / (94 ohm x 2e-4 m^2) = 0.026596 S/m = 0.26596 mS/cm."""
    r = conductivity.ionic_conductivity(94.0, 500e-6, 2e-4)
    assert r.sigma_S_per_m == pytest.approx(0.026596, rel=1e-4)
    assert r.sigma_mS_per_cm == pytest.approx(0.26596, rel=1e-4)
    assert r.version == conductivity.METHOD_VERSION


def test_one_mS_per_cm_is_a_tenth_of_a_siemens_per_metre() -> None:
    assert conductivity.mS_per_cm_to_S_per_m(1.0) == pytest.approx(0.1)
    assert conductivity.S_per_m_to_mS_per_cm(0.1) == pytest.approx(1.0)


def test_conductivity_rejects_non_positive_geometry() -> None:
    with pytest.raises(ValueError):
        conductivity.ionic_conductivity(94.0, 0.0, 2e-4)


def test_arrhenius_fit_returns_the_paper_activation_energy_from_synthetic_data() -> None:
    """Ea = 0.331 eV, sigma(293.15 K) = 0.266 mS/cm, 20-90 C, 0.5 % noise -> Ea within 1 %."""
    t = np.arange(20.0, 91.0, 10.0) + 273.15
    data = syn.arrhenius_conductivity(t, 0.331, 0.0266, 293.15, noise=0.005, seed=1)
    fit = arrhenius.fit_arrhenius(data.temperature_K, data.sigma_S_per_m)
    assert fit.ea_eV == pytest.approx(0.331, rel=0.01)
    assert fit.sigma_at(293.15) == pytest.approx(0.0266, rel=0.01)
    assert fit.r_squared > 0.999
    assert 0 < fit.ea_stderr_eV < 0.005
    assert fit.form == "sigma" and fit.version == arrhenius.METHOD_VERSION


def test_arrhenius_two_point_hand_example_gives_0_2381_eV() -> None:
    """ln(10) / (1/300 - 1/400) K = 2763.1 K -> x 8.617e-5 eV/K = 0.23811 eV."""
    fit = arrhenius.fit_arrhenius([300.0, 400.0], [1e-2, 1e-1])
    assert fit.ea_eV == pytest.approx(0.23811, rel=1e-4)


def test_sigma_t_form_is_fitted_and_labelled_separately() -> None:
    t = np.linspace(293.15, 363.15, 8)
    s = arrhenius.arrhenius_sigma(t, 0.40, 0.01, 293.15, form="sigmaT")
    fit_t = arrhenius.fit_arrhenius(t, s, form="sigmaT")
    fit_s = arrhenius.fit_arrhenius(t, s, form="sigma")
    assert fit_t.ea_eV == pytest.approx(0.40, rel=1e-9)
    assert fit_s.ea_eV < 0.40  # the plain form absorbs the 1/T factor: a different number
    assert fit_t.prefactor_unit == "S K/m" and "sigma*T" in fit_t.method
    assert fit_t.sigma_at(t) == pytest.approx(s, rel=1e-9)


def test_vtf_fit_recovers_a_b_and_t0() -> None:
    t = np.linspace(260.0, 370.0, 12)
    s = arrhenius.vtf_sigma(t, 50.0, 900.0, 180.0)
    fit = arrhenius.fit_vtf(t, s)
    assert fit.b_K == pytest.approx(900.0, rel=0.01)
    assert fit.t0_K == pytest.approx(180.0, rel=0.01)
    assert fit.a_prefactor == pytest.approx(50.0, rel=0.01)
    assert fit.version == arrhenius.VTF_METHOD_VERSION and "VTF" in fit.method


def test_bve_hand_example_gives_0_489() -> None:
    """12e-6 (0.010 - 20e-6 x 200) / (20e-6 (0.010 - 12e-6 x 220)) = 7.2e-8 / 1.472e-7 = 0.48913."""
    assert transference.bruce_vincent_evans(0.010, 20e-6, 12e-6, 200.0, 220.0) == pytest.approx(
        0.489130, rel=1e-5
    )


def test_ca_currents_take_the_first_point_and_the_mean_of_the_last_tenth() -> None:
    t = np.arange(10.0)
    i = np.array([10, 8, 6, 5, 4, 4, 4, 4, 4, 3.8]) * 1e-6
    ca = transference.ca_initial_and_steady_current(t, i)
    assert ca.i0_A == pytest.approx(10e-6)
    assert ca.iss_A == pytest.approx(3.8e-6)
    assert ca.n_steady_points == 1


def test_paper_transference_number_0_632_is_recovered_from_synthetic_ca_and_resistances() -> None:
    d = syn.chronoamperometry_bve(0.010, 472.0, 510.0, 0.632, r_bulk_ohm=94.0, noise=0.002, seed=4)
    measured = transference.transference_number(
        d.time_s,
        d.current_A,
        d.delta_V,
        d.r0_ohm,
        d.rss_ohm,
        r_total_initial_ohm=d.r_bulk_ohm + d.r0_ohm,
    )
    assert measured.t_plus == pytest.approx(0.632, rel=0.01)
    assert measured.i0_source == "measured"
    assert measured.i0_ohms_law_A == pytest.approx(measured.i0_measured_A, rel=1e-9)
    ohm = transference.transference_number(
        d.time_s,
        d.current_A,
        d.delta_V,
        d.r0_ohm,
        d.rss_ohm,
        r_total_initial_ohm=d.r_bulk_ohm + d.r0_ohm,
        i0_source="ohms_law",
    )
    assert ohm.t_plus == pytest.approx(0.632, rel=0.01)
    assert ohm.i0_source == "ohms_law" and ohm.version == transference.METHOD_VERSION


def test_ohms_law_i0_needs_the_initial_total_resistance() -> None:
    d = syn.chronoamperometry_bve(0.010, 472.0, 510.0, 0.632)
    with pytest.raises(ValueError):
        transference.transference_number(d.time_s, d.current_A, 0.01, 472.0, 510.0, i0_source="ohms_law")


def test_lsv_threshold_onset_of_an_exponential_rise_is_4_76_V() -> None:
    """j_faradaic = 0.1 A/m^2 x exp((V - 4.76)/0.03), ohmically limited by 0.05 ohm m^2."""
    d = syn.lsv(4.76, asr_ohm_m2=0.05, noise_A_per_m2=0.002, seed=1)
    w = lsv.stability_window(d.potential_V, d.current_A, 2e-4)
    assert w.onset_threshold_V is not None
    assert w.onset_threshold_V == pytest.approx(4.76, rel=0.01)
    assert abs(w.onset_threshold_V - 4.76) < 0.01
    # the tangent of an exponential always meets the baseline beyond the threshold crossing
    assert w.onset_tangent_V is not None and w.onset_tangent_V > w.onset_threshold_V
    assert "threshold" in w.method_threshold and "tangent" in w.method_tangent
    assert w.version == lsv.METHOD_VERSION


def test_lsv_tangent_intersection_of_a_linear_rise_is_exactly_the_onset() -> None:
    """Baseline 0.002 A/m^2 and j = 50 (V - 4.76) A/m^2 above 4.76 V intersect at 4.76 V."""
    d = syn.lsv(4.76, kind="linear")
    w = lsv.stability_window(d.potential_V, d.current_A, 2e-4)
    assert w.onset_tangent_V == pytest.approx(4.76, abs=0.002)
    assert w.onset_threshold_V == pytest.approx(4.76 + 0.098 / 50, abs=0.002)


def test_lsv_threshold_is_configurable() -> None:
    d = syn.lsv(4.26)
    w = lsv.stability_window(d.potential_V, d.current_A, 2e-4, threshold_A_per_m2=1.0)
    # 1.0 = 0.1 exp((V - 4.26)/0.03) -> V = 4.26 + 0.03 ln 10 = 4.329 V
    assert w.onset_threshold_V == pytest.approx(4.26 + 0.03 * np.log(10), abs=0.002)


def test_tensile_strength_and_elongation_at_break_follow_the_hand_example() -> None:
    r = mechanical.tensile_properties([0, 0.4, 0.8, 0.85], [0, 500e3, 740e3, 20e3])
    assert r.tensile_strength_Pa == pytest.approx(740e3)
    assert r.elongation_at_break == pytest.approx(0.8)
    f = mechanical.tensile_from_force([0, 4e-3, 8e-3, 8.5e-3], [0, 0.5, 0.74, 0.02], 10e-3, 1e-6)
    assert f.tensile_strength_Pa == pytest.approx(740e3)
    assert f.elongation_at_break == pytest.approx(0.8)


def test_tga_filler_content_corrects_for_the_polymer_residue() -> None:
    """Residue 22 % at 800 C, polymer alone leaves 2.5 % -> 100 x 19.5 / 97.5 = 20 wt%."""
    t = np.array([300.0, 600.0, 1073.15])
    m = np.array([10.0, 6.0, 2.2])
    r = tga.filler_content(t, m, 1073.15, polymer_residue_percent=2.5)
    assert r.residue_percent == pytest.approx(22.0)
    assert r.filler_wt_percent == pytest.approx(20.0)
