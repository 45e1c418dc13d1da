"""API of the derived part: /api/v1/derived-properties/ (filters, cursor pages, CSV), /api/v1/series/, comparison."""

from __future__ import annotations

import csv
import io

import pytest

from cells.models import Configuration
from measurements.models import DerivedProperty, MeasurementSeries, SeriesMember
from measurements.services import derive
from measurements.services.derive import run_for_measurement
from measurements.tests.test_derived_support import (  # noqa: F401  (fixture)
    eager_celery,
    eis_columns,
    make_arrhenius_series,
    make_cell,
    make_measurement,
    make_membrane,
    make_rows,
)

pytestmark = pytest.mark.django_db

LIST = "/api/v1/derived-properties/"


@pytest.fixture
def arrhenius(team, researcher):
    """A blocking cell (LLZTO-PMA, 20 wt%) with EIS at 20, 40, 60, 80 °C, analysed."""
    cell = make_cell(team, researcher, Configuration.BLOCKING)
    series, members = make_arrhenius_series(team, researcher, cell, temperatures_C=(20, 40, 60, 80))
    for m in members:
        run_for_measurement(m.pk)
    return cell, series, members


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


# ------------------------------------------------------------------------------------------------ list, filters
def test_researchers_see_their_teams_derived_properties_and_outsiders_see_none(
    api, arrhenius, researcher, outsider
):
    mine = api(researcher).get(LIST, {"name": derive.CONDUCTIVITY})
    assert mine.status_code == 200
    assert len(mine.json()["results"]) == 4
    assert api(outsider).get(LIST).json()["results"] == []
    row_id = DerivedProperty.objects.first().pk  # type: ignore[union-attr]
    assert api(outsider).get(f"{LIST}{row_id}/").status_code == 404


def test_a_derived_property_reads_with_its_unit_temperature_method_and_inputs(api, arrhenius, researcher):
    cell, _, members = arrhenius
    data = (
        api(researcher)
        .get(LIST, {"name": derive.CONDUCTIVITY, "temperature_max": "20 degC"})
        .json()["results"]
    )
    assert len(data) == 1
    row = data[0]
    assert row["unit"] == "mS/cm"
    assert row["temperature"] == {"magnitude": 20.0, "unit": "degC"}
    assert row["method_version"] == "conductivity/1"
    assert row["inputs"]["thickness_source"].endswith("measured")
    assert row["inputs"]["measurement_ids"] == [members[0].pk]
    assert row["cell_code"] == cell.code
    assert row["filler_wt_percent"] == 20.0
    assert row["electrolyte"].startswith("LLZTO-PMA")
    assert row["value"] == pytest.approx(0.266, rel=0.02)


def test_the_temperature_range_filter_reads_units(api, arrhenius, researcher):
    """30 °C .. 333.15 K (= 60 °C) holds the 40 and 60 °C measurements."""
    data = (
        api(researcher)
        .get(LIST, {"name": derive.CONDUCTIVITY, "temperature_min": "30 degC", "temperature_max": "333.15 K"})
        .json()["results"]
    )
    assert sorted(r["temperature"]["magnitude"] for r in data) == [40.0, 60.0]


def test_a_temperature_filter_of_the_wrong_dimension_is_refused_with_the_unit_message(
    api, arrhenius, researcher
):
    response = api(researcher).get(LIST, {"temperature_min": "5 g"})
    assert response.status_code == 400
    assert "expected a temperature, got a mass: 5 g" in response.json()["error"]["message"]


def test_filters_by_cell_recipe_and_filler_content(api, team, researcher):
    rows = make_rows(team, researcher, 6)  # filler 0, 10, 20, 0, 10, 20 wt%
    client = api(researcher)
    by_cell = client.get(LIST, {"cell": rows[1].cell_id}).json()["results"]
    assert [r["id"] for r in by_cell] == [rows[1].pk]
    filler = client.get(LIST, {"filler_min": 15, "filler_max": 25}).json()["results"]
    assert sorted(r["id"] for r in filler) == [rows[2].pk, rows[5].pk]
    recipe_id = rows[0].membrane.batch.recipe_version.recipe_id  # type: ignore[union-attr]
    assert len(client.get(LIST, {"recipe": recipe_id}).json()["results"]) == 6
    assert client.get(LIST, {"recipe_name": "no such recipe"}).json()["results"] == []


def test_the_list_is_cursor_paginated(api, team, researcher):
    make_rows(team, researcher, 3)
    first = api(researcher).get(LIST, {"page_size": 2}).json()
    assert len(first["results"]) == 2
    assert "cursor=" in first["next"]
    second = api(researcher).get(first["next"]).json()
    assert len(second["results"]) == 1


def test_the_list_query_count_does_not_grow_with_the_rows(
    api, team, researcher, django_assert_max_num_queries
):
    make_rows(team, researcher, 3)
    client = api(researcher)
    with django_assert_max_num_queries(4):
        assert len(client.get(LIST).json()["results"]) == 3
    make_rows(team, researcher, 9)
    with django_assert_max_num_queries(4):
        assert len(client.get(LIST).json()["results"]) == 12


def test_csv_export_holds_the_filtered_rows(api, arrhenius, researcher, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        response = api(researcher).get(f"{LIST}export/", {"name": derive.CONDUCTIVITY})
        rows = _csv(response)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert rows[0][:4] == ["id", "name", "value", "unit"]
    assert len(rows) == 1 + 4
    assert {r[1] for r in rows[1:]} == {derive.CONDUCTIVITY}


def test_an_instrument_token_cannot_read_derived_properties(token_client, researcher, arrhenius):
    assert token_client(researcher, scope="instrument").get(LIST).status_code == 403


# ------------------------------------------------------------------------------------------------ series
@pytest.mark.usefixtures("eager_celery")
def test_a_researcher_creates_a_series_adds_members_and_computes_it(
    api, team, researcher, django_capture_on_commit_callbacks
):
    cell = make_cell(team, researcher, Configuration.BLOCKING)
    _, members = make_arrhenius_series(team, researcher, cell, temperatures_C=(20, 50, 80))
    client = api(researcher)
    created = client.post(
        "/api/v1/series/", {"name": "T sweep", "kind": "arrhenius", "cell": cell.pk}, format="json"
    )
    assert created.status_code == 201, created.content
    sid = created.json()["id"]
    for m in members:
        added = client.post(f"/api/v1/series/{sid}/members/", {"measurement": m.pk}, format="json")
        assert added.status_code == 201, added.content
    assert [x["measurement"] for x in added.json()["members"]] == [m.pk for m in members]
    with django_capture_on_commit_callbacks(execute=True):
        queued = client.post(f"/api/v1/series/{sid}/compute/")
    assert queued.status_code == 202
    ea = DerivedProperty.objects.get(series_id=sid, name=derive.ACTIVATION_ENERGY)
    assert ea.value == pytest.approx(0.331, rel=0.02)
    detail = client.get(f"/api/v1/series/{sid}/").json()
    assert derive.ACTIVATION_ENERGY in {p["name"] for p in detail["derived_properties"]}
    removed = client.delete(f"/api/v1/series/{sid}/members/{members[0].pk}/")
    assert removed.status_code == 204
    assert SeriesMember.objects.filter(series_id=sid).count() == 2


def test_adding_a_wrong_technique_to_an_arrhenius_series_is_a_400_with_the_reason(api, team, researcher):
    from measurements.analysis import synthetic as syn
    from measurements.tests.test_derived_support import time_series_columns

    cell = make_cell(team, researcher, Configuration.SYMMETRIC)
    series = derive.create_series(team=team, name="A", kind="arrhenius", cell=cell)
    m = make_measurement(
        team, researcher, "GCPL", time_series_columns(syn.symmetric_cycling(1, 2e-4, 0.4, 4)), cell=cell
    )
    response = api(researcher).post(
        f"/api/v1/series/{series.pk}/members/", {"measurement": m.pk}, format="json"
    )
    assert response.status_code == 400
    assert "EIS" in response.json()["error"]["message"]


def test_a_viewer_cannot_create_or_compute_a_series_and_an_outsider_cannot_see_it(
    api, team, researcher, viewer, outsider
):
    cell = make_cell(team, researcher, Configuration.BLOCKING)
    series = derive.create_series(team=team, name="A", kind="arrhenius", cell=cell)
    assert (
        api(viewer).post("/api/v1/series/", {"name": "x", "kind": "arrhenius"}, format="json").status_code
        == 403
    )
    assert api(viewer).post(f"/api/v1/series/{series.pk}/compute/").status_code == 403
    assert api(viewer).delete(f"/api/v1/series/{series.pk}/members/1/").status_code == 403
    assert api(outsider).delete(f"/api/v1/series/{series.pk}/members/1/").status_code == 404
    assert api(viewer).get(f"/api/v1/series/{series.pk}/").status_code == 200
    assert api(outsider).get(f"/api/v1/series/{series.pk}/").status_code == 404
    assert api(outsider).post(f"/api/v1/series/{series.pk}/compute/").status_code == 404
    assert api(outsider).get("/api/v1/series/").json()["results"] == []


def test_a_measurement_the_user_cannot_see_cannot_be_added(api, team, other_team, researcher, outsider):
    cell = make_cell(team, researcher, Configuration.BLOCKING)
    series = derive.create_series(team=team, name="A", kind="arrhenius", cell=cell)
    foreign_cell = make_cell(other_team, outsider, Configuration.BLOCKING)
    foreign = make_measurement(
        other_team,
        outsider,
        "PEIS",
        eis_columns("R0-CPE1", {"R0": 9, "CPE1_0": 2e-6, "CPE1_1": 0.9}),
        cell=foreign_cell,
    )
    response = api(researcher).post(
        f"/api/v1/series/{series.pk}/members/", {"measurement": foreign.pk}, format="json"
    )
    assert response.status_code == 400
    assert not SeriesMember.objects.exists()


def test_only_a_manager_deletes_a_series_and_its_derived_properties_go_with_it(
    api, arrhenius, researcher, manager
):
    _, series, _ = arrhenius
    assert DerivedProperty.objects.filter(series=series).exists()
    assert api(researcher).delete(f"/api/v1/series/{series.pk}/").status_code == 403
    assert api(manager).delete(f"/api/v1/series/{series.pk}/").status_code == 204
    assert not MeasurementSeries.objects.filter(pk=series.pk).exists()
    assert not DerivedProperty.objects.filter(subject_key=f"series:{series.pk}").exists()


def test_the_series_list_query_count_does_not_grow(api, team, researcher, django_assert_max_num_queries):
    cell = make_cell(team, researcher, Configuration.BLOCKING)
    for k in range(2):
        derive.create_series(team=team, name=f"s{k}", kind="arrhenius", cell=cell)
    client = api(researcher)
    with django_assert_max_num_queries(6):
        client.get("/api/v1/series/")
    for k in range(8):
        derive.create_series(team=team, name=f"t{k}", kind="arrhenius", cell=cell)
    with django_assert_max_num_queries(6):
        assert client.get("/api/v1/series/").json()["count"] == 10


# ------------------------------------------------------------------------------------------------ comparison
def test_the_comparison_tabulates_each_electrolyte_with_links_to_provenance(
    api, arrhenius, team, researcher, outsider, django_assert_max_num_queries
):
    with django_assert_max_num_queries(4):
        data = api(researcher).get("/api/v1/comparison/").json()
    assert [m["key"] for m in data["metrics"]][:3] == [
        "conductivity_20C",
        "conductivity_measured",
        "activation_energy",
    ]
    (row,) = data["rows"]
    assert row["filler_wt_percent"] == 20.0
    sigma = row["values"]["conductivity_20C"]
    assert sigma["value"] == pytest.approx(0.266, rel=0.02)
    assert sigma["n"] == 1
    assert sigma["url"] == f"/derived/{sigma['derived_property_id']}/"
    assert sigma["note"] == "measured at 20 °C"  # the direct measurement at 20 °C, not the Arrhenius value
    measured = row["values"]["conductivity_measured"]  # the one measured nearest to 20 °C, labelled
    assert measured["derived_property_id"] == sigma["derived_property_id"] and measured["note"] == "at 20 °C"
    assert row["values"]["activation_energy"]["value"] == pytest.approx(0.331, rel=0.02)
    assert row["values"]["transference_number"] is None
    assert api(outsider).get("/api/v1/comparison/").json()["rows"] == []


def test_the_comparison_groups_by_filler_content_and_takes_the_median(api, team, researcher):
    """Filler 0, 10, 20, 0, 10, 20 wt% with values 0.20 ... 0.25: the 0 wt% group holds 0.20 and 0.23 -> the
    lower median 0.20, n = 2."""
    rv_rows = make_rows(team, researcher, 6)
    # one recipe version for all so that only the filler content separates the groups
    rv = rv_rows[0].membrane.batch.recipe_version  # type: ignore[union-attr]
    from formulations.models import Batch

    Batch.objects.filter(membranes__in=[r.membrane_id for r in rv_rows]).update(recipe_version=rv)
    rows = api(researcher).get("/api/v1/comparison/").json()["rows"]
    assert [r["filler_wt_percent"] for r in rows] == [0.0, 10.0, 20.0]
    zero = rows[0]["values"]["conductivity_20C"]
    assert zero["n"] == 2
    assert zero["value"] == pytest.approx(0.20)


def test_the_schema_documents_the_derived_endpoints(api, researcher):
    schema = api(researcher).get("/api/v1/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert "/api/v1/derived-properties/" in paths
    assert "/api/v1/derived-properties/export/" in paths
    assert "/api/v1/series/{id}/compute/" in paths
    assert "/api/v1/comparison/" in paths
