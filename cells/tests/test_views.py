"""The cells pages: list (query count), detail with lineage and state buttons, assembly forms, graph, label."""

from __future__ import annotations

import pytest
from django.test import Client

from cells.models import Cell, CellState
from cells.tests import factories as f
from formulations.models import ChemicalRole

pytestmark = pytest.mark.django_db


@pytest.fixture
def materials(team, researcher):
    li = f.li_foil_lot(user=researcher, quantity="2 g")
    salt = f.lot(user=researcher, chem=f.chemical("LiFSI", role=ChemicalRole.SALT))
    version = f.recipe_version(team=team, user=researcher, name="LLZTO-PMA 20", filler_fraction=0.2)
    b = f.batch(team=team, user=researcher, version=version, lots=[salt])
    m = f.membrane(team=team, user=researcher, b=b, filler_fraction=0.2)
    return {"li": li, "membrane": m, "salt": salt, "batch": b}


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_the_cell_list_page_uses_a_fixed_number_of_queries(
    researcher, team, materials, django_assert_max_num_queries
):
    client = _client(researcher)
    f.symmetric_cell(team=team, user=researcher, membrane_=materials["membrane"], li=materials["li"])
    client.get("/cells/")  # warm caches (content types, sessions)
    with django_assert_max_num_queries(12) as few:
        assert client.get("/cells/").status_code == 200
    for _ in range(8):
        f.symmetric_cell(team=team, user=researcher, membrane_=materials["membrane"], li=materials["li"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/cells/?configuration=symmetric")
    assert response.content.decode().count('href="/cells/') >= 9


def test_the_detail_page_shows_composition_lineage_and_the_allowed_state_buttons(researcher, team, materials):
    cell = f.symmetric_cell(team=team, user=researcher, membrane_=materials["membrane"], li=materials["li"])
    page = _client(researcher).get(f"/cells/{cell.pk}/").content.decode()
    assert materials["li"].code in page and materials["salt"].code in page and materials["batch"].code in page
    assert 'value="on_test"' in page and 'value="disassembled"' in page and 'value="finished"' not in page
    assert 'data-confirm="Mark ' in page  # destructive transitions ask first
    assert "csrfmiddlewaretoken" in page


def test_a_state_button_changes_the_state_and_a_stale_page_shows_the_conflict(researcher, team, materials):
    cell = f.symmetric_cell(team=team, user=researcher, membrane_=materials["membrane"], li=materials["li"])
    client = _client(researcher)
    client.post(f"/cells/{cell.pk}/state/", {"to_state": "on_test", "version": 1, "reason": "start"})
    assert Cell.objects.get(pk=cell.pk).state == CellState.ON_TEST
    response = client.post(f"/cells/{cell.pk}/state/", {"to_state": "failed", "version": 1}, follow=True)
    assert "changed by someone else since you opened it" in response.content.decode()
    assert Cell.objects.get(pk=cell.pk).state == CellState.ON_TEST


def test_the_assembly_form_builds_a_cell_and_shows_rule_errors_next_to_the_form(researcher, team, materials):
    client = _client(researcher)
    data = {
        "configuration": "symmetric",
        "cell_format": "coin",
        "format_detail": "CR2032",
        "membrane": materials["membrane"].pk,
        "li_foil_lot": materials["li"].pk,
        "li_foil_amount": "0.046 g",
        "li_foil_area": "15.6 mm * 15.6 mm * 0.785398",
        "code": "FORM-001",
    }
    response = client.post("/cells/new/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    cell = Cell.objects.get(code="FORM-001")
    assert cell.active_area == pytest.approx(1.911, rel=1e-3)
    bad = client.post("/cells/new/", {**data, "code": "FORM-002", "configuration": "full"})
    assert bad.status_code == 200 and "needs a cathode electrode" in bad.content.decode()
    wrong_unit = client.post("/cells/new/", {**data, "code": "FORM-003", "li_foil_amount": "5 mL"})
    assert "expected a mass, got a volume: 5 mL" in wrong_unit.content.decode()


def test_the_bulk_form_assembles_n_cells_or_none(researcher, team, materials):
    client = _client(researcher)
    data = {
        "configuration": "symmetric",
        "cell_format": "coin",
        "membrane": materials["membrane"].pk,
        "li_foil_lot": materials["li"].pk,
        "li_foil_amount": "46 mg",
        "li_foil_area": "1.911 cm^2",
        "count": 3,
        "code_base": "BULK",
    }
    assert client.post("/cells/bulk/", data).status_code == 302
    assert sorted(Cell.objects.values_list("code", flat=True)) == ["BULK-001", "BULK-002", "BULK-003"]
    too_many = client.post(
        "/cells/bulk/", {**data, "count": 200}
    )  # 400 discs x 46 mg = 18.4 g > 1.724 g left
    assert "Not enough Li foil" in too_many.content.decode()
    assert Cell.objects.count() == 3


def test_the_viewer_cannot_open_the_assembly_form_or_press_a_state_button(
    viewer, researcher, team, materials
):
    cell = f.symmetric_cell(team=team, user=researcher, membrane_=materials["membrane"], li=materials["li"])
    client = _client(viewer)
    assert client.get("/cells/new/").status_code == 403
    assert client.post(f"/cells/{cell.pk}/state/", {"to_state": "on_test", "version": 1}).status_code == 403
    assert 'value="on_test"' not in client.get(f"/cells/{cell.pk}/").content.decode()


def test_an_outsider_gets_404_on_every_page_of_the_cell(outsider, researcher, team, materials):
    cell = f.symmetric_cell(team=team, user=researcher, membrane_=materials["membrane"], li=materials["li"])
    client = _client(outsider)
    for url in ("", "provenance/", "label/"):
        assert client.get(f"/cells/{cell.pk}/{url}").status_code == 404
    assert client.post(f"/cells/{cell.pk}/state/", {"to_state": "on_test", "version": 1}).status_code == 404
    assert client.get(f"/cells/code/{cell.code}/").status_code == 404


def test_the_provenance_page_draws_an_svg_whose_nodes_link_to_their_records(researcher, team, materials):
    cell = f.symmetric_cell(team=team, user=researcher, membrane_=materials["membrane"], li=materials["li"])
    page = _client(researcher).get(f"/cells/{cell.pk}/provenance/").content.decode()
    assert "<svg" in page and "<script" not in page.split("</head>")[1]
    assert f'href="/cells/{cell.pk}/"' in page and f"{materials['salt'].code}" in page
    where = _client(researcher).get(f"/provenance/where-used/?lot={materials['salt'].pk}").content.decode()
    assert cell.code in where and "Cells made from it (1)" in where


def test_lot_batch_and_membrane_pages_link_to_where_they_were_used(researcher, team, materials):
    client = _client(researcher)
    membrane = materials["membrane"]
    pages = {
        f"/inventory/lots/{materials['salt'].pk}/": f"/provenance/where-used/?lot={materials['salt'].pk}",
        f"/batches/{membrane.batch_id}/": f"/provenance/where-used/?batch={membrane.batch_id}",
        f"/membranes/{membrane.pk}/": f"/provenance/where-used/?membrane={membrane.pk}",
    }
    for page, link in pages.items():
        assert f'href="{link}"' in client.get(page).content.decode(), page
        assert client.get(link).status_code == 200, link


def test_the_label_has_a_qr_code_and_lookup_by_code_redirects(researcher, team, materials):
    cell = f.symmetric_cell(
        team=team, user=researcher, membrane_=materials["membrane"], li=materials["li"], code="LBL-001"
    )
    client = _client(researcher)
    label = client.get(f"/cells/{cell.pk}/label/").content.decode()
    assert "<svg" in label and "LBL-001" in label and "symmetric" in label
    assert client.get("/cells/lookup/?code=lbl-001")["Location"] == f"/cells/{cell.pk}/"
    assert client.get("/cells/lookup/?code=nope").status_code == 404


def test_the_dashboard_lists_cells_on_test_and_search_finds_cells_by_code(researcher, team, materials):
    from cells.services import change_state

    cell = f.symmetric_cell(
        team=team, user=researcher, membrane_=materials["membrane"], li=materials["li"], code="DASH-001"
    )
    change_state(cell=cell, to_state="on_test", actor=researcher)
    client = _client(researcher)
    home = client.get("/").content.decode()
    assert "Cells on test" in home and "DASH-001" in home and "Assemble cells" in home
    assert client.get("/search/?q=DASH-00")["Location"] == f"/cells/{cell.pk}/"


def test_the_post_mortem_form_saves_observations_and_a_file(researcher, team, materials):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from cells.services import change_state

    cell = f.symmetric_cell(team=team, user=researcher, membrane_=materials["membrane"], li=materials["li"])
    cell = change_state(cell=cell, to_state="disassembled", actor=researcher)
    client = _client(researcher)
    client.post(
        f"/cells/{cell.pk}/postmortem/",
        {
            "version": cell.version,
            "notes": "delaminated",
            "dendrites_observed": "false",
            "delamination_observed": "true",
            "file_kind": "sem",
            "file": SimpleUploadedFile("sem.png", b"png-bytes"),
        },
    )
    cell.refresh_from_db()
    assert cell.delamination_observed is True and cell.dendrites_observed is False
    page = client.get(f"/cells/{cell.pk}/").content.decode()
    assert "sem.png" in page
    from cells.selectors import attachments_of

    attachment = attachments_of(cell).get()
    download = client.get(f"/cells/{cell.pk}/files/{attachment.pk}/")
    content = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    assert download.status_code == 200 and content == b"png-bytes"


@pytest.mark.parametrize("observed", [True, False, None])
def test_the_post_mortem_form_shows_what_was_recorded_and_saving_it_again_keeps_it(
    researcher, team, materials, observed
):
    """The form's selects show the recorded answers; a browser posts the form as shown (new notes only) and the
    observations stay as they were."""
    import re

    from cells.services import change_state, record_postmortem

    cell = f.symmetric_cell(team=team, user=researcher, membrane_=materials["membrane"], li=materials["li"])
    cell = change_state(cell=cell, to_state="disassembled", actor=researcher)
    cell = record_postmortem(
        cell=cell,
        actor=researcher,
        notes="first look",
        dendrites_observed=observed,
        delamination_observed=None if observed is None else not observed,
        version=cell.version,
    )
    client = _client(researcher)
    page = client.get(f"/cells/{cell.pk}/").content.decode()

    def selected(name: str) -> str:
        select = re.search(rf'<select name="{name}".*?</select>', page, re.S)
        assert select is not None
        chosen = re.findall(r'<option value="([a-z]+)" selected>', select.group(0))
        assert len(chosen) == 1, select.group(0)
        return chosen[0]

    expected = {True: "true", False: "false", None: "unknown"}
    assert selected("dendrites_observed") == expected[observed]
    assert selected("delamination_observed") == expected[None if observed is None else not observed]
    version = re.search(r'<input type="hidden" name="version" value="(\d+)"', page)
    assert version is not None
    client.post(
        f"/cells/{cell.pk}/postmortem/",
        {
            "version": version.group(1),
            "notes": "second look",
            "dendrites_observed": selected("dendrites_observed"),
            "delamination_observed": selected("delamination_observed"),
            "file_kind": "sem",
        },
    )
    cell.refresh_from_db()
    assert cell.postmortem_notes == "second look"
    assert cell.dendrites_observed is observed
    assert cell.delamination_observed is (None if observed is None else not observed)
