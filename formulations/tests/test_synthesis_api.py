"""Synthesis API: amounts as text, derived values in the responses, 409 for frozen versions, team scoping,
query counts that do not grow with the rows. Arithmetic as in test_synthesis_services."""

from __future__ import annotations

from typing import Any

import pytest

from formulations.models import Batch, RecipeVersion
from formulations.services import synthesis as s
from formulations.tests.test_synthesis_support import *  # noqa: F403
from formulations.tests.test_synthesis_support import PMA, PMA_LINES

pytestmark = pytest.mark.django_db


def _draw_payload(pma: PMA, **override: str) -> list[dict[str, Any]]:
    amounts = dict(PMA_LINES) | override
    return [
        {
            "component": c.pk,
            "lot": pma.lots[c.chemical.abbreviation].pk,
            "amount": amounts[c.chemical.abbreviation],
        }
        for c in pma.version.components.select_related("chemical")
    ]


def _batch(pma: PMA, user: Any) -> Batch:
    return s.record_batch(version=pma.version, actor=user, draws=_draw_payload(pma))


def test_a_recipe_created_through_the_api_shows_its_composition(api: Any, researcher: Any, pma: PMA) -> None:
    """Same recipe as entered in the paper; composition as in the service test (19.99 mmol, 3.96 mol/kg)."""
    payload = {
        "name": "PMA copy",
        "components": [{"chemical": pma.chemicals[k].pk, "amount": a} for k, a in PMA_LINES],
        "steps": [{"kind": "uv_cure", "wavelength": "365 nm", "duration": "1 h", "temperature": "RT"}],
    }
    response = api(researcher).post("/api/v1/recipes/", payload, format="json")
    assert response.status_code == 201, response.json()
    version = RecipeVersion.objects.get(recipe_id=response.json()["id"])
    body = api(researcher).get(f"/api/v1/recipe-versions/{version.pk}/").json()
    assert body["composition"]["salt_amount_mmol"] == pytest.approx(19.99, abs=0.01)
    assert body["composition"]["salt_molality_mol_per_kg"] == pytest.approx(3.963, abs=0.001)
    hmpp = next(c for c in body["components"] if c["chemical"] == pma.chemicals["HMPP"].pk)
    assert hmpp["amount"] == {"magnitude": pytest.approx(0.005), "unit": "mL"}
    assert body["steps"][0]["wavelength"] == {"magnitude": 365.0, "unit": "nm"}


def test_a_component_amount_in_a_current_is_refused_by_the_api(api: Any, researcher: Any, pma: PMA) -> None:
    payload = {"version": pma.version.pk, "chemical": pma.chemicals["MMA"].pk, "amount": "0.9 mA"}
    response = api(researcher).post("/api/v1/recipe-components/", payload, format="json")
    assert response.status_code == 400
    assert (
        "expected a mass, a volume or an amount of substance, got a current: 0.9 mA"
        in (response.json()["error"]["message"])
    )


def test_a_batch_created_through_the_api_draws_the_lots_and_has_history_with_the_actor(
    api: Any, researcher: Any, pma: PMA
) -> None:
    """MMA given as 0.9 mL: 0.9 x 0.94 = 0.846 g vs 0.9 g planned -> -6 %, flagged."""
    payload = {"recipe_version": pma.version.pk, "draws": _draw_payload(pma, MMA="0.9 mL")}
    response = api(researcher).post("/api/v1/batches/", payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["flagged_count"] == 1
    mma = next(c for c in body["components"] if c["chemical_name"] == "methyl methacrylate")
    assert mma["deviation"] == pytest.approx(-0.06)
    assert mma["flagged"] is True
    batch = Batch.objects.get(pk=body["id"])
    record = batch.history.get(history_type="+")  # type: ignore[attr-defined]
    assert record.history_user == researcher
    assert record.history_via == "api-session"
    assert batch.draws.count() == 6


def test_a_batch_amount_in_a_current_is_refused_by_the_api(api: Any, researcher: Any, pma: PMA) -> None:
    payload = {"recipe_version": pma.version.pk, "draws": _draw_payload(pma, MMA="0.9 mA")}
    response = api(researcher).post("/api/v1/batches/", payload, format="json")
    assert response.status_code == 400
    assert "got a current" in response.json()["error"]["message"]
    assert "expected a mass" in response.json()["error"]["message"]
    assert not Batch.objects.exists()


def test_a_frozen_version_answers_409_and_revise_makes_a_new_version(
    api: Any, researcher: Any, pma: PMA
) -> None:
    _batch(pma, researcher)
    client = api(researcher)
    mma = pma.version.components.get(chemical__abbreviation="MMA")
    response = client.patch(f"/api/v1/recipe-components/{mma.pk}/", {"amount": "1.0 g"}, format="json")
    assert response.status_code == 409
    assert "frozen" in response.json()["error"]["message"]
    assert (
        client.patch(f"/api/v1/recipe-versions/{pma.version.pk}/", {"notes": "x"}, format="json").status_code
        == 409
    )
    lines = [{"chemical": pma.chemicals[k].pk, "amount": "1.0 g" if k == "MMA" else a} for k, a in PMA_LINES]
    response = client.post(
        f"/api/v1/recipe-versions/{pma.version.pk}/revise/", {"components": lines}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["number"], response.json()["derived_from"]) == (2, pma.version.pk)
    mma.refresh_from_db()
    assert mma.amount == 0.9


def test_scaled_amounts_for_a_batch_size(api: Any, researcher: Any, pma: PMA) -> None:
    """21.0468 g = 2 x 10.5234 g: k = 2, LiFSI 7.48 g, G4 10 mL."""
    url = f"/api/v1/recipe-versions/{pma.version.pk}/scaled/?target_mass=21.0468 g"
    body = api(researcher).get(url).json()
    assert body["scale_factor"] == pytest.approx(2.0)
    planned = {line["name"]: (line["planned_amount"], line["unit"]) for line in body["lines"]}
    assert planned["LiFSI"] == (pytest.approx(7.48), "g")
    assert planned["G4"] == (pytest.approx(10.0), "mL")


def test_filler_series_through_the_api(api: Any, researcher: Any, pma: PMA) -> None:
    url = f"/api/v1/recipe-versions/{pma.version.pk}/filler-series/"
    response = api(researcher).post(url, {"filler": pma.chemicals["LLZTO"].pk}, format="json")
    assert response.status_code == 201, response.json()
    fractions = [v["composition"]["filler_weight_fraction"] for v in response.json()]
    assert fractions == pytest.approx([0.0, 0.2, 0.4, 0.6])


def test_membrane_pellet_and_electrode_responses_carry_derived_values(
    api: Any, researcher: Any, pma: PMA
) -> None:
    """Membrane 1.2 g / (1.2 g/mL x 20 cm2) = 500 um; pellet 0.5 g, 10 x 1.5 mm: 4.2441 g/cm3, 0.8322 of 5.1;
    electrode 2 mg/cm2 x 1 cm2 = 2 mg, 1 C = 2 mg x 170 mAh/g = 0.34 mA, 0.5 C = 0.17 mA."""
    batch = _batch(pma, researcher)
    client = api(researcher)
    membrane = client.post(
        "/api/v1/membranes/",
        {"batch": batch.pk, "mould": pma.mould.pk, "cast_mass": "1.2 g", "slurry_density": "1.2 g/mL"},
        format="json",
    )
    assert membrane.status_code == 201, membrane.json()
    assert membrane.json()["thickness_from_mass"] == {"magnitude": pytest.approx(500.0), "unit": "um"}
    assert membrane.json()["derived"]["slurry_density_source"] == "measured"
    pellet = client.post(
        "/api/v1/pellets/",
        {
            "lot": pma.lots["LLZTO"].pk,
            "powder_mass": "0.6 g",
            "press_pressure": "300 MPa",
            "sinter_temperature": "1180 C",
            "sinter_dwell": "6 h",
            "final_diameter": "10 mm",
            "final_thickness": "1.5 mm",
            "final_mass": "0.5 g",
        },
        format="json",
    )
    assert pellet.status_code == 201, pellet.json()
    assert pellet.json()["relative_density"] == pytest.approx(0.83218, abs=1e-5)
    electrode = client.post(
        "/api/v1/electrodes/",
        {
            "active_lot": pma.lots["LFP"].pk,
            "active_fraction": 0.8,
            "conductive_fraction": 0.1,
            "binder_fraction": 0.1,
            "loading": "2 mg/cm^2",
            "area": "1 cm^2",
        },
        format="json",
    )
    assert electrode.status_code == 201, electrode.json()
    assert electrode.json()["derived"]["one_c_current_mA"] == pytest.approx(0.34)
    detail = client.get(f"/api/v1/electrodes/{electrode.json()['id']}/?c_rate=0.5C").json()
    assert detail["derived"]["current_at_c_rate_mA"] == pytest.approx(0.17)


def test_a_wrong_unit_for_a_membrane_cast_mass_is_refused(api: Any, researcher: Any, pma: PMA) -> None:
    batch = _batch(pma, researcher)
    response = api(researcher).post(
        "/api/v1/membranes/",
        {"batch": batch.pk, "mould": pma.mould.pk, "cast_mass": "1.2 mL", "slurry_density": "1.2 g/mL"},
        format="json",
    )
    assert response.status_code == 400
    assert "cast mass: expected a mass, got a volume: 1.2 mL" in response.json()["error"]["message"]


def test_a_batch_is_never_deleted_and_is_cancelled_with_a_reason(
    api: Any, manager: Any, researcher: Any, pma: PMA
) -> None:
    batch = _batch(pma, researcher)
    assert api(manager).delete(f"/api/v1/batches/{batch.pk}/").status_code == 409
    response = api(researcher).post(
        f"/api/v1/batches/{batch.pk}/cancel/", {"reason": "cloudy"}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["cancel_reason"]) == ("cancelled", "cloudy")


def test_another_teams_user_gets_404_and_a_viewer_gets_403(
    api: Any, outsider: Any, viewer: Any, researcher: Any, pma: PMA
) -> None:
    batch = _batch(pma, researcher)
    for url in (
        f"/api/v1/batches/{batch.pk}/",
        f"/api/v1/recipe-versions/{pma.version.pk}/",
        f"/api/v1/recipes/{pma.version.recipe_id}/",
    ):
        assert api(outsider).get(url).status_code == 404
        assert api(viewer).get(url).status_code == 200
    assert api(outsider).get("/api/v1/batches/").json()["count"] == 0
    assert (
        api(outsider).post(f"/api/v1/batches/{batch.pk}/cancel/", {"reason": "x"}, format="json").status_code
        == 404
    )
    payload = {"recipe_version": pma.version.pk, "draws": _draw_payload(pma)}
    assert api(viewer).post("/api/v1/batches/", payload, format="json").status_code == 403
    assert (
        api(viewer).post(f"/api/v1/batches/{batch.pk}/cancel/", {"reason": "x"}, format="json").status_code
        == 403
    )
    response = api(outsider).post("/api/v1/batches/", payload, format="json")
    assert response.status_code == 400  # the version is not visible to them
    assert Batch.objects.count() == 1


@pytest.mark.parametrize(
    "url", ["/api/v1/batches/", "/api/v1/recipe-versions/", "/api/v1/recipes/", "/api/v1/membranes/"]
)
def test_list_endpoints_use_a_fixed_number_of_queries(
    api: Any, researcher: Any, pma: PMA, django_assert_max_num_queries: Any, url: str
) -> None:
    client = api(researcher)

    def grow() -> None:
        batch = _batch(pma, researcher)
        s.cast_membrane(batch=batch, mould=pma.mould, cast_mass="1 g", slurry_density="1.2", actor=researcher)
        s.new_version(base=pma.version, actor=researcher)

    grow()
    client.get(url)  # warm caches (roles, content types)
    with django_assert_max_num_queries(12) as few:
        assert client.get(url).status_code == 200
    for _ in range(3):
        grow()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", ["/api/v1/pellets/", "/api/v1/electrodes/", "/api/v1/moulds/"])
def test_product_list_endpoints_use_a_fixed_number_of_queries(
    api: Any, team: Any, researcher: Any, pma: PMA, django_assert_max_num_queries: Any, url: str
) -> None:
    client = api(researcher)

    def grow(i: int) -> None:
        s.make_pellet(
            team=team,
            lot=pma.lots["LLZTO"],
            powder_mass="0.6 g",
            press_pressure="300 MPa",
            sinter_temperature="1180 C",
            sinter_dwell="6 h",
            green_diameter="12 mm",
            green_thickness="2 mm",
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
        s.create_mould(name=f"mould {i}", area="10 cm^2", actor=researcher)

    grow(0)
    client.get(url)
    with django_assert_max_num_queries(10) as few:
        assert client.get(url).status_code == 200
    for i in range(1, 4):
        grow(i)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200
