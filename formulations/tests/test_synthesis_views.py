"""Synthesis pages: the guided log-a-synthesis page, the recipe editor, product forms with live previews,
form errors for wrong units and frozen versions, team scoping, and list pages with a fixed query count."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from formulations.models import Batch, Membrane, RecipeVersion
from formulations.services import synthesis as s
from formulations.tests.test_synthesis_support import *  # noqa: F403
from formulations.tests.test_synthesis_support import PMA, PMA_LINES, record_pma_batch

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _log_data(pma: PMA, scale: float = 1.0, **override: str) -> dict[str, Any]:
    amounts = dict(PMA_LINES) | override
    data: dict[str, Any] = {"scale_factor": scale, "tolerance_percent": 2}
    for c in pma.version.components.select_related("chemical"):
        data[f"c{c.pk}_amount"] = amounts[c.chemical.abbreviation]
        data[f"c{c.pk}_lot"] = pma.lots[c.chemical.abbreviation].pk
    return data


def test_the_log_page_shows_scaled_amounts_and_lots_with_their_on_hand_quantity(
    researcher: Any, pma: PMA
) -> None:
    """Batch size 21.0468 g = 2 x 10.5234 g: LiFSI planned 7.48 g; the LiFSI lot holds 25 g."""
    url = f"/batches/new/?version={pma.version.pk}&target_mass=21.0468 g"
    page = _client(researcher).get(url).content.decode()
    assert "7.48 g" in page
    assert f"{pma.lots['LiFSI'].code}: 25 g on hand" in page
    assert "formulations/synthesis.js" in page
    assert "<script>" not in page


def test_logging_a_synthesis_through_the_page_records_the_batch(researcher: Any, pma: PMA) -> None:
    """MMA as "0.9 mL" is accepted through its density (0.846 g, -6 %, flagged)."""
    url = f"/batches/new/?version={pma.version.pk}"
    response = _client(researcher).post(url, _log_data(pma, MMA="0.9 mL"))
    assert response.status_code == 302
    batch = Batch.objects.get()
    assert response["Location"] == f"/batches/{batch.pk}/"
    assert batch.components.get(flagged=True).recipe_component.chemical.abbreviation == "MMA"
    detail = _client(researcher).get(response["Location"]).content.decode()
    assert "outside tolerance" in detail


def test_an_amount_in_a_current_is_refused_on_the_log_page(researcher: Any, pma: PMA) -> None:
    url = f"/batches/new/?version={pma.version.pk}"
    response = _client(researcher).post(url, _log_data(pma, MMA="0.9 mA"))
    assert response.status_code == 400
    assert (
        "expected a mass, a volume or an amount of substance, got a current: 0.9 mA"
        in response.content.decode()
    )
    assert not Batch.objects.exists()


def test_the_live_deviation_check_converts_and_flags(researcher: Any, pma: PMA) -> None:
    mma = pma.version.components.get(chemical__abbreviation="MMA")
    lifsi = pma.version.components.get(chemical__abbreviation="LiFSI")
    url = f"/batches/preview/{pma.version.pk}/"
    params: dict[str, Any] = {
        "scale_factor": 1,
        f"c{mma.pk}_amount": "0.9 mL",
        f"c{lifsi.pk}_amount": "3.75 g",
    }
    body = _client(researcher).get(url, params).json()
    assert body["fields"][f"c{mma.pk}_amount"]["bad"] is True
    assert "-6.00%" in body["fields"][f"c{mma.pk}_amount"]["text"]
    assert body["fields"][f"c{lifsi.pk}_amount"]["bad"] is False  # (3.75 - 3.74) / 3.74 = +0.27 %
    wrong = _client(researcher).get(url, {f"c{mma.pk}_amount": "0.9 mA"}).json()
    assert "got a current" in wrong["fields"][f"c{mma.pk}_amount"]["text"]


def test_adding_a_component_to_a_frozen_version_shows_a_form_error(researcher: Any, pma: PMA) -> None:
    record_pma_batch(pma, researcher)
    data = {"add-chemical": pma.chemicals["MMA"].pk, "add-amount": "0.1 g"}
    response = _client(researcher).post(f"/recipes/versions/{pma.version.pk}/", data)
    assert response.status_code == 400
    assert "is frozen" in response.content.decode()
    assert pma.version.components.count() == 6


def _salt_and_g4(pma: PMA, lifsi: str, notes: str) -> dict[str, Any]:
    """The recipe editor's POST for a two-line recipe: LiFSI (the amount given) and 5 mL of G4."""
    return {
        "components-TOTAL_FORMS": 2,
        "components-INITIAL_FORMS": 0,
        "steps-TOTAL_FORMS": 0,
        "steps-INITIAL_FORMS": 0,
        "components-0-chemical": pma.chemicals["LiFSI"].pk,
        "components-0-amount": lifsi,
        "components-1-chemical": pma.chemicals["G4"].pk,
        "components-1-amount": "5 mL",
        "notes": notes,
    }


def test_editing_a_frozen_version_in_the_editor_makes_a_new_version(researcher: Any, pma: PMA) -> None:
    record_pma_batch(pma, researcher)
    client = _client(researcher)
    assert "is frozen" in client.get(f"/recipes/versions/{pma.version.pk}/edit/").content.decode()
    response = client.post(
        f"/recipes/versions/{pma.version.pk}/edit/", _salt_and_g4(pma, "3.5 g", "less salt")
    )
    assert response.status_code == 302
    v2 = RecipeVersion.objects.get(recipe=pma.version.recipe, number=2)
    assert response["Location"] == f"/recipes/versions/{v2.pk}/"
    assert [c.amount for c in v2.components.all()] == [3.5, 5.0]
    assert pma.version.components.count() == 6


def test_two_concurrent_edits_of_a_draft_version_do_not_lose_the_first(researcher: Any, pma: PMA) -> None:
    """A draft version is rewritten in place, so the second of two editors opened on the same draft is refused
    (lims/edit_guard.py) instead of silently replacing the first one's components."""
    import html
    import re

    from lims.edit_guard import FIELD

    url = f"/recipes/versions/{pma.version.pk}/edit/"
    a, b = _client(researcher), _client(researcher)
    tags = [re.search(rf'name="{FIELD}" value="([^"]+)"', c.get(url).content.decode()) for c in (a, b)]
    assert tags[0] and tags[1]
    loaded = html.unescape(tags[0].group(1))
    assert loaded == html.unescape(tags[1].group(1))

    def edit(client: Client, grams: str, version_tag: str) -> Any:
        return client.post(url, {**_salt_and_g4(pma, grams, f"LiFSI {grams}"), FIELD: version_tag})

    assert edit(a, "3.5 g", loaded).status_code == 302
    refused = edit(b, "3.0 g", loaded)
    assert refused.status_code == 200
    assert "was changed by" in refused.content.decode()
    pma.version.refresh_from_db()
    assert (pma.version.number, [c.amount for c in pma.version.components.all()]) == (1, [3.5, 5.0])


def test_the_recipe_editor_refuses_a_wrong_unit_next_to_the_field(researcher: Any, pma: PMA) -> None:
    data: dict[str, Any] = {
        "recipe-team": pma.version.recipe.team_id,
        "recipe-name": "new one",
        "components-TOTAL_FORMS": 1,
        "components-INITIAL_FORMS": 0,
        "steps-TOTAL_FORMS": 0,
        "steps-INITIAL_FORMS": 0,
        "components-0-chemical": pma.chemicals["MMA"].pk,
        "components-0-amount": "0.9 mA",
    }
    response = _client(researcher).post("/recipes/new/", data)
    assert response.status_code == 200
    assert "got a current: 0.9 mA" in response.content.decode()


def test_the_composition_preview_reproduces_the_paper_checks(researcher: Any, pma: PMA) -> None:
    params: dict[str, Any] = {"components-TOTAL_FORMS": len(PMA_LINES)}
    for i, (key, amount) in enumerate(PMA_LINES):
        params[f"components-{i}-chemical"] = pma.chemicals[key].pk
        params[f"components-{i}-amount"] = amount
    body = _client(researcher).get("/recipes/composition-preview/", params).json()
    assert body["ok"]
    text = "\n".join(body["lines"])
    assert "LiFSI: 3.74 g (35.54 wt%), 19.99 mmol" in text  # 3.74 / 10.5234 = 35.54 %
    assert "monomers MAAc:MMA:NMMAm = 1.00:2.00:1.00" in text
    assert "salt molality 3.963 mol/kg" in text
    assert "salt:solvent molar ratio 0.881" in text


def test_the_composition_preview_asks_for_a_missing_density_in_the_lab_s_words(
    researcher: Any, pma: PMA
) -> None:
    g4 = pma.chemicals["G4"]
    g4.density = None
    g4.save()
    params: dict[str, Any] = {
        "components-TOTAL_FORMS": 1,
        "components-0-chemical": g4.pk,
        "components-0-amount": "5 mL",
    }
    body = _client(researcher).get("/recipes/composition-preview/", params).json()
    assert not body["ok"]
    assert "density_g_per_mL" not in body["error"]
    assert body["error"].endswith(
        "density is unknown; record the chemical's density (g/mL) on its page, then a volume can be converted"
    )


def test_the_membrane_page_gives_the_mould_s_area_once(researcher: Any, pma: PMA) -> None:
    batch = record_pma_batch(pma, researcher)
    client = _client(researcher)
    data = {"batch": batch.pk, "mould": pma.mould.pk, "cast_mass": "1.2 g", "slurry_density": "1.2 g/mL"}
    page = client.get(client.post("/membranes/new/", data)["Location"]).content.decode()
    assert "glass 4x5 (20 cm²)" in page
    pma.mould.name = "PTFE disc 20 cm²"
    pma.mould.save()
    page = client.get(f"/membranes/{Membrane.objects.get().pk}/").content.decode()
    assert "PTFE disc 20 cm²" in page and "20 cm² (20 cm²)" not in page


def test_the_membrane_form_refuses_a_volume_as_cast_mass_and_previews_the_thickness(
    researcher: Any, pma: PMA
) -> None:
    """Preview: 1.2 g / (1.2 g/mL x 20 cm2) = 500 um."""
    batch = record_pma_batch(pma, researcher)
    client = _client(researcher)
    data: dict[str, Any] = {
        "batch": batch.pk,
        "mould": pma.mould.pk,
        "cast_mass": "1.2 mL",
        "slurry_density": "1.2 g/mL",
    }
    response = client.post("/membranes/new/", data)
    assert response.status_code == 400
    assert "expected a mass, got a volume: 1.2 mL" in response.content.decode()
    preview = client.get("/membranes/preview/", {**data, "cast_mass": "1.2 g"}).json()
    assert preview["lines"][0].startswith("thickness from cast mass: 500.0 µm")
    response = client.post("/membranes/new/", data | {"cast_mass": "1.2 g"})
    membrane = Membrane.objects.get()
    assert response["Location"] == f"/membranes/{membrane.pk}/"
    assert "500.0 µm" in client.get(response["Location"]).content.decode()


def test_pellet_and_electrode_forms_save_and_preview(researcher: Any, team: Any, pma: PMA) -> None:
    """Pellet 0.5 g, 10 x 1.5 mm: 4.244 g/cm3 = 83.2 % of 5.1; electrode 2 mg/cm2 x 1 cm2: 1 C = 0.34 mA."""
    client = _client(researcher)
    pellet = {
        "team": team.pk,
        "lot": pma.lots["LLZTO"].pk,
        "powder_mass": "0.6 g",
        "press_pressure": "300 MPa",
        "press_mode": "isostatic",
        "sinter_temperature": "1180 °C",
        "sinter_dwell": "6 h",
        "final_diameter": "10 mm",
        "final_thickness": "1.5 mm",
        "final_mass": "0.5 g",
        "mother_powder": "on",
    }
    preview = client.get("/pellets/preview/", pellet).json()
    assert "relative density 83.2% of 5.1 g/cm³" in preview["lines"]
    response = client.post("/pellets/new/", pellet)
    assert response.status_code == 302, response.content.decode()
    assert "83.2%" in client.get(response["Location"]).content.decode()
    electrode = {
        "team": team.pk,
        "active_lot": pma.lots["LFP"].pk,
        "active_fraction": 0.8,
        "conductive_fraction": 0.1,
        "binder_fraction": 0.1,
        "loading": "2 mg/cm^2",
        "area": "1 cm^2",
    }
    preview = client.get("/electrodes/preview/", electrode).json()
    assert "1 C = 0.34 mA (2 mg × 170 mAh/g)" in preview["lines"]
    response = client.post("/electrodes/new/", electrode)
    assert response.status_code == 302, response.content.decode()
    page = client.get(response["Location"], {"c_rate": "0.5C"}).content.decode()
    assert "0.17 mA" in page


def test_a_pellet_page_still_renders_when_the_powders_theoretical_density_was_removed(
    researcher: Any, team: Any, pma: PMA
) -> None:
    """The relative density is stored when the pellet is made; clearing the chemical's theoretical density later
    (a correction of the chemical record) must not break the pellet's page."""
    client = _client(researcher)
    response = client.post(
        "/pellets/new/",
        {
            "team": team.pk,
            "lot": pma.lots["LLZTO"].pk,
            "powder_mass": "0.6 g",
            "press_pressure": "300 MPa",
            "press_mode": "isostatic",
            "sinter_temperature": "1180 °C",
            "sinter_dwell": "6 h",
            "final_diameter": "10 mm",
            "final_thickness": "1.5 mm",
            "final_mass": "0.5 g",
        },
    )
    assert response.status_code == 302, response.content.decode()
    chemical = pma.lots["LLZTO"].chemical
    chemical.theoretical_density = None
    chemical.save()
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert (
        "83.2% (computed at creation; the theoretical density of the powder is no longer recorded)"
        in page.content.decode()
    )


def test_another_teams_user_gets_404_and_a_viewer_gets_403(
    researcher: Any, viewer: Any, outsider: Any, pma: PMA
) -> None:
    batch = record_pma_batch(pma, researcher)
    assert _client(outsider).get(f"/batches/{batch.pk}/").status_code == 404
    assert _client(outsider).get(f"/recipes/versions/{pma.version.pk}/").status_code == 404
    assert _client(viewer).get(f"/batches/{batch.pk}/").status_code == 200
    response = _client(viewer).post(f"/batches/{batch.pk}/", {"cancel-reason": "no"})
    assert response.status_code == 403
    response = _client(viewer).post(f"/batches/new/?version={pma.version.pk}", _log_data(pma))
    assert response.status_code == 403
    assert Batch.objects.count() == 1


def test_cancelling_a_batch_on_its_page_needs_a_reason_and_confirms(researcher: Any, pma: PMA) -> None:
    batch = record_pma_batch(pma, researcher)
    client = _client(researcher)
    page = client.get(f"/batches/{batch.pk}/").content.decode()
    assert 'data-confirm="Cancel batch' in page
    assert client.post(f"/batches/{batch.pk}/", {"cancel-reason": "cloudy"}).status_code == 302
    batch.refresh_from_db()
    assert (batch.status, batch.cancel_reason) == ("cancelled", "cloudy")


@pytest.mark.parametrize(
    "url", ["/recipes/", "/batches/", "/membranes/", "/pellets/", "/electrodes/", "/moulds/"]
)
def test_list_pages_use_a_fixed_number_of_queries(
    researcher: Any, team: Any, pma: PMA, django_assert_max_num_queries: Any, url: str
) -> None:
    client = _client(researcher)

    def grow(i: int) -> None:
        batch = record_pma_batch(pma, researcher)
        s.cast_membrane(batch=batch, mould=pma.mould, cast_mass="1 g", slurry_density="1.2", actor=researcher)
        s.create_recipe(team=team, name=f"recipe {i}", actor=researcher)
        s.create_mould(name=f"mould {i}", area="5 cm^2", actor=researcher)
        s.make_pellet(
            team=team,
            lot=pma.lots["LLZTO"],
            powder_mass="0.6 g",
            press_pressure="300 MPa",
            sinter_temperature="1180 C",
            sinter_dwell="6 h",
            final_diameter="10 mm",
            final_thickness="1.5 mm",
            final_mass="0.5 g",
            actor=researcher,
        )
        s.make_electrode(
            team=team,
            active_lot=pma.lots["LFP"],
            active_fraction=1.0,
            area="1 cm^2",
            loading="2 mg/cm^2",
            actor=researcher,
        )

    grow(0)
    client.get(url)
    with django_assert_max_num_queries(15) as few:
        assert client.get(url).status_code == 200
    for i in range(1, 4):
        grow(i)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    "url", ["/recipes/new/", "/membranes/new/", "/pellets/new/", "/electrodes/new/", "/batches/new/"]
)
def test_form_pages_render_with_labelled_inputs(researcher: Any, pma: PMA, url: str) -> None:
    page = _client(researcher).get(url).content.decode()
    assert "csrfmiddlewaretoken" in page or url == "/batches/new/"
    assert "<script>" not in page
