"""Tests of the pure formulation domain (no Django).

The recipe is the PMA precursor of Li et al., Nano-Micro Lett. 18:189 (2026), entered as
the paper doses it: LiFSI 3.74 g, tetraglyme (G4) 5 mL, MAAc 0.387 g, MMA 0.9 g,
NMMAm 0.446 g, HMPP 5.0 uL. Molar masses (g/mol): LiFSI 187.07, G4 222.28, MAAc 86.09,
MMA 100.12, NMMAm 99.13, HMPP 164.20. Densities (g/mL): G4 1.009, HMPP 1.08.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from formulations.domain import (
    Component,
    CompositionError,
    active_mass_from_loading_g,
    active_mass_from_weighed_electrode_g,
    amount_of_substance_mol,
    any_flagged,
    c_rate_from_current,
    cast_mass_for_thickness_g,
    check_composition_fractions,
    check_deviation,
    component_mass_deviations,
    component_mass_g,
    current_for_c_rate_A,
    disc_area_cm2,
    estimated_slurry_density_g_per_mL,
    exceeds_tolerance,
    filler_mass_for_fraction,
    filler_series,
    filler_weight_fraction,
    geometric_density_g_per_cm3,
    initiator_fraction,
    linear_shrinkage,
    mass_fractions,
    mole_ratios,
    one_c_current_A,
    porosity,
    relative_density,
    relative_deviation,
    salt_molality_mol_per_kg,
    salt_to_solvent_molar_ratio,
    scale_to_batch_mass,
    summarise,
    thickness_discrepancy,
    thickness_from_cast_mass_um,
    total_mass_g,
    volume_mL_from_uL,
    volumetric_shrinkage,
)

# ---------------------------------------------------------------------------- fixtures

LIFSI = Component("LiFSI", "salt", mass_g=3.74, molar_mass_g_per_mol=187.07)
G4 = Component("tetraglyme", "solvent", volume_mL=5.0, molar_mass_g_per_mol=222.28, density_g_per_mL=1.009)
MAAC = Component("MAAc", "monomer", mass_g=0.387, molar_mass_g_per_mol=86.09)
MMA = Component("MMA", "monomer", mass_g=0.9, molar_mass_g_per_mol=100.12)
NMMAM = Component("NMMAm", "monomer", mass_g=0.446, molar_mass_g_per_mol=99.13)
HMPP = Component(
    "HMPP",
    "initiator",
    volume_mL=volume_mL_from_uL(5.0),
    molar_mass_g_per_mol=164.20,
    density_g_per_mL=1.08,
)
PMA_PRECURSOR = (LIFSI, G4, MAAC, MMA, NMMAM, HMPP)

# Theoretical density of LLZTO: ~5.1 g/cm3 is the commonly quoted literature value for cubic
# garnet LLZO; it is an external literature number, not from the paper (Ta doping raises it
# a little). A LIMS record must store the value used and its source.
LLZTO_THEORETICAL_DENSITY_G_PER_CM3 = 5.1
LLZTO = Component(
    "LLZTO",
    "ceramic_filler",
    mass_g=0.0,
    density_g_per_mL=LLZTO_THEORETICAL_DENSITY_G_PER_CM3,
)

PRECURSOR_MASS_G = 3.74 + 5 * 1.009 + 0.387 + 0.9 + 0.446 + 0.0054  # = 10.5234 g


# ------------------------------------------------------------- paper checks (PAPER.md)


def test_lifsi_3_74_g_is_19_99_mmol() -> None:
    """n = m / M = 3.74 g / 187.07 g/mol = 0.019993 mol = 19.99 mmol."""
    assert amount_of_substance_mol(LIFSI) * 1000 == pytest.approx(19.99, abs=0.01)


def test_five_mL_of_tetraglyme_weighs_5_045_g() -> None:
    """m = V rho = 5 mL * 1.009 g/mL = 5.045 g; n = 5.045 / 222.28 = 22.70 mmol."""
    assert component_mass_g(G4) == pytest.approx(5.045)
    assert amount_of_substance_mol(G4) * 1000 == pytest.approx(22.70, abs=0.01)


def test_five_microlitres_of_hmpp_weigh_5_4_mg() -> None:
    """m = 5.0 uL / 1000 * 1.08 g/mL = 0.0054 g; n = 0.0054 / 164.20 = 0.0329 mmol."""
    assert component_mass_g(HMPP) == pytest.approx(0.0054)
    assert amount_of_substance_mol(HMPP) * 1000 == pytest.approx(0.0329, abs=1e-4)


def test_monomer_amounts_are_4_50_8_99_4_50_mmol() -> None:
    """MAAc 0.387/86.09 = 4.495; MMA 0.9/100.12 = 8.989; NMMAm 0.446/99.13 = 4.499 mmol."""
    mmol = [amount_of_substance_mol(c) * 1000 for c in (MAAC, MMA, NMMAM)]
    assert mmol == pytest.approx([4.50, 8.99, 4.50], abs=0.01)


def test_monomer_mole_ratio_is_about_1_to_2_to_1() -> None:
    """Normalised to the smallest (MAAc 4.495 mmol): 1 : 8.989/4.495 : 4.499/4.495 = 1:2.00:1.00."""
    ratios = mole_ratios(PMA_PRECURSOR)
    assert list(ratios) == ["MAAc", "MMA", "NMMAm"]
    assert list(ratios.values()) == pytest.approx([1.0, 2.0, 1.0], abs=0.005)


def test_lifsi_to_tetraglyme_molar_ratio_is_about_0_88() -> None:
    """r = 19.993 mmol / (5 * 1.009 / 222.28 mol = 22.697 mmol) = 0.881."""
    r = salt_to_solvent_molar_ratio(amount_of_substance_mol(LIFSI), amount_of_substance_mol(G4))
    assert r == pytest.approx(0.88, abs=0.005)


def test_molality_is_about_3_96_mol_per_kg_of_tetraglyme() -> None:
    """b = 0.019993 mol / 0.005045 kg = 3.963 mol/kg."""
    b = salt_molality_mol_per_kg(amount_of_substance_mol(LIFSI), component_mass_g(G4))
    assert b == pytest.approx(3.96, abs=0.01)


def test_precursor_weighs_10_52_g_and_20_wt_percent_needs_2_63_g_llzto() -> None:
    """m_p = 3.74 + 5*1.009 + 0.387 + 0.9 + 0.446 + 0.0054
           = 3.74 + 5.045 + 0.387 + 0.9 + 0.446 + 0.0054 = 10.5234 g;
    m_LLZTO = m_p * 0.2 / 0.8 = 10.5234 / 4 = 2.63085 g;
    check: 2.63085 / (2.63085 + 10.5234) = 0.2000."""
    assert total_mass_g(PMA_PRECURSOR) == pytest.approx(10.5234)
    m_llzto = filler_mass_for_fraction(PRECURSOR_MASS_G, 0.2)
    assert m_llzto == pytest.approx(2.63085)
    assert filler_weight_fraction(m_llzto, PRECURSOR_MASS_G) == pytest.approx(0.2)


def test_llzto_series_adds_0_20_40_60_wt_percent_to_the_same_precursor() -> None:
    """m_f = 10.5234 * w / (1 - w): 0, 2.63085, 7.01560, 15.7851 g."""
    series = filler_series(PMA_PRECURSOR, LLZTO)
    assert [v.weight_fraction for v in series] == [0.0, 0.2, 0.4, 0.6]
    assert [v.filler_mass_g for v in series] == pytest.approx([0.0, 2.63085, 7.0156, 15.7851])
    for variant in series:
        assert variant.components[:-1] == PMA_PRECURSOR
        filler = variant.components[-1]
        assert filler.name == "LLZTO" and filler.density_g_per_mL == 5.1
        summary = summarise(variant.components)
        assert summary.filler_weight_fraction == pytest.approx(variant.weight_fraction)


def test_initiator_is_0_31_wt_percent_and_0_18_mol_percent_of_the_monomers() -> None:
    """mass: 0.0054 / (0.387 + 0.9 + 0.446 = 1.733) = 0.003116 (0.31 wt%);
    mol: 100 * 0.03289 mmol / (4.495 + 8.989 + 4.499 = 17.984 mmol) = 0.183 mol%."""
    f = initiator_fraction(PMA_PRECURSOR)
    assert f.mass_fraction_of_monomers == pytest.approx(0.003116, abs=1e-6)
    assert f.mol_percent_of_monomers == pytest.approx(0.183, abs=0.001)


def test_summary_reproduces_the_paper_checks_and_explains_what_it_cannot_compute() -> None:
    """All derived checks at once; the density estimate needs densities of solids and
    monomers, which the recipe does not carry, so it is None with a note naming LiFSI."""
    s = summarise(PMA_PRECURSOR)
    assert s.total_mass_g == pytest.approx(10.5234)
    assert sum(s.mass_fractions.values()) == pytest.approx(1.0)
    assert s.salt_amount_mol is not None and s.salt_amount_mol * 1000 == pytest.approx(19.99, abs=0.01)
    assert s.solvent_mass_g == pytest.approx(5.045)
    assert s.salt_molality_mol_per_kg == pytest.approx(3.96, abs=0.01)
    assert s.salt_to_solvent_molar_ratio == pytest.approx(0.88, abs=0.005)
    assert s.monomer_mole_ratios is not None
    assert list(s.monomer_mole_ratios.values()) == pytest.approx([1, 2, 1], abs=0.005)
    assert s.initiator is not None
    assert s.filler_weight_fraction is None
    assert s.estimated_density_g_per_mL is None
    assert any("LiFSI" in note for note in s.notes)


# ------------------------------------------------------------------- composition maths


def test_mass_fractions_sum_to_one() -> None:
    """w_LiFSI = 3.74 / 10.5234 = 0.3554."""
    w = mass_fractions(PMA_PRECURSOR)
    assert math.fsum(w.values()) == pytest.approx(1.0)
    assert w["LiFSI"] == pytest.approx(3.74 / 10.5234)


def test_scaling_to_a_batch_keeps_volumes_as_volumes_and_keeps_the_fractions() -> None:
    """k = 21.0468 / 10.5234 = 2: G4 5 mL -> 10 mL, HMPP 5 uL -> 10 uL, LiFSI 3.74 -> 7.48 g."""
    scaled = scale_to_batch_mass(PMA_PRECURSOR, 2 * 10.5234)
    by_name = {c.name: c for c in scaled}
    assert by_name["tetraglyme"].volume_mL == pytest.approx(10.0)
    assert by_name["tetraglyme"].mass_g is None
    assert by_name["HMPP"].volume_mL == pytest.approx(0.010)
    assert by_name["LiFSI"].mass_g == pytest.approx(7.48)
    assert total_mass_g(scaled) == pytest.approx(21.0468)
    assert mass_fractions(scaled) == pytest.approx(mass_fractions(PMA_PRECURSOR))


def test_a_component_dosed_by_amount_converts_to_mass_with_its_molar_mass() -> None:
    """m = n M = 0.02 mol * 187.07 g/mol = 3.7414 g."""
    salt = Component("LiFSI", "salt", amount_mol=0.02, molar_mass_g_per_mol=187.07)
    assert component_mass_g(salt) == pytest.approx(3.7414)
    assert amount_of_substance_mol(salt) == 0.02


def test_ideal_mixing_density_estimate_adds_specific_volumes() -> None:
    """50/50 by mass of rho 1.0 and 5.0 g/mL: 1/rho = 0.5/1 + 0.5/5 = 0.6 -> rho = 1.667 g/mL."""
    mix = (
        Component("liquid", "other", mass_g=1.0, density_g_per_mL=1.0),
        Component("powder", "ceramic_filler", mass_g=1.0, density_g_per_mL=5.0),
    )
    assert estimated_slurry_density_g_per_mL(mix) == pytest.approx(1 / 0.6)


# ------------------------------------------------------------------ membrane thickness


def test_cast_mass_of_0_60_g_over_8_cm2_at_1_5_g_per_mL_gives_500_um() -> None:
    """t = m / (rho A) = 0.60 g / (1.50 g/cm3 * 8.00 cm2) = 0.0500 cm = 500 um."""
    assert thickness_from_cast_mass_um(0.60, 1.50, 8.00) == pytest.approx(500.0)
    assert cast_mass_for_thickness_g(500.0, 1.50, 8.00) == pytest.approx(0.60)


def test_a_measured_film_of_480_um_is_4_percent_thinner_than_derived() -> None:
    """(480 - 500) / 500 = -0.04."""
    assert thickness_discrepancy(480.0, 500.0) == pytest.approx(-0.04)


# ----------------------------------------------------------------------------- pellets


def test_llzto_pellet_relative_density_is_93_6_percent_of_the_literature_value() -> None:
    """d = 12.0 mm, t = 0.50 mm: V = pi * 6.0^2 * 0.50 mm3 = 56.549 mm3 = 0.056549 cm3;
    rho = 0.270 g / 0.056549 cm3 = 4.775 g/cm3; rho_rel = 4.775 / 5.1 = 0.936
    (5.1 g/cm3: literature theoretical density of cubic garnet LLZO, not from the paper)."""
    rho = geometric_density_g_per_cm3(0.270, 12.0, 0.50)
    assert rho == pytest.approx(4.775, abs=0.001)
    assert relative_density(rho, LLZTO_THEORETICAL_DENSITY_G_PER_CM3) == pytest.approx(0.936, abs=0.001)
    assert porosity(rho, LLZTO_THEORETICAL_DENSITY_G_PER_CM3) == pytest.approx(0.064, abs=0.001)


def test_sintering_shrinkage_from_green_to_final_dimensions() -> None:
    """linear: (15.0 - 12.0) / 15.0 = 0.20;
    volumetric: 1 - (12.0^2 * 0.80) / (15.0^2 * 1.00) = 1 - 115.2 / 225 = 0.488."""
    assert linear_shrinkage(15.0, 12.0) == pytest.approx(0.20)
    assert volumetric_shrinkage(15.0, 1.00, 12.0, 0.80) == pytest.approx(0.488)


# --------------------------------------------------------------------------- electrodes


def test_one_c_for_3_mg_of_lfp_at_170_mAh_per_g_is_0_51_mA() -> None:
    """I_1C = 0.003 g * 170 mAh/g / 1000 = 0.00051 A; 0.2 C = 0.000102 A."""
    assert one_c_current_A(0.003, 170.0) == pytest.approx(0.00051)
    assert current_for_c_rate_A(0.003, 170.0, 0.2) == pytest.approx(0.000102)
    assert c_rate_from_current(-0.000102, 0.003, 170.0) == pytest.approx(0.2)


def test_active_mass_from_loading_and_from_weighing_agree() -> None:
    """12 mm disc: A = pi * 0.6^2 = 1.1310 cm2; 2.0 mg/cm2 -> 2.262 mg.
    weighed: (0.010262 g - 0.007435 g) * 0.8 = 0.0022616 g."""
    area = disc_area_cm2(12.0)
    assert area == pytest.approx(1.1310, abs=1e-4)
    assert active_mass_from_loading_g(2.0, area) == pytest.approx(0.002262, abs=1e-6)
    assert active_mass_from_weighed_electrode_g(0.010262, 0.007435, 0.8) == pytest.approx(0.0022616)


def test_electrode_composition_fractions_must_sum_to_one() -> None:
    """0.8 + 0.1 + 0.1 = 1 passes; 0.8 + 0.1 + 0.05 = 0.95 is rejected."""
    check_composition_fractions({"LFP": 0.8, "Super-P": 0.1, "PVDF": 0.1})
    with pytest.raises(CompositionError, match="sum to 0.95"):
        check_composition_fractions({"LFP": 0.8, "Super-P": 0.1, "PVDF": 0.05})


# ---------------------------------------------------------------------------- deviation


def test_a_weighing_3_percent_off_is_flagged_and_1_percent_off_is_not() -> None:
    """(3.8522 - 3.74) / 3.74 = +0.03 > 0.02; (3.7026 - 3.74) / 3.74 = -0.01."""
    assert relative_deviation(3.8522, 3.74) == pytest.approx(0.03)
    assert exceeds_tolerance(3.8522, 3.74)
    assert not exceeds_tolerance(3.7026, 3.74)
    assert check_deviation(3.7026, 3.74, name="LiFSI").relative_deviation == pytest.approx(-0.01)


def test_planned_vs_actual_recipe_flags_only_the_component_that_was_off() -> None:
    """G4 planned 5 mL (5.045 g), weighed 5.30 g: (5.30 - 5.045) / 5.045 = +0.0505 -> flagged."""
    actual = [dataclasses.replace(c) for c in PMA_PRECURSOR if c.name != "tetraglyme"]
    actual.append(Component("tetraglyme", "solvent", mass_g=5.30))
    checks = component_mass_deviations(PMA_PRECURSOR, actual)
    flagged = [c.name for c in checks if c.flagged]
    assert flagged == ["tetraglyme"]
    assert any_flagged(checks)


# ------------------------------------------------------------------------------ errors


def test_a_volume_without_density_cannot_be_converted_to_mass() -> None:
    g4 = Component("tetraglyme", "solvent", volume_mL=5.0)
    with pytest.raises(CompositionError, match="tetraglyme.*density"):
        component_mass_g(g4)


def test_an_amount_without_molar_mass_cannot_be_converted() -> None:
    with pytest.raises(CompositionError, match="LLZTO.*molar mass"):
        amount_of_substance_mol(LLZTO)


def test_a_filler_fraction_of_1_is_rejected() -> None:
    with pytest.raises(CompositionError, match=r"\[0, 1\)"):
        filler_mass_for_fraction(10.0, 1.0)


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf])
def test_negative_nan_or_infinite_masses_are_rejected(bad: float) -> None:
    with pytest.raises(CompositionError, match="LiFSI"):
        Component("LiFSI", "salt", mass_g=bad)


def test_a_component_must_be_dosed_exactly_one_way() -> None:
    with pytest.raises(CompositionError, match="exactly one"):
        Component("G4", "solvent", mass_g=5.0, volume_mL=5.0)
    with pytest.raises(CompositionError, match="exactly one"):
        Component("G4", "solvent")


def test_an_unknown_role_is_rejected() -> None:
    with pytest.raises(CompositionError, match="unknown role"):
        Component("G4", "plasticiser", mass_g=5.0)  # type: ignore[arg-type]


def test_the_same_component_twice_is_rejected() -> None:
    with pytest.raises(CompositionError, match="appears twice"):
        total_mass_g([LIFSI, LIFSI])


def test_density_estimate_names_the_component_without_density() -> None:
    with pytest.raises(CompositionError, match="LiFSI"):
        estimated_slurry_density_g_per_mL(PMA_PRECURSOR)


def test_a_collector_heavier_than_the_electrode_is_rejected() -> None:
    with pytest.raises(CompositionError, match="current collector"):
        active_mass_from_weighed_electrode_g(0.007, 0.0075, 0.8)


def test_a_filler_series_on_a_precursor_that_already_has_filler_is_rejected() -> None:
    with pytest.raises(CompositionError, match="already contains"):
        filler_series((*PMA_PRECURSOR, dataclasses.replace(LLZTO, mass_g=1.0)), LLZTO)
