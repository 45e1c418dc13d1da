"""Assembly with per-configuration validation, bulk assembly, the state machine and the post-mortem."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cells import services
from cells.models import Cell, CellComponent, CellState, CellStateChange, ComponentKind, Configuration
from cells.services import CellSpec, ComponentSpec, standard_components
from cells.tests import factories as f
from formulations.models import ChemicalRole, StockTransaction
from lims.errors import ConflictError, DomainError
from lims.models import Attachment

pytestmark = pytest.mark.django_db


@pytest.fixture
def materials(team, researcher):
    li = f.li_foil_lot(user=researcher, quantity="1 g")
    salt = f.lot(user=researcher, chem=f.chemical("LiFSI", role=ChemicalRole.SALT))
    version = f.recipe_version(team=team, user=researcher, filler_fraction=0.2)
    b = f.batch(team=team, user=researcher, version=version, lots=[salt])
    m = f.membrane(team=team, user=researcher, b=b, filler_fraction=0.2)
    lfp = f.lot(user=researcher, chem=f.chemical("LiFePO4", role=ChemicalRole.CATHODE_ACTIVE))
    llzto = f.lot(user=researcher, chem=f.chemical("LLZTO", role=ChemicalRole.CERAMIC_FILLER))
    return {"li": li, "membrane": m, "lfp": lfp, "llzto": llzto, "salt": salt, "batch": b}


def _spec(configuration, materials, **extra):
    components = standard_components(
        configuration=configuration,
        li_foil_lot=materials["li"],
        li_foil_amount="46 mg",
        li_foil_area_cm2=1.911,
        stainless_area_cm2=2.0,
    )
    return CellSpec(
        configuration=configuration, membrane=materials["membrane"], components=components, **extra
    )


# ------------------------------------------------------------------------------------------------ validation


def test_a_symmetric_cell_draws_two_li_discs_and_takes_the_smaller_electrode_as_active_area(
    team, researcher, materials
):
    """Two Li discs of 46 mg each: 1 g - 2 x 0.046 g = 0.908 g left; both discs 1.911 cm2 -> area 1.911 cm2."""
    cell = services.assemble_cell(
        team=team, actor=researcher, spec=_spec(Configuration.SYMMETRIC, materials), code="LP20-SYM-001"
    )
    materials["li"].refresh_from_db()
    assert materials["li"].quantity_on_hand == pytest.approx(0.908)
    assert cell.active_area == pytest.approx(1.911)
    kinds = sorted(cell.components.values_list("kind", "position"))
    assert kinds == [("li_foil", "negative"), ("li_foil", "positive")]
    draws = StockTransaction.objects.filter(lot=materials["li"], kind="consume")
    assert draws.count() == 2 and all(t.purpose == "cell LP20-SYM-001" for t in draws)
    assert set(cell.components.values_list("transaction_id", flat=True)) == set(
        draws.values_list("id", flat=True)
    )
    assert cell.state == CellState.ASSEMBLED and cell.operator == researcher


def test_a_symmetric_cell_with_one_li_electrode_is_refused_with_a_clear_message(team, researcher, materials):
    spec = _spec(Configuration.SYMMETRIC, materials)
    spec.components = spec.components[:1]
    with pytest.raises(DomainError, match=r"symmetric Li\|E\|Li cell has two Li foil electrodes; got 1"):
        services.assemble_cell(team=team, actor=researcher, spec=spec)
    assert not Cell.objects.exists()


def test_a_full_cell_needs_a_cathode_with_an_active_mass(team, researcher, materials):
    spec = _spec(Configuration.FULL, materials)
    with pytest.raises(DomainError, match="needs a cathode electrode"):
        services.assemble_cell(team=team, actor=researcher, spec=spec)
    massless = f.electrode(team=team, user=researcher, active=materials["lfp"], active_mass_g=0.0)
    spec.cathode = massless
    with pytest.raises(DomainError, match=f"needs a cathode with an active mass; electrode {massless.code}"):
        services.assemble_cell(team=team, actor=researcher, spec=spec)


def test_a_full_cell_takes_the_cathode_area_when_it_is_smaller_than_the_li_disc(team, researcher, materials):
    """Li disc 1.911 cm2 (15.6 mm), cathode 1.131 cm2 (12 mm): the active area is min(1.911, 1.131) = 1.131 cm2."""
    cathode = f.electrode(team=team, user=researcher, active=materials["lfp"], area=1.131)
    spec = _spec(Configuration.FULL, materials, cathode=cathode)
    cell = services.assemble_cell(team=team, actor=researcher, spec=spec)
    assert cell.active_area == pytest.approx(1.131)
    assert cell.components.get(kind=ComponentKind.CATHODE).electrode == cathode
    other = _spec(Configuration.FULL, materials, cathode=cathode)
    with pytest.raises(ConflictError, match=f"Electrode {cathode.code} is already in cell {cell.code}"):
        services.assemble_cell(team=team, actor=researcher, spec=other)


def test_an_area_override_wins_over_the_electrodes(team, researcher, materials):
    cell = services.assemble_cell(
        team=team, actor=researcher, spec=_spec(Configuration.SYMMETRIC, materials, area_override_cm2=1.0)
    )
    assert cell.active_area == 1.0 and cell.area_override == 1.0


def test_a_blocking_cell_with_li_is_refused(team, researcher, materials):
    spec = _spec(Configuration.BLOCKING, materials)
    spec.components.append(
        ComponentSpec(kind=ComponentKind.LI_FOIL, lot=materials["li"], amount="46 mg", area_cm2=1.9)
    )
    with pytest.raises(DomainError, match=r"blocking SS\|E\|SS cell has no Li"):
        services.assemble_cell(team=team, actor=researcher, spec=spec)


def test_a_blocking_cell_needs_stainless_on_both_sides(team, researcher, materials):
    spec = _spec(Configuration.BLOCKING, materials)
    spec.components = spec.components[:1]
    with pytest.raises(DomainError, match="stainless-steel electrodes on both sides; got 1"):
        services.assemble_cell(team=team, actor=researcher, spec=spec)


def test_a_blocking_cell_on_a_pellet_draws_nothing(team, researcher, materials):
    p = f.pellet(team=team, user=researcher, powder=materials["llzto"])
    spec = _spec(Configuration.BLOCKING, materials, pellet=p)
    spec.membrane = None
    before = StockTransaction.objects.count()
    cell = services.assemble_cell(team=team, actor=researcher, spec=spec)
    assert cell.pellet == p and cell.active_area == pytest.approx(2.0)
    assert StockTransaction.objects.count() == before


def test_a_li_ss_cell_has_one_li_and_one_stainless(team, researcher, materials):
    cell = services.assemble_cell(team=team, actor=researcher, spec=_spec(Configuration.LI_SS, materials))
    assert sorted(cell.components.values_list("kind", flat=True)) == ["li_foil", "stainless"]
    spec = _spec(Configuration.LI_SS, materials)
    spec.components.append(ComponentSpec(kind="stainless", area_cm2=2.0))
    with pytest.raises(
        DomainError, match="one Li foil and one stainless-steel electrode; got 1 Li and 2 stainless"
    ):
        services.assemble_cell(team=team, actor=researcher, spec=spec)


def test_li_foil_needs_its_lot_and_mass_and_must_be_an_anode_metal(team, researcher, materials):
    spec = _spec(Configuration.SYMMETRIC, materials)
    spec.components[0].amount = None
    with pytest.raises(DomainError, match="Give the mass of Li foil used per electrode"):
        services.assemble_cell(team=team, actor=researcher, spec=spec)
    spec = _spec(Configuration.SYMMETRIC, materials)
    spec.components[0].lot = materials["salt"]
    with pytest.raises(DomainError, match="is LiFSI, not an anode metal"):
        services.assemble_cell(team=team, actor=researcher, spec=spec)


def test_a_cell_needs_exactly_one_electrolyte_of_its_own_team(team, other_team, researcher, materials):
    spec = _spec(Configuration.SYMMETRIC, materials)
    spec.membrane = None
    with pytest.raises(DomainError, match="exactly one electrolyte"):
        services.assemble_cell(team=team, actor=researcher, spec=spec)
    with pytest.raises(DomainError, match="belongs to another team"):
        services.assemble_cell(
            team=other_team, actor=researcher, spec=_spec(Configuration.SYMMETRIC, materials)
        )


def test_a_duplicate_code_is_refused(team, researcher, materials):
    services.assemble_cell(
        team=team, actor=researcher, spec=_spec(Configuration.SYMMETRIC, materials), code="X-1"
    )
    with pytest.raises(ConflictError, match="A cell with code X-1 already exists"):
        services.assemble_cell(
            team=team, actor=researcher, spec=_spec(Configuration.SYMMETRIC, materials), code="X-1"
        )


# ------------------------------------------------------------------------------------------------ bulk


def test_bulk_assembly_builds_n_cells_with_running_suffixes_and_draws_each_li_disc(
    team, researcher, materials
):
    """4 symmetric cells x 2 discs x 46 mg = 0.368 g: 1 g - 0.368 g = 0.632 g left, 8 ledger rows."""
    f.symmetric_cell(
        team=team, user=researcher, membrane_=materials["membrane"], li=materials["li"], code="LP-SYM-007"
    )
    after_first = 1.0 - 0.080
    cells = services.bulk_assemble(
        team=team,
        actor=researcher,
        spec=_spec(Configuration.SYMMETRIC, materials),
        count=4,
        code_base="LP-SYM",
    )
    assert [c.code for c in cells] == ["LP-SYM-008", "LP-SYM-009", "LP-SYM-010", "LP-SYM-011"]
    materials["li"].refresh_from_db()
    assert materials["li"].quantity_on_hand == pytest.approx(after_first - 0.368)
    assert CellComponent.objects.filter(cell__in=cells, transaction__isnull=False).count() == 8
    assert all(c.membrane == materials["membrane"] for c in cells)


def test_a_bulk_assembly_whose_draw_fails_leaves_every_lot_and_cell_untouched(team, researcher, materials):
    """1 g of Li and 46 mg per disc: 10 cells need 20 x 0.046 = 0.92 g (fits), 11 cells need 1.012 g (does not).

    The 22nd draw is refused, so none of the 11 cells, components or ledger rows may remain."""
    ledger_before = StockTransaction.objects.count()
    with pytest.raises(ConflictError, match="Not enough Li foil"):
        services.bulk_assemble(
            team=team,
            actor=researcher,
            spec=_spec(Configuration.SYMMETRIC, materials),
            count=11,
            code_base="B",
        )
    materials["li"].refresh_from_db()
    assert materials["li"].quantity_on_hand == pytest.approx(1.0)
    assert not Cell.objects.exists() and not CellComponent.objects.exists()
    assert StockTransaction.objects.count() == ledger_before


def test_bulk_full_cells_take_one_cathode_each(team, researcher, materials):
    e1 = f.electrode(team=team, user=researcher, active=materials["lfp"])
    e2 = f.electrode(team=team, user=researcher, active=materials["lfp"])
    spec = _spec(Configuration.FULL, materials)
    with pytest.raises(DomainError, match="2 full cells need 2 cathode electrodes; 1 chosen"):
        services.bulk_assemble(team=team, actor=researcher, spec=spec, count=2, cathodes=[e1])
    cells = services.bulk_assemble(
        team=team, actor=researcher, spec=spec, count=2, cathodes=[e1, e2], code_base="LFP"
    )
    assert [(c.code, c.cathode) for c in cells] == [("LFP-001", e1), ("LFP-002", e2)]


def test_bulk_assembly_needs_a_membrane(team, researcher, materials):
    p = f.pellet(team=team, user=researcher, powder=materials["llzto"])
    spec = _spec(Configuration.BLOCKING, materials, pellet=p)
    spec.membrane = None
    with pytest.raises(DomainError, match="from one membrane"):
        services.bulk_assemble(team=team, actor=researcher, spec=spec, count=2)


# ------------------------------------------------------------------------------------------------ state


@pytest.fixture
def cell(team, researcher, materials):
    return f.symmetric_cell(team=team, user=researcher, membrane_=materials["membrane"], li=materials["li"])


def test_legal_transitions_record_actor_reason_and_time_and_bump_the_version(cell, researcher, manager):
    services.change_state(
        cell=cell, to_state="on_test", actor=researcher, reason="cycling 0.1 mA/cm2", version=1
    )
    services.change_state(
        cell=cell, to_state="shorted", actor=manager, reason="voltage dropped to 0", version=2
    )
    cell = services.change_state(cell=cell, to_state="disassembled", actor=researcher, version=3)
    assert cell.state == CellState.DISASSEMBLED and cell.version == 4
    rows = list(
        CellStateChange.objects.filter(cell=cell).values_list("from_state", "to_state", "actor__username")
    )
    assert rows == [
        ("assembled", "on_test", "rita"),
        ("on_test", "shorted", "max"),
        ("shorted", "disassembled", "rita"),
    ]
    assert CellStateChange.objects.get(cell=cell, to_state="shorted").reason == "voltage dropped to 0"
    assert cell.history.first().history_change_reason.startswith("state shorted -> disassembled")


def test_an_illegal_transition_is_refused_naming_the_allowed_ones(cell, researcher):
    with pytest.raises(ConflictError) as exc:
        services.change_state(cell=cell, to_state="finished", actor=researcher)
    assert str(exc.value) == (
        f"Cell {cell.code} is assembled and cannot go to finished; allowed: on test, failed, disassembled"
    )
    cell.refresh_from_db()
    assert cell.state == CellState.ASSEMBLED and cell.version == 1
    assert not CellStateChange.objects.exists()


def test_a_disassembled_cell_cannot_change_state_any_more(cell, researcher):
    services.change_state(cell=cell, to_state="disassembled", actor=researcher)
    with pytest.raises(ConflictError, match="is disassembled: its state cannot change any more"):
        services.change_state(cell=cell, to_state="on_test", actor=researcher)


def test_a_stale_version_is_refused_as_changed_by_someone_else(cell, researcher, manager):
    services.change_state(cell=cell, to_state="on_test", actor=manager, version=1)
    with pytest.raises(ConflictError, match="changed by someone else since you opened it"):
        services.change_state(cell=cell, to_state="failed", actor=researcher, version=1)
    cell.refresh_from_db()
    assert cell.state == CellState.ON_TEST


def test_the_post_mortem_is_recorded_after_disassembly_with_its_files(cell, researcher):
    with pytest.raises(ConflictError, match="record the post-mortem after disassembly"):
        services.record_postmortem(cell=cell, actor=researcher, notes="too early")
    services.change_state(cell=cell, to_state="disassembled", actor=researcher)
    sem = SimpleUploadedFile("sem.png", b"\x89PNG fake", content_type="image/png")
    cell = services.record_postmortem(
        cell=cell,
        actor=researcher,
        notes="mossy Li on the negative side",
        dendrites_observed=True,
        delamination_observed=False,
        files=[services.PostmortemFile(file=sem, kind="sem", caption="cross-section")],
    )
    assert cell.dendrites_observed is True and cell.delamination_observed is False
    attachment = Attachment.objects.get(object_id=cell.pk)
    assert attachment.kind == "sem" and attachment.team_id == cell.team_id


def test_deleting_an_untested_cell_returns_its_li_to_the_lot(cell, researcher, materials):
    """The cell drew 2 x 40 mg: 1 g -> 0.92 g; deleting returns 0.08 g -> 1 g."""
    materials["li"].refresh_from_db()
    assert materials["li"].quantity_on_hand == pytest.approx(0.92)
    services.delete_cell(cell=cell, actor=researcher, reason="typed the wrong membrane")
    materials["li"].refresh_from_db()
    assert materials["li"].quantity_on_hand == pytest.approx(1.0)
    assert not Cell.objects.exists()


def test_next_codes_continue_after_the_highest_suffix(cell, team, researcher, materials):
    f.symmetric_cell(
        team=team, user=researcher, membrane_=materials["membrane"], li=materials["li"], code="Q-002"
    )
    f.symmetric_cell(
        team=team, user=researcher, membrane_=materials["membrane"], li=materials["li"], code="Q-009"
    )
    assert services.next_codes("Q", 2) == ["Q-010", "Q-011"]
    assert services.next_codes("NEW", 1) == ["NEW-001"]
