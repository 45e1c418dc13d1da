"""Pages and figures of the derived part: /derived/, /comparison/, /series/<id>/, Nyquist with the fitted circuit."""

from __future__ import annotations

import csv
import io

import pytest

from cells.models import Configuration
from measurements.models import DerivedProperty
from measurements.services import derive
from measurements.services.derive import run_for_measurement
from measurements.tests.test_derived_support import (  # noqa: F401  (fixture)
    eager_celery,
    make_arrhenius_series,
    make_cell,
    make_rows,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def arrhenius(team, researcher):
    cell = make_cell(team, researcher, Configuration.BLOCKING)
    series, members = make_arrhenius_series(team, researcher, cell, temperatures_C=(20, 40, 60, 80))
    for m in members:
        run_for_measurement(m.pk)
    return cell, series, members


def _login(client, user):  # type: ignore[no-untyped-def]
    client.force_login(user)
    return client


def test_the_derived_list_page_shows_the_rows_with_labelled_filters(client, arrhenius, researcher):
    response = _login(client, researcher).get("/derived/", {"name": derive.CONDUCTIVITY})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("ionic conductivity") >= 4
    assert '<label for="id_temperature_min">' in html
    assert "/derived/export.csv?name=ionic_conductivity" in html


def test_the_derived_list_page_query_count_does_not_grow(
    client, team, researcher, django_assert_max_num_queries
):
    make_rows(team, researcher, 3)
    c = _login(client, researcher)
    c.get("/derived/")  # warm the session
    with django_assert_max_num_queries(8):
        assert c.get("/derived/").status_code == 200
    make_rows(team, researcher, 12)
    with django_assert_max_num_queries(8):
        response = c.get("/derived/")
    assert response.content.decode().count("/derived/") > 15


def test_a_wrong_temperature_filter_shows_the_unit_message_next_to_the_field(client, arrhenius, researcher):
    html = _login(client, researcher).get("/derived/", {"temperature_min": "3 mL"}).content.decode()
    assert "expected a temperature, got a volume: 3 mL" in html


def test_the_csv_export_page_streams_the_filtered_rows(client, arrhenius, researcher):
    response = _login(client, researcher).get("/derived/export.csv", {"name": derive.ACTIVATION_ENERGY})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert response["Content-Type"].startswith("text/csv")
    assert len(rows) == 2 and rows[1][1] == derive.ACTIVATION_ENERGY
    bad = client.get("/derived/export.csv", {"temperature_max": "1 V"})
    assert bad.status_code == 400


def test_the_provenance_page_shows_method_inputs_and_the_nyquist_fit(client, arrhenius, researcher, outsider):
    _, _, members = arrhenius
    row = DerivedProperty.objects.get(measurement=members[0], name=derive.CONDUCTIVITY)
    html = _login(client, researcher).get(f"/derived/{row.pk}/").content.decode()
    assert "conductivity/1" in html
    assert "thickness_source" in html
    assert f'data-figure-url="/measurements/{members[0].pk}/figures/nyquist-fit.json"' in html
    assert "<script>" not in html
    client.force_login(outsider)
    assert client.get(f"/derived/{row.pk}/").status_code == 404


def test_the_nyquist_figure_overlays_the_fitted_circuit(client, arrhenius, researcher, outsider):
    _, _, members = arrhenius
    url = f"/measurements/{members[0].pk}/figures/nyquist-fit.json"
    fig = _login(client, researcher).get(url).json()
    measured, fitted = fig["data"]
    assert len(measured["x"]) == 71
    assert fitted["name"].startswith("fit R0-CPE1")
    assert min(fitted["x"]) == pytest.approx(94.0, rel=0.02)
    csv_rows = list(
        csv.reader(io.StringIO(b"".join(client.get(url.replace(".json", ".csv")).streaming_content).decode()))
    )
    assert csv_rows[0] == ["freq_Hz", "z_re_ohm", "z_im_ohm", "fit_z_re_ohm", "fit_z_im_ohm"]
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_the_series_page_draws_the_arrhenius_plot_with_ea_in_the_legend(
    client, arrhenius, researcher, outsider
):
    _, series, _ = arrhenius
    c = _login(client, researcher)
    html = c.get(f"/series/{series.pk}/").content.decode()
    assert f'data-figure-url="/series/{series.pk}/figures/arrhenius.json"' in html
    assert "vendor/plotly-2.min.js" in html
    fig = c.get(f"/series/{series.pk}/figures/arrhenius.json").json()
    points, line = fig["data"]
    assert len(points["x"]) == 4
    assert "Ea = 0.33" in line["name"] and "eV" in line["name"]
    assert fig["layout"]["yaxis"]["type"] == "log"
    client.force_login(outsider)
    assert client.get(f"/series/{series.pk}/").status_code == 404
    assert client.get(f"/series/{series.pk}/figures/arrhenius.json").status_code == 404


@pytest.mark.usefixtures("eager_celery")
def test_recomputing_a_series_from_its_page_needs_the_researcher_role(
    client, arrhenius, researcher, viewer, django_capture_on_commit_callbacks
):
    _, series, _ = arrhenius
    client.force_login(viewer)
    assert client.post(f"/series/{series.pk}/compute/").status_code == 403
    client.force_login(researcher)
    DerivedProperty.objects.filter(series=series).delete()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/series/{series.pk}/compute/")
    assert response.status_code == 302
    assert DerivedProperty.objects.filter(series=series, name=derive.ACTIVATION_ENERGY).exists()


def test_the_comparison_page_shows_the_table_and_one_chart_per_metric(client, arrhenius, researcher):
    c = _login(client, researcher)
    html = c.get("/comparison/").content.decode()
    assert "LLZTO-PMA" in html
    assert 'data-figure-url="/comparison/figure.json?metric=conductivity_20C"' in html
    assert 'data-figure-url="/comparison/figure.json?metric=activation_energy"' in html
    fig = c.get("/comparison/figure.json", {"metric": "activation_energy"}).json()
    assert fig["data"][0]["y"][0] == pytest.approx(0.331, rel=0.02)
    assert c.get("/comparison/figure.json", {"metric": "nonsense"}).status_code == 404
    rows = list(csv.reader(io.StringIO(b"".join(c.get("/comparison/export.csv").streaming_content).decode())))
    assert rows[0][0] == "electrolyte" and len(rows) == 2


def test_the_comparison_page_query_count_does_not_grow(
    client, team, researcher, django_assert_max_num_queries
):
    make_rows(team, researcher, 3)
    c = _login(client, researcher)
    c.get("/comparison/")
    with django_assert_max_num_queries(6):
        c.get("/comparison/")
    make_rows(team, researcher, 9)
    with django_assert_max_num_queries(6):
        assert c.get("/comparison/").status_code == 200


def test_the_series_list_page_query_count_does_not_grow(
    client, team, researcher, django_assert_max_num_queries
):
    cell = make_cell(team, researcher, Configuration.BLOCKING)
    derive.create_series(team=team, name="s0", kind="arrhenius", cell=cell)
    c = _login(client, researcher)
    c.get("/series/")
    with django_assert_max_num_queries(6):
        c.get("/series/")
    for k in range(10):
        derive.create_series(team=team, name=f"s{k + 1}", kind="arrhenius", cell=cell)
    with django_assert_max_num_queries(6):
        assert c.get("/series/").content.decode().count("/series/") >= 11


def test_the_dashboard_lists_the_latest_derived_properties(client, arrhenius, researcher, outsider):
    html = _login(client, researcher).get("/").content.decode()
    assert "Latest derived properties" in html
    assert "activation energy" in html
    client.force_login(outsider)
    assert "activation energy" not in client.get("/").content.decode()


def test_pages_need_a_login(client):
    assert client.get("/derived/").status_code == 302
    assert client.get("/comparison/").status_code == 302
