"""Synthesis services: recipes as entered, frozen versions, all-or-nothing batches, membranes, pellets, electrodes.

Hand arithmetic for the PMA precursor of PAPER.md (entered as "3.74 g", "5 mL", "5.0 uL"):
LiFSI n = 3.74 / 187.07 = 19.993 mmol; G4 m = 5 x 1.009 = 5.045 g, n = 5.045 / 222.28 = 22.697 mmol;
MAAc 0.387 / 86.09 = 4.495, MMA 0.9 / 100.12 = 8.989, NMMAm 0.446 / 99.13 = 4.499 mmol -> 1 : 2.00 : 1.00;
LiFSI:G4 = 19.993 / 22.697 = 0.881; molality = 0.019993 mol / 0.005045 kg = 3.963 mol/kg;
precursor mass m_p = 3.74 + 5.045 + 0.387 + 0.9 + 0.446 + 0.0054 = 10.5234 g;
20 wt% LLZTO: m_f = 0.2 x 10.5234 / 0.8 = 2.63085 g.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from formulations.models import Batch, BatchStatus, ProcessStep, StockTransaction
from formulations.selectors_synthesis import version_composition
from formulations.services import synthesis as s
from formulations.services.inventory import receive_lot
from formulations.tests.test_synthesis_support import *  # noqa: F403
from formulations.tests.test_synthesis_support import PMA, chem
from lims.errors import ConflictError, DomainError

pytestmark = pytest.mark.django_db


def _draws(pma: PMA, **override: str) -> list[dict[str, object]]:
    amounts = {"LiFSI": "3.74 g", "G4": "5 mL", "MAAc": "0.387 g", "MMA": "0.9 g", "NMMAm": "0.446 g"}
    amounts["HMPP"] = "5.0 uL"
    amounts.update(override)
    rows = []
    for component in pma.version.components.select_related("chemical"):
        key = component.chemical.abbreviation
        rows.append({"component": component, "lot": pma.lots[key], "amount": amounts[key]})
    return rows


# ------------------------------------------------------------------------------------------------ recipes


def test_composition_of_the_recipe_as_entered_reproduces_the_paper_checks(pma: PMA) -> None:
    """19.99 mmol LiFSI; MAAc:MMA:NMMAm about 1:2:1; LiFSI:G4 about 0.88; about 3.96 mol/kg (see module doc)."""
    lines = {c.chemical.abbreviation: c for c in pma.version.components.all()}
    assert (lines["G4"].amount_kind, lines["G4"].amount) == ("volume", 5.0)
    assert lines["HMPP"].amount == pytest.approx(0.005)  # 5.0 uL = 0.005 mL
    assert lines["HMPP"].entered_as == "5.0 uL"
    comp = version_composition(pma.version)
    assert comp["ok"]
    assert comp["salt_amount_mmol"] == pytest.approx(19.99, abs=0.01)
    ratios = comp["monomer_mole_ratios"]
    assert [ratios["MAAc"], ratios["MMA"], ratios["NMMAm"]] == pytest.approx([1.0, 2.0, 1.0], abs=0.005)
    assert comp["salt_to_solvent_molar_ratio"] == pytest.approx(0.881, abs=0.001)
    assert comp["salt_molality_mol_per_kg"] == pytest.approx(3.963, abs=0.001)
    assert comp["total_mass_g"] == pytest.approx(10.5234)


def test_filler_series_makes_one_version_per_fraction_with_the_llzto_mass_for_20_wt_percent(
    pma: PMA, researcher: object
) -> None:
    """m_f = w m_p / (1 - w) with m_p = 10.5234 g: 0, 2.63085, 7.0156, 15.7851 g."""
    versions = s.filler_series(base=pma.version, filler=pma.chemicals["LLZTO"], actor=researcher)
    assert [v.filler_fraction for v in versions] == [0.0, 0.2, 0.4, 0.6]
    assert {v.recipe.name for v in versions} == {"LLZTO-PMA"}
    masses = [v.components.get(chemical=pma.chemicals["LLZTO"]).amount for v in versions]
    assert masses == pytest.approx([0.0, 2.63085, 7.0156, 15.7851], abs=1e-4)
    twenty = version_composition(versions[1])
    assert twenty["filler_weight_fraction"] == pytest.approx(0.2)
    assert [st.kind for st in versions[1].steps.all()] == ["dissolve", "mix", "uv_cure"]
    again = s.filler_series(base=pma.version, filler=pma.chemicals["LLZTO"], actor=researcher)
    assert [v.pk for v in again] == [v.pk for v in versions]


def test_an_amount_in_the_wrong_dimension_is_refused_naming_both(pma: PMA, researcher: object) -> None:
    with pytest.raises(
        DomainError, match=r"expected a mass, a volume or an amount of substance, got a current"
    ):
        s.add_component(version=pma.version, chemical=pma.chemicals["MMA"], amount="0.9 mA", actor=researcher)


def test_typed_steps_are_validated_per_kind(pma: PMA, researcher: object) -> None:
    uv = pma.version.steps.get(kind="uv_cure")
    assert (uv.wavelength, uv.duration, uv.temperature) == (365.0, 3600.0, 25.0)
    with pytest.raises(DomainError, match="a UV cure step needs its wavelength"):
        s.add_step(version=pma.version, kind="uv_cure", duration="1 h", actor=researcher)
    with pytest.raises(DomainError, match="a mix / stir step has no wavelength"):
        s.add_step(version=pma.version, kind="mix", wavelength="365 nm", actor=researcher)
    with pytest.raises(DomainError, match="pressure: expected a pressure, got a temperature"):
        s.add_step(
            version=pma.version, kind="press", pressure="300 degC", press_mode="isostatic", actor=researcher
        )
    step = s.add_step(
        version=pma.version,
        kind="sinter",
        temperature="1180 C",
        dwell="6 h",
        ramp_rate="5 K/min",
        mother_powder=True,
        actor=researcher,
    )
    assert (step.temperature, step.dwell, step.mother_powder) == (1180.0, 21600.0, True)


def test_a_version_used_by_a_batch_cannot_change_and_editing_makes_a_new_version(
    pma: PMA, researcher: object
) -> None:
    s.record_batch(version=pma.version, actor=researcher, draws=_draws(pma))
    pma.version.refresh_from_db()
    assert pma.version.is_frozen
    mma = pma.version.components.get(chemical__abbreviation="MMA")
    with pytest.raises(ConflictError, match="is frozen"):
        s.update_component(component=mma, amount="1.0 g", actor=researcher)
    with pytest.raises(ConflictError, match="is frozen"):
        s.add_step(version=pma.version, kind="dry", duration="2 h", actor=researcher)
    with pytest.raises(ConflictError, match="is frozen"):
        s.remove_component(component=mma, actor=researcher)

    lines = [
        {"chemical": c.chemical, "amount": "1.0 g" if c.pk == mma.pk else c.entered_as}
        for c in pma.version.components.select_related("chemical")
    ]
    v2 = s.revise_recipe(version=pma.version, actor=researcher, components=lines, steps=[])
    assert (v2.number, v2.derived_from_id, v2.is_frozen) == (2, pma.version.pk, False)
    assert v2.components.get(chemical__abbreviation="MMA").amount == 1.0
    assert pma.version.components.get(pk=mma.pk).amount == 0.9
    assert pma.version.steps.count() == 3


def test_editing_a_draft_version_rewrites_it_in_place(pma: PMA, researcher: object) -> None:
    lines = [{"chemical": pma.chemicals["LiFSI"], "amount": "3.5 g"}]
    same = s.revise_recipe(version=pma.version, actor=researcher, components=lines, steps=[])
    assert same.pk == pma.version.pk
    assert [c.amount for c in same.components.all()] == [3.5]


# ------------------------------------------------------------------------------------------------ batches


def test_a_batch_draws_every_component_and_the_ledger_points_back_to_it(pma: PMA, researcher: object) -> None:
    """G4 entered as 5 mL from a lot kept in mL: 100 - 5 = 95 mL left; LiFSI 25 - 3.74 = 21.26 g."""
    batch = s.record_batch(version=pma.version, actor=researcher, draws=_draws(pma))
    assert batch.components.count() == 6
    assert StockTransaction.objects.filter(batch=batch, kind="consume").count() == 6
    pma.lots["G4"].refresh_from_db()
    pma.lots["LiFSI"].refresh_from_db()
    assert pma.lots["G4"].quantity_on_hand == pytest.approx(95.0)
    assert pma.lots["LiFSI"].quantity_on_hand == pytest.approx(21.26)
    assert not batch.components.filter(flagged=True).exists()
    assert batch.filler_fraction is None


def test_a_batch_drawing_from_three_lots_where_one_draw_fails_leaves_all_three_lots_untouched(
    team: object, researcher: object
) -> None:
    salt = chem("salt A", "SA", "salt", molar_mass=100.0)
    solvent = chem("solvent B", "SB", "solvent", molar_mass=200.0, density=1.0)
    monomer = chem("monomer C", "MC", "monomer", molar_mass=100.0)
    lots = [
        receive_lot(chemical=salt, quantity="10 g", actor=researcher),
        receive_lot(chemical=solvent, quantity="10 mL", actor=researcher),
        receive_lot(chemical=monomer, quantity="0.5 g", actor=researcher),  # too little for 0.9 g
    ]
    recipe = s.create_recipe(
        team=team,  # type: ignore[arg-type]
        name="three lots",
        actor=researcher,
        components=[
            {"chemical": salt, "amount": "3 g"},
            {"chemical": solvent, "amount": "5 mL"},
            {"chemical": monomer, "amount": "0.9 g"},
        ],
    )
    version = recipe.versions.get()
    draws = [
        {"component": c, "lot": lot, "amount": c.entered_as}
        for c, lot in zip(version.components.order_by("order"), lots, strict=True)
    ]
    before = [(lot.quantity_on_hand, lot.transactions.count()) for lot in lots]

    with pytest.raises(ConflictError, match=r"MC: Not enough monomer C in lot .*Nothing was drawn"):
        s.record_batch(version=version, actor=researcher, draws=draws)

    for lot in lots:
        lot.refresh_from_db()
    assert [(lot.quantity_on_hand, lot.transactions.count()) for lot in lots] == before
    assert not Batch.objects.exists()
    version.refresh_from_db()
    assert not version.is_frozen


def test_mma_entered_as_a_volume_is_converted_through_its_density_and_flagged(
    pma: PMA, researcher: object
) -> None:
    """0.9 mL x 0.94 g/mL = 0.846 g against 0.9 g planned: d = (0.846 - 0.9) / 0.9 = -6 % > 2 %: flagged."""
    batch = s.record_batch(version=pma.version, actor=researcher, draws=_draws(pma, MMA="0.9 mL"))
    row = batch.components.get(recipe_component__chemical__abbreviation="MMA")
    assert row.actual_amount == pytest.approx(0.846)
    assert row.deviation == pytest.approx(-0.06)
    assert row.flagged
    assert row.entered_as == "0.9 mL"
    assert batch.components.filter(flagged=True).count() == 1


def test_an_actual_amount_in_a_current_is_refused_and_nothing_is_drawn(pma: PMA, researcher: object) -> None:
    with pytest.raises(
        DomainError, match=r"MMA: expected a mass, a volume or an amount of substance, got a current"
    ):
        s.record_batch(version=pma.version, actor=researcher, draws=_draws(pma, MMA="0.9 mA"))
    assert not StockTransaction.objects.filter(kind="consume").exists()


def test_a_batch_scaled_to_a_target_mass_plans_scaled_amounts(pma: PMA, researcher: object) -> None:
    """Target 21.0468 g = 2 x 10.5234 g: k = 2, LiFSI planned 7.48 g; 7.40 g is -1.07 %: within 2 %."""
    draws = _draws(
        pma, LiFSI="7.40 g", G4="10 mL", MAAc="0.774 g", MMA="1.8 g", NMMAm="0.892 g", HMPP="10 uL"
    )
    batch = s.record_batch(version=pma.version, actor=researcher, draws=draws, target_mass="21.0468 g")
    assert batch.scale_factor == pytest.approx(2.0)
    row = batch.components.get(recipe_component__chemical__abbreviation="LiFSI")
    assert row.planned_amount == pytest.approx(7.48)
    assert row.deviation == pytest.approx(-0.0107, abs=1e-4)
    assert not row.flagged


def test_a_batch_is_cancelled_with_a_reason_and_never_deleted(pma: PMA, researcher: object) -> None:
    batch = s.record_batch(version=pma.version, actor=researcher, draws=_draws(pma))
    with pytest.raises(DomainError, match="needs a reason"):
        s.cancel_batch(batch=batch, actor=researcher, reason=" ")
    cancelled = s.cancel_batch(batch=batch, actor=researcher, reason="precursor turned cloudy")
    assert (cancelled.status, cancelled.cancel_reason) == (BatchStatus.CANCELLED, "precursor turned cloudy")
    with pytest.raises(ConflictError, match="cannot be deleted"):
        s.delete_batch(batch=batch, actor=researcher)
    with pytest.raises(ConflictError, match="cancelled"):
        s.cast_membrane(
            batch=cancelled, mould=pma.mould, cast_mass="1 g", slurry_density="1.2 g/mL", actor=researcher
        )


def test_a_viewer_cannot_record_a_batch(pma: PMA, viewer: object) -> None:
    with pytest.raises(PermissionDenied):
        s.record_batch(version=pma.version, actor=viewer, draws=_draws(pma))


# ------------------------------------------------------------------------------------------------ products


def test_membrane_thickness_from_cast_mass(pma: PMA, researcher: object) -> None:
    """t = m / (rho A) = 1.2 g / (1.2 g/mL x 20 cm2) = 0.05 cm = 500 um; measured 480 um: (480-500)/500 = -4 %."""
    batch = s.record_batch(version=pma.version, actor=researcher, draws=_draws(pma))
    membrane = s.cast_membrane(
        batch=batch,
        mould=pma.mould,
        cast_mass="1.2 g",
        slurry_density="1.2 g/mL",
        thickness_measured="480 um",
        actor=researcher,
    )
    assert membrane.thickness_from_mass == pytest.approx(500.0)
    assert not membrane.slurry_density_estimated
    assert (membrane.cure_wavelength, membrane.cure_duration) == (365.0, 3600.0)  # from the recipe's UV step
    from formulations.selectors_synthesis import membrane_derived

    assert membrane_derived(membrane)["thickness_discrepancy"] == pytest.approx(-0.04)


def test_slurry_density_is_estimated_from_the_components_and_labelled(
    team: object, researcher: object
) -> None:
    """Solvent 5 g at 1.0 g/mL + filler 5 g at 5.0 g/mL: 1/rho = 0.5/1 + 0.5/5 = 0.6 -> rho = 1.6667 g/mL;
    2 g in 20 cm2: t = 2 / (1.6667 x 20) x 1e4 = 600 um. Filler wt% = 5 / 10 = 0.5."""
    solvent = chem("solvent", "S", "solvent", density=1.0)
    filler = chem("filler", "F", "ceramic_filler", density=5.0)
    lots = [receive_lot(chemical=c, quantity="50 g", actor=researcher) for c in (solvent, filler)]
    recipe = s.create_recipe(
        team=team,  # type: ignore[arg-type]
        name="slurry",
        actor=researcher,
        components=[{"chemical": solvent, "amount": "5 g"}, {"chemical": filler, "amount": "5 g"}],
    )
    version = recipe.versions.get()
    draws = [
        {"component": c, "lot": lot, "amount": "5 g"}
        for c, lot in zip(version.components.all(), lots, strict=True)
    ]
    batch = s.record_batch(version=version, actor=researcher, draws=draws)
    assert batch.filler_fraction == pytest.approx(0.5)
    mould = s.create_mould(name="m", area="20 cm^2", actor=researcher)
    membrane = s.cast_membrane(batch=batch, mould=mould, cast_mass="2 g", actor=researcher)
    assert membrane.slurry_density_estimated
    assert membrane.slurry_density == pytest.approx(1.6667, abs=1e-4)
    assert membrane.thickness_from_mass == pytest.approx(600.0)
    assert membrane.filler_fraction == pytest.approx(0.5)


def test_estimating_a_density_without_every_components_density_asks_for_a_measured_one(
    pma: PMA, researcher: object
) -> None:
    batch = s.record_batch(version=pma.version, actor=researcher, draws=_draws(pma))
    with pytest.raises(DomainError, match="has no density.*enter the measured slurry density"):
        s.cast_membrane(batch=batch, mould=pma.mould, cast_mass="1 g", actor=researcher)


def test_pellet_geometric_and_relative_density(pma: PMA, team: object, researcher: object) -> None:
    """m = 0.5 g, d = 10 mm, t = 1.5 mm: V = pi x 0.5^2 x 0.15 = 0.117810 cm3, rho = 4.2441 g/cm3;
    relative to 5.1 g/cm3: 0.83218. The powder (0.6 g) is drawn from the lot: 50 - 0.6 = 49.4 g."""
    pellet = s.make_pellet(
        team=team,  # type: ignore[arg-type]
        lot=pma.lots["LLZTO"],
        powder_mass="0.6 g",
        press_pressure="300 MPa",
        press_mode="isostatic",
        sinter_temperature="1180 C",
        sinter_dwell="6 h",
        final_diameter="10 mm",
        final_thickness="1.5 mm",
        final_mass="0.5 g",
        actor=researcher,
    )
    assert pellet.geometric_density == pytest.approx(4.2441, abs=1e-4)
    assert pellet.relative_density == pytest.approx(0.83218, abs=1e-5)
    assert pellet.sinter_dwell == 21600.0
    pma.lots["LLZTO"].refresh_from_db()
    assert pma.lots["LLZTO"].quantity_on_hand == pytest.approx(49.4)
    assert pellet.transaction is not None and pellet.transaction.quantity == pytest.approx(-0.6)


def test_a_pellet_heavier_than_its_powder_is_refused(pma: PMA, team: object, researcher: object) -> None:
    with pytest.raises(DomainError, match="weighs more than the powder"):
        s.make_pellet(
            team=team,  # type: ignore[arg-type]
            lot=pma.lots["LLZTO"],
            powder_mass="0.5 g",
            press_pressure="300 MPa",
            sinter_temperature="1180 C",
            sinter_dwell="6 h",
            final_diameter="10 mm",
            final_thickness="1.5 mm",
            final_mass="0.6 g",
            actor=researcher,
        )


def test_electrode_active_mass_and_one_c_current(pma: PMA, team: object, researcher: object) -> None:
    """12 mm disc: A = pi x 0.6^2 = 1.13097 cm2; 2.0 mg/cm2 -> m = 2.26195 mg; 1 C = 2.26195e-3 g x 170 mAh/g
    = 0.384531 mA; 0.5 C = 0.192265 mA."""
    from formulations.selectors_synthesis import electrode_derived

    electrode = s.make_electrode(
        team=team,  # type: ignore[arg-type]
        active_lot=pma.lots["LFP"],
        active_fraction=0.8,
        conductive_fraction=0.1,
        binder_fraction=0.1,
        diameter="12 mm",
        loading="2.0 mg/cm^2",
        actor=researcher,
    )
    assert electrode.area == pytest.approx(1.13097, abs=1e-5)
    derived = electrode_derived(electrode, c_rate=0.5)
    assert derived["active_mass_mg"] == pytest.approx(2.26195, abs=1e-5)
    assert derived["one_c_current_mA"] == pytest.approx(0.384531, abs=1e-6)
    assert derived["current_at_c_rate_mA"] == pytest.approx(0.192265, abs=1e-6)


def test_electrode_from_a_weighed_coating_and_fractions_that_do_not_add_up(
    pma: PMA, team: object, researcher: object
) -> None:
    """Coating 10 mg at 80 % active: m = 8 mg."""
    electrode = s.make_electrode(
        team=team,  # type: ignore[arg-type]
        active_lot=pma.lots["LFP"],
        active_fraction=0.8,
        conductive_fraction=0.1,
        binder_fraction=0.1,
        area="1.0 cm^2",
        coating_mass="10 mg",
        actor=researcher,
    )
    assert electrode.active_mass == pytest.approx(0.008)
    with pytest.raises(DomainError, match="sum to 0.9"):
        s.make_electrode(
            team=team,  # type: ignore[arg-type]
            active_lot=pma.lots["LFP"],
            active_fraction=0.8,
            conductive_fraction=0.1,
            area="1 cm^2",
            loading="2 mg/cm^2",
            actor=researcher,
        )


def test_history_records_the_actor_of_a_service_change(pma: PMA, researcher: object) -> None:
    batch = s.record_batch(version=pma.version, actor=researcher, draws=_draws(pma))
    assert batch.history.first().history_user == researcher  # type: ignore[attr-defined]
    assert ProcessStep.history.filter(history_user=researcher).count() == 3  # type: ignore[attr-defined]
