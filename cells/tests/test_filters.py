"""The cell list's filters ask for what a researcher knows (codes, names), the API keeps its id parameters, and the
cell pages say "not recorded" / "—" for missing values and "yet" or "matches these filters" for an empty list."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from cells.models import Cell
from cells.tests import factories as f
from lims.tests.pages import form_labels, page_text

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def lab(team, researcher, other_team, outsider):  # type: ignore[no-untyped-def]
    """Two membranes and a pellet of the team, a cell on each; a membrane and cell of another team."""
    li = f.li_foil_lot(user=researcher, quantity="5 g")
    ours = f.two_membranes_and_a_pellet(team=team, user=researcher)
    salt, version, m1, m2, p = ours["salt"], ours["version"], ours["m1"], ours["m2"], ours["pellet"]
    other_version = f.recipe_version(team=other_team, user=outsider, name="Other recipe")
    other_m = f.membrane(
        team=other_team,
        user=outsider,
        b=f.batch(team=other_team, user=outsider, version=other_version, lots=[salt]),
    )
    return {
        "m1": m1,
        "m2": m2,
        "pellet": p,
        "version": version,
        "other_version": other_version,
        "c1": f.symmetric_cell(team=team, user=researcher, membrane_=m1, li=li),
        "c2": f.symmetric_cell(team=team, user=researcher, membrane_=m2, li=li),
        "cp": f.blocking_cell(team=team, user=researcher, pellet_=p),
        "other": f.symmetric_cell(team=other_team, user=outsider, membrane_=other_m, li=li),
    }


def _codes_on_page(html: str) -> set[str]:
    return set(re.findall(r'href="/cells/\d+/">([^<]+)</a>', html))


# ------------------------------------------------------------------------------------------------ the form


def test_the_cell_list_asks_for_membrane_and_pellet_codes_and_offers_teams_and_versions_by_name(
    researcher, team, other_team, lab
):  # type: ignore[no-untyped-def]
    html = _client(researcher).get("/cells/").content.decode()
    labels = form_labels(html)
    assert "Membrane code" in labels and "Pellet code" in labels
    assert "Team" in labels and "Electrolyte recipe version" in labels
    assert not [label for label in labels if "(id)" in label or label.endswith(" id")], labels
    # the API's id parameters are not drawn on the page
    assert 'name="membrane"' not in html and 'name="pellet"' not in html
    # teams and recipe versions by name, only the user's own
    team_select = re.search(r'<select name="team".*?</select>', html, re.S)
    assert team_select is not None
    assert f'<option value="{team.pk}">{team.name}</option>' in team_select.group(0)
    assert other_team.name not in html
    version_select = re.search(r'<select name="recipe_version".*?</select>', html, re.S)
    assert version_select is not None
    assert f'<option value="{lab["version"].pk}">PMA-LiFSI v1</option>' in version_select.group(0)
    assert "Other recipe" not in version_select.group(0)


def test_an_id_filter_set_by_an_old_link_shows_on_the_page_so_that_it_can_be_cleared(researcher, lab):  # type: ignore[no-untyped-def]
    html = _client(researcher).get(f"/cells/?membrane={lab['m1'].pk}").content.decode()
    assert f'name="membrane" value="{lab["m1"].pk}"' in html
    assert _codes_on_page(html) == {lab["c1"].code}


def test_the_chosen_team_stays_selected(researcher, team, lab):  # type: ignore[no-untyped-def]
    html = _client(researcher).get(f"/cells/?team={team.pk}").content.decode()
    assert f'<option value="{team.pk}" selected>{team.name}</option>' in html


# ------------------------------------------------------------------------------------------------ the rows


def test_the_membrane_code_finds_the_cells_of_that_membrane_ignoring_case_and_spaces(researcher, lab):  # type: ignore[no-untyped-def]
    typed = f"  {lab['m2'].code.lower()} "
    html = _client(researcher).get("/cells/", {"membrane_code": typed}).content.decode()
    assert _codes_on_page(html) == {lab["c2"].code}


def test_the_pellet_code_finds_the_cells_of_that_pellet(researcher, lab):  # type: ignore[no-untyped-def]
    html = _client(researcher).get("/cells/", {"pellet_code": lab["pellet"].code}).content.decode()
    assert _codes_on_page(html) == {lab["cp"].code}


def test_a_code_of_another_teams_membrane_finds_nothing(researcher, lab):  # type: ignore[no-untyped-def]
    other_membrane = lab["other"].membrane.code
    html = _client(researcher).get("/cells/", {"membrane_code": other_membrane}).content.decode()
    assert _codes_on_page(html) == set()
    assert "No cell matches these filters." in page_text(html)


def test_the_recipe_version_choice_filters_by_version(researcher, lab):  # type: ignore[no-untyped-def]
    html = _client(researcher).get("/cells/", {"recipe_version": lab["version"].pk}).content.decode()
    assert _codes_on_page(html) == {lab["c1"].code, lab["c2"].code}


def test_the_api_keeps_its_id_parameters_and_adds_the_codes(api, researcher, team, other_team, lab):  # type: ignore[no-untyped-def]
    client = api(researcher)

    def codes(query: str) -> set[str]:
        response = client.get(f"/api/v1/cells/?{query}")
        assert response.status_code == 200, response.content
        body = response.json()
        return {row["code"] for row in (body["results"] if isinstance(body, dict) else body)}

    c1, c2, cp = lab["c1"].code, lab["c2"].code, lab["cp"].code
    assert codes(f"membrane={lab['m1'].pk}") == {c1}
    assert codes(f"pellet={lab['pellet'].pk}") == {cp}
    assert codes(f"team={team.pk}") == {c1, c2, cp}
    assert codes(f"recipe_version={lab['version'].pk}") == {c1, c2}
    # as before: an id the user cannot see is no error, it finds nothing
    assert codes(f"team={other_team.pk}") == set()
    assert codes(f"recipe_version={lab['other_version'].pk}") == set()
    assert client.get("/api/v1/cells/?team=abc").status_code == 400
    # the new parameters
    assert codes(f"membrane_code={lab['m2'].code.lower()}") == {c2}
    assert codes(f"pellet_code={lab['pellet'].code}") == {cp}
    assert codes("membrane_code=NO-SUCH-MEMBRANE") == set()


def test_the_filtered_cell_list_runs_as_many_queries_with_many_cells_as_with_one(
    researcher, team, lab, django_assert_max_num_queries
):  # type: ignore[no-untyped-def]
    """The team and version choice lists cost one query each, whatever the number of rows."""
    client = _client(researcher)
    url = f"/cells/?membrane_code={lab['m1'].code}&team={team.pk}&recipe_version={lab['version'].pk}"
    client.get(url)
    with django_assert_max_num_queries(14) as few:
        assert client.get(url).status_code == 200
    li = f.li_foil_lot(user=researcher, quantity="5 g")
    for _ in range(6):
        f.symmetric_cell(team=team, user=researcher, membrane_=lab["m1"], li=li)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(url).content.decode()
    assert len(_codes_on_page(html)) == 7


# ------------------------------------------------------------------------------------------------ empty lists


def test_an_empty_cell_list_says_no_cells_yet_when_no_filter_is_set(researcher):  # type: ignore[no-untyped-def]
    client = _client(researcher)
    for url in ("/cells/", "/cells/?sort=code", "/cells/?page=1&code="):
        text = page_text(client.get(url).content.decode())
        assert "No cells yet." in text, url
        assert "match" not in text.lower(), url


def test_an_empty_cell_list_says_the_filters_hid_the_rows_when_filtered(researcher, lab):  # type: ignore[no-untyped-def]
    html = _client(researcher).get("/cells/", {"code": "NOTHING-LIKE-THIS"}).content.decode()
    assert "No cell matches these filters." in page_text(html)
    assert '<a href="/cells/">Show all cells</a>' in html
    assert "No cells yet" not in html


# ------------------------------------------------------------------------------------------------ the cell page


def test_a_cell_without_glovebox_readings_says_not_recorded(researcher, lab):  # type: ignore[no-untyped-def]
    text = page_text(_client(researcher).get(f"/cells/{lab['c1'].pk}/").content.decode())
    assert "Glovebox not recorded" in text
    assert "?" not in re.sub(r'href="[^"]*"', "", text.split("Glovebox", 1)[1][:40])


def test_a_cell_with_one_glovebox_reading_shows_it_and_says_the_other_is_not_recorded(researcher, lab):  # type: ignore[no-untyped-def]
    Cell.objects.filter(pk=lab["c1"].pk).update(glovebox_o2=0.5)
    text = page_text(_client(researcher).get(f"/cells/{lab['c1'].pk}/").content.decode())
    assert "Glovebox O₂ 0.5 ppm, H₂O not recorded" in text


def test_missing_values_on_the_cell_pages_read_as_a_dash(researcher, lab):  # type: ignore[no-untyped-def]
    """A pellet cell has no recipe and no filler: the list shows "—" (not "-") in those columns."""
    html = _client(researcher).get("/cells/", {"pellet_code": lab["pellet"].code}).content.decode()
    row = re.search(rf"<tr>\s*<td><a href=\"/cells/{lab['cp'].pk}/\">.*?</tr>", html, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)
    assert '<span class="muted">—</span>' in cells[4] and '<span class="muted">—</span>' in cells[5]
    assert '<span class="muted">-</span>' not in html


def test_the_cell_page_links_to_its_derived_properties_by_code(researcher, lab):  # type: ignore[no-untyped-def]
    from measurements.models import DerivedProperty

    cell = lab["c1"]
    DerivedProperty.objects.create(
        team=cell.team,
        subject_key=f"cell:{cell.pk}",
        name="ionic_conductivity",
        value=0.2,
        unit="mS/cm",
        method="test",
        method_version="1",
        cell=cell,
    )
    html = _client(researcher).get(f"/cells/{cell.pk}/").content.decode()
    assert f'href="/derived/?cell_code={cell.code}">Every derived property of this cell</a>' in html


def test_the_assemble_form_gives_realistic_examples(researcher, lab):  # type: ignore[no-untyped-def]
    text = page_text(_client(researcher).get("/cells/new/").content.decode())
    assert "parts per million, e.g. '0.5 ppm'" in text
    assert "a fraction" not in text
    assert "e.g. '1.5 " not in text
    assert "a pressure, e.g. '5 MPa'" in text and "an area, e.g. '2 cm^2'" in text


@pytest.mark.parametrize("chosen", [False, True])
def test_the_recipe_select_offers_what_the_filter_accepts_drawn_as_django_draws_it(
    researcher, team, lab, chosen
):  # type: ignore[no-untyped-def]
    """The page reads the recipes as rows (offer_choices); the select is the one the ModelChoiceField draws."""
    from django.test import RequestFactory

    from cells.filters import CellFilter
    from formulations.models import Recipe

    f.recipe_version(team=team, user=researcher, name='<b>"Quoted" & co</b>')  # escaped the same
    data = {"recipe": str(lab["version"].recipe_id)} if chosen else None
    request = RequestFactory().get("/cells/", data or {})
    request.user = researcher
    offered = str(CellFilter(data, queryset=Cell.objects.all(), request=request).form["recipe"])
    form = CellFilter(data, queryset=Cell.objects.all(), request=request).form
    field = form.fields["recipe"]
    field.widget.choices = field.choices  # type: ignore[attr-defined]  # the ModelChoiceField's own options
    assert offered == str(form["recipe"])
    assert "Other recipe" not in offered
    assert offered.count("<option") == 1 + Recipe.objects.filter(team=team).count()
    assert (f'<option value="{lab["version"].recipe_id}" selected>' in offered) is chosen
