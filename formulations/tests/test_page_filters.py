"""What a researcher reads on the inventory and synthesis pages: filters by name (not id) with "Any" for a yes/no
filter, lists that say "yet" or "match these filters" when empty, "—" for a missing value, a "put back" action that
says what it does, help texts in the lab's words with realistic examples. The API's filter parameters unchanged."""

from __future__ import annotations

import html as html_module
import re
from typing import Any

import pytest
from django import forms
from django.test import Client

from cells import forms as cell_forms
from formulations import forms_inventory, forms_synthesis
from formulations.forms_synthesis import mould_choice_label
from formulations.models import Membrane, Mould
from formulations.services import inventory
from formulations.services import synthesis as s
from formulations.tests.test_synthesis_support import *  # noqa: F403
from formulations.tests.test_synthesis_support import PMA, record_pma_batch
from lims.fields import TYPICAL_EXAMPLES, QuantityFormField, quantity_help_text
from lims.tests.pages import form_labels, page_text

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _html(user: Any, url: str, data: dict[str, Any] | None = None) -> str:
    response = _client(user).get(url, data or {})
    assert response.status_code == 200, url
    return str(response.content.decode())


def _labels(html: str) -> list[str]:
    return form_labels(html, drop_colon=True)


def _select(html: str, name: str) -> str:
    found = re.search(rf'<select name="{name}".*?</select>', html, re.S)
    assert found is not None, f"no select {name}"
    return found.group(0)


# ------------------------------------------------------------------------------------------------ filters


def test_the_batch_filters_read_recipe_and_any(
    researcher: Any, pma: PMA, outsider: Any, other_team: Any
) -> None:
    s.create_recipe(team=other_team, name="Their secret recipe", actor=outsider)
    html = _html(researcher, "/batches/")
    labels = _labels(html)
    assert "Recipe" in labels and "Recipe version recipe" not in labels
    recipes = _select(html, "recipe")
    assert f'<option value="{pma.version.recipe_id}">PMA</option>' in recipes
    assert "Their secret recipe" not in html
    flagged = _select(html, "flagged")
    assert '<option value="unknown" selected>Any</option>' in flagged and "Unknown" not in html


def test_the_recipe_choice_finds_the_batches_of_that_recipe_on_the_page_and_in_the_api(
    researcher: Any, team: Any, pma: PMA, api: Any
) -> None:
    batch = record_pma_batch(pma, researcher)
    other = s.create_recipe(team=team, name="Other", actor=researcher)
    page = _html(researcher, "/batches/", {"recipe": pma.version.recipe_id})
    assert batch.code in page
    empty = _html(researcher, "/batches/", {"recipe": other.pk})
    assert batch.code not in empty and "No synthesis batches match these filters." in page_text(empty)
    body = api(researcher).get(f"/api/v1/batches/?recipe={pma.version.recipe_id}").json()
    assert [row["code"] for row in body["results"]] == [batch.code]
    assert api(researcher).get("/api/v1/batches/?recipe=987654").json()["results"] == []


def test_the_chemical_filters_read_any_rather_than_unknown(researcher: Any) -> None:
    html = _html(researcher, "/inventory/chemicals/")
    for name in ("moisture_sensitive", "store_in_glovebox"):
        assert '<option value="unknown" selected>Any</option>' in _select(html, name)
    assert "Unknown" not in html
    assert {"Moisture sensitive", "Store in glovebox"} <= set(_labels(html))


def test_the_yes_no_filters_still_filter(researcher: Any, api: Any) -> None:
    wet = inventory.create_chemical(actor=None, name="LiTFSI", role="salt", moisture_sensitive=True)
    dry = inventory.create_chemical(actor=None, name="Al2O3", role="ceramic_filler")
    page = _html(researcher, "/inventory/chemicals/", {"moisture_sensitive": "true"})
    assert wet.name in page and dry.name not in page
    any_ = _html(researcher, "/inventory/chemicals/", {"moisture_sensitive": "unknown"})
    assert wet.name in any_ and dry.name in any_
    names = {
        c["name"]
        for c in api(researcher).get("/api/v1/chemicals/?moisture_sensitive=false").json()["results"]
    }
    assert dry.name in names and wet.name not in names


def test_the_recipe_list_offers_only_the_users_teams_and_the_api_accepts_any_team_as_before(
    researcher: Any, team: Any, other_team: Any, outsider: Any, api: Any
) -> None:
    mine = s.create_recipe(team=team, name="Mine", actor=researcher)
    s.create_recipe(team=other_team, name="Theirs", actor=outsider)
    html = _html(researcher, "/recipes/")
    teams = _select(html, "team")
    assert team.name in teams and other_team.name not in teams
    assert mine.name in _html(researcher, "/recipes/", {"team": team.pk})
    response = api(researcher).get(f"/api/v1/recipes/?team={other_team.pk}")
    assert response.status_code == 200 and response.json()["results"] == []
    assert api(researcher).get("/api/v1/recipes/?team=987654").status_code == 400  # as before: no such team


def test_the_electrode_filter_offers_active_materials_by_name(researcher: Any, team: Any, pma: PMA) -> None:
    s.make_electrode(
        team=team,
        active_lot=pma.lots["LFP"],
        active_fraction=1.0,
        area="1 cm^2",
        loading="2 mg/cm^2",
        actor=researcher,
    )
    html = _html(researcher, "/electrodes/")
    assert "Active material" in _labels(html) and "Active material (chemical id)" not in _labels(html)
    lfp = pma.chemicals["LFP"]
    assert f'<option value="{lfp.pk}">{lfp}</option>' in _select(html, "chemical")
    assert pma.chemicals["LiFSI"].name not in _select(html, "chemical")


def test_a_mould_whose_name_gives_its_area_shows_the_area_once(researcher: Any, pma: PMA) -> None:
    named = s.create_mould(name="PTFE disc 2 cm²", area="2 cm^2", actor=researcher)
    assert mould_choice_label(named) == "PTFE disc 2 cm²"
    assert mould_choice_label(Mould(name="PTFE disc 12 cm²", area=2.0)) == "PTFE disc 12 cm² (2 cm²)"
    assert mould_choice_label(pma.mould) == "glass 4x5 (20 cm²)"
    for url in ("/membranes/new/", "/membranes/"):
        html = _html(researcher, url)
        assert ">PTFE disc 2 cm²</option>" in html, url
        assert "(2 cm2)" not in html and "2 cm² (2 cm" not in html, url


# ------------------------------------------------------------------------------------------------ empty lists


@pytest.mark.parametrize(
    ("url", "nothing", "filtered", "no_match"),
    [
        ("/inventory/lots/", "No lots yet.", {"code": "L-NOPE"}, "No lot matches these filters."),
        (
            "/inventory/chemicals/",
            "No chemicals yet.",
            {"q": "unobtainium"},
            "No chemical matches these filters.",
        ),
        ("/inventory/suppliers/", "No suppliers yet.", {"q": "nobody"}, "No supplier matches this search."),
        (
            "/batches/",
            "No synthesis batches yet.",
            {"status": "cancelled"},
            "No synthesis batches match these filters.",
        ),
        ("/membranes/", "No membranes yet.", {"q": "M-NOPE"}, "No membranes match these filters."),
        ("/recipes/", "No recipes yet.", {"q": "nothing"}, "No recipes match these filters."),
        ("/pellets/", "No pellets yet.", {"q": "P-NOPE"}, "No pellets match these filters."),
    ],
)
def test_an_empty_list_says_yet_without_filters_and_match_with_them(
    researcher: Any, url: str, nothing: str, filtered: dict[str, str], no_match: str
) -> None:
    for unfiltered in ({}, {"sort": "-code"}, {"page": "1"}):
        text = page_text(_html(researcher, url, unfiltered))
        assert nothing in text and no_match not in text, url
    text = page_text(_html(researcher, url, filtered))
    assert no_match in text and nothing not in text


def test_the_moulds_page_without_moulds_says_none_yet(researcher: Any) -> None:
    assert "No moulds yet." in page_text(_html(researcher, "/moulds/"))


# ------------------------------------------------------------------------------------------------ missing values


def test_missing_values_read_as_a_dash_on_the_lot_and_chemical_pages(researcher: Any) -> None:
    plain = inventory.create_chemical(actor=None, name="Alumina", role="ceramic_filler")
    lot = inventory.receive_lot(chemical=plain, quantity="10 g", actor=researcher)
    lot_text = page_text(_html(researcher, f"/inventory/lots/{lot.pk}/"))
    assert "Handling — " in lot_text and "Supplier — " in lot_text and "Location — " in lot_text
    chem_text = page_text(_html(researcher, f"/inventory/chemicals/{plain.pk}/"))
    assert "Handling — " in chem_text and "CAS number — " in chem_text
    row = re.search(
        r"<tr>\s*<td><a href=\"/inventory/chemicals/\d+/\">Alumina</a>.*?</tr>",
        _html(researcher, "/inventory/chemicals/"),
        re.S,
    )
    assert row is not None
    cells = [c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)]
    assert cells[1] == "—" and cells[2] == "—" and cells[4] == "—" and cells[5] == "—" and cells[7] == "—"
    lots_row = re.search(
        rf"<tr>\s*<td><a href=\"/inventory/lots/{lot.pk}/\">.*?</tr>",
        _html(researcher, "/inventory/lots/"),
        re.S,
    )
    assert lots_row is not None
    lot_cells = [c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", lots_row.group(0), re.S)]
    assert lot_cells[4] == "—" and lot_cells[5] == "—" and lot_cells[7] == "—"  # location, supplier, expires


def test_a_membrane_without_cure_data_shows_a_dash_and_the_batch_list_a_dash_for_no_flag(
    researcher: Any, pma: PMA
) -> None:
    batch = record_pma_batch(pma, researcher)
    membrane = s.cast_membrane(
        batch=batch, mould=pma.mould, cast_mass="1 g", slurry_density="1.2", actor=researcher
    )
    assert isinstance(membrane, Membrane)
    # cast from a recipe with a UV step, the membrane took its cure; one cured without a record has none
    Membrane.objects.filter(pk=membrane.pk).update(
        cure_wavelength=None, cure_duration=None, cure_temperature=None, cure_atmosphere=""
    )
    html = _html(researcher, f"/membranes/{membrane.pk}/")
    assert re.search(r"<dt>Cure</dt><dd>—</dd>", html)
    assert "<dd></dd>" not in html
    row = re.search(
        rf"<tr><td><a href=\"/batches/{batch.pk}/\">.*?</tr>", _html(researcher, "/batches/"), re.S
    )
    assert row is not None
    cells = re.findall(r"<td>(.*?)</td>", row.group(0), re.S)
    assert cells[6] == "—"  # Flagged: no deviation outside the tolerance
    assert "<td></td>" not in row.group(0)


# ------------------------------------------------------------------------------------------------ put back


def test_the_lot_page_says_put_back_unused_and_the_form_says_what_it_does(researcher: Any) -> None:
    """The action calls return_to_lot: unused material goes back into the lot (not to the supplier)."""
    chem = inventory.create_chemical(actor=None, name="LiTFSI", role="salt")
    lot = inventory.receive_lot(chemical=chem, quantity="10 g", actor=researcher)
    page = _html(researcher, f"/inventory/lots/{lot.pk}/")
    assert f'href="/inventory/lots/{lot.pk}/return/"' in page
    assert ">Put back unused</a>" in page and ">Return</a>" not in page
    form = page_text(_html(researcher, f"/inventory/lots/{lot.pk}/return/"))
    assert "Amount put back" in form
    assert "it is added to the quantity on hand" in form and "not a return to the supplier" in form
    _client(researcher).post(f"/inventory/lots/{lot.pk}/return/", {"amount": "0.5 g"})
    lot.refresh_from_db()
    assert lot.quantity_on_hand == pytest.approx(10.5)


# ------------------------------------------------------------------------------------------------ help texts


def test_the_composition_asks_for_a_chemicals_density_in_the_lab_s_words(researcher: Any, pma: PMA) -> None:
    """LiFSI has no density: the slurry density cannot be estimated. The page says what to do, not the name of
    the computation's input (density_g_per_mL)."""
    html = _html(researcher, f"/recipes/versions/{pma.version.pk}/")
    text = page_text(html)
    assert "density_g_per_mL" not in html
    assert (
        "record the chemical's density (g/mL) on its page, then the slurry density can be estimated" in text
    )
    log = _html(researcher, "/batches/new/", {"version": pma.version.pk})
    assert "density_g_per_mL" not in log


def test_the_density_note_rewrites_the_volume_conversion_error_too() -> None:
    from django.template.loader import render_to_string

    error = (
        "component 'G4' is dosed by volume (5 mL) but its density is unknown; "
        "enter density_g_per_mL to convert volume to mass"
    )
    shown = render_to_string("formulations/synthesis/_density_note.html", {"text": error})
    assert html_module.unescape(shown) == (
        "component 'G4' is dosed by volume (5 mL) but its density is unknown; record the chemical's density (g/mL) "
        "on its page, then a volume can be converted"
    )
    assert (
        render_to_string("formulations/synthesis/_density_note.html", {"text": "total mass 1.34 g"})
        == "total mass 1.34 g"
    )


def _quantity_fields() -> list[tuple[str, str, QuantityFormField]]:
    found = []
    for module in (forms_synthesis, forms_inventory, cell_forms):
        for form_name in dir(module):
            form = getattr(module, form_name)
            if isinstance(form, type) and issubclass(form, forms.Form) and form is not forms.Form:
                for name, field in form.base_fields.items():
                    if isinstance(field, QuantityFormField):
                        found.append((form_name, name, field))
    return found


def test_every_quantity_field_of_the_forms_gives_an_example_that_its_own_field_accepts() -> None:
    fields = _quantity_fields()
    assert len(fields) > 20
    for form_name, name, field in fields:
        examples = re.findall(r"e\.g\. '([^']+)'", str(field.help_text))
        assert examples, f"{form_name}.{name}: no example in {field.help_text!r}"
        for example in examples:
            if re.search(r"\d", example):
                field.clean(example)  # raises if the example is not a value of this field
        generic = not field.example and field.unit not in TYPICAL_EXAMPLES
        assert not (
            generic and field.help_text == quantity_help_text(unit=field.unit, dimension=field.dimension)
        ), f"{form_name}.{name}: the generic example {field.help_text!r}"


def test_the_examples_fit_their_fields() -> None:
    membrane = forms_synthesis.MembraneForm.base_fields
    assert membrane["cure_wavelength"].help_text == "a length, e.g. '365 nm'"
    assert membrane["cure_temperature"].help_text == "a temperature, e.g. '60 degC'"
    assert membrane["cure_duration"].help_text == "a time, e.g. '10 min'"
    assert (
        forms_synthesis.PelletForm.base_fields["sinter_temperature"].help_text
        == "a temperature, e.g. '1200 degC'"
    )
    o2 = cell_forms.AssembleForm.base_fields["glovebox_o2"]
    assert o2.help_text == "parts per million, e.g. '0.5 ppm'"
    # a field without an example of its own gets a typical value of its unit, not "1.5"
    assert quantity_help_text(unit="degC", dimension="temperature") == "a temperature, e.g. '25 degC'"
    assert quantity_help_text(unit="nm", dimension="length", example="405 nm") == "a length, e.g. '405 nm'"


def test_the_membrane_form_page_shows_realistic_examples(researcher: Any, pma: PMA) -> None:
    record_pma_batch(pma, researcher)
    text = page_text(_html(researcher, "/membranes/new/"))
    assert "e.g. '365 nm'" in text and "e.g. '60 degC'" in text
    assert "1.5 degC" not in text and "1.5 nm" not in text and "e.g. '1.5 " not in text
