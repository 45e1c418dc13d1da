"""What the results pages say, as the researcher reads them (rendered HTML): the comparison of electrolytes with a
conductivity that is not at 20 °C, the upload list opened from a cell's "Upload data" link, values with their
uncertainty to significant figures, and empty lists that say "nothing yet" rather than "nothing matches"."""

from __future__ import annotations

import re

import pytest

from cells.models import Configuration
from measurements.models import DerivedProperty, Upload
from measurements.services import derive
from measurements.services.derive import run_for_measurement
from measurements.templatetags.derived_values import format_value
from measurements.tests.test_derived_support import (
    bulk_resistance_ohm,
    eis_columns,
    make_arrhenius_series,
    make_cell,
    make_measurement,
    make_membrane,
)

pytestmark = pytest.mark.django_db


def _html(client, user, url, data=None):  # type: ignore[no-untyped-def]
    client.force_login(user)
    response = client.get(url, data or {})
    assert response.status_code == 200
    return response.content.decode()


def _text(html: str) -> str:
    """The page's text without tags and with whitespace collapsed, as a reader sees it."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _one_blocking_cell_at(team, user, temperature_C: float):  # type: ignore[no-untyped-def]
    """EIS of one SS|membrane|SS cell at one temperature, analysed like an upload: sigma = L / (R_b A)."""
    membrane = make_membrane(team, user, recipe_name="PEO-LLZTO", filler_fraction=0.15)
    cell = make_cell(team, user, Configuration.BLOCKING, membrane=membrane)
    r_b = bulk_resistance_ohm(0.0221, 500.0, cell.active_area)
    m = make_measurement(
        team,
        user,
        "PEIS",
        eis_columns("R0-CPE1", {"R0": r_b, "CPE1_0": 2e-6, "CPE1_1": 0.85}),
        cell=cell,
        temperature_C=temperature_C,
    )
    run_for_measurement(m.pk)
    return cell, DerivedProperty.objects.get(measurement=m, name=derive.CONDUCTIVITY)


# ------------------------------------------------------------------------------------------------ comparison
def test_a_conductivity_measured_at_25C_is_compared_labelled_with_its_temperature(client, team, researcher):
    """One blocking cell measured at 25 °C: no value at 20 °C (no direct one, no Arrhenius series), so the
    table shows sigma as measured, "at 25 °C", and says what sigma at 20 °C needs."""
    _, sigma = _one_blocking_cell_at(team, researcher, 25.0)
    html = _html(client, researcher, "/comparison/")
    text = _text(html)
    assert "Nothing to compare yet" not in text
    assert "PEO-LLZTO" in text
    measured = re.search(r'<td class="num" data-metric="conductivity_measured">(.*?)</td>', html, re.S)
    assert measured is not None
    assert f'href="/derived/{sigma.pk}/"' in measured.group(1)
    assert "(n = 1, at 25 °C)" in _text(measured.group(1))
    at_20 = re.search(r'<td class="num" data-metric="conductivity_20C">(.*?)</td>', html, re.S)
    assert at_20 is not None and "/derived/" not in at_20.group(1)
    assert (
        "No σ at 20 °C for PEO-LLZTO" in text
        and "it needs an EIS at 20 ± 1 °C or an Arrhenius series" in text
    )
    assert 'data-figure-url="/comparison/figure.json?metric=conductivity_measured"' in html
    fig = client.get("/comparison/figure.json", {"metric": "conductivity_measured"}).json()
    (trace,) = fig["data"]
    assert trace["name"] == "25 °C" and trace["y"] == [pytest.approx(sigma.value)]


def test_an_arrhenius_series_gives_sigma_at_20C_and_the_measured_values_per_temperature(
    client, team, researcher
):
    cell = make_cell(team, researcher, Configuration.BLOCKING)
    _, members = make_arrhenius_series(team, researcher, cell, temperatures_C=(30, 40, 60))
    for m in members:
        run_for_measurement(m.pk)
    html = _html(client, researcher, "/comparison/")
    at_20 = re.search(r'data-metric="conductivity_20C">(.*?)</td>', html, re.S)
    assert at_20 is not None
    assert "Arrhenius extrapolation: 20 °C is outside the measured temperatures" in at_20.group(1)
    measured = _text(re.search(r'data-metric="conductivity_measured">(.*?)</td>', html, re.S).group(1))  # type: ignore[union-attr]
    assert measured.index("at 30 °C") < measured.index("at 40 °C") < measured.index("at 60 °C")


def test_an_empty_comparison_says_what_it_needs(client, team, researcher):
    text = _text(_html(client, researcher, "/comparison/"))
    assert "Nothing to compare yet: no measurement you can see has been analysed." in text
    assert "σ at 20 °C needs such a measurement at 20 ± 1 °C, or an Arrhenius series" in text
    assert "the table fills as measurements are analysed" not in text


def test_a_comparison_of_properties_it_does_not_tabulate_says_so(client, team, researcher):
    cell = make_cell(team, researcher, Configuration.BLOCKING)
    DerivedProperty.objects.create(
        team=team,
        subject_key="test:hf",
        name="hf_intercept_resistance",
        value=12.0,
        unit="ohm",
        method="test",
        method_version="test/1",
        cell=cell,
    )
    text = _text(_html(client, researcher, "/comparison/"))
    assert "none of the 1 derived properties you can see is one the table compares" in text


# ------------------------------------------------------------------------------------------------ uploads
def _upload(team, user, cell, name):  # type: ignore[no-untyped-def]
    return Upload.objects.create(
        team=team,
        sha256=f"{abs(hash(name)):064x}"[:64],
        raw_file=f"raw/{name}",
        original_name=name,
        size_bytes=10,
        cell=cell,
        uploaded_by=user,
        stage="done",
    )


def test_the_upload_list_opened_for_a_cell_says_it_is_filtered_and_links_to_all_uploads(
    client, team, researcher
):
    """The cell page's "Upload data for X" link sends ?cell_code=X: the form is pre-filled with X and the list
    shows X's uploads only, which it says, with a link to all uploads (that keeps the form's cell)."""
    x = make_cell(team, researcher, Configuration.BLOCKING)
    y = make_cell(team, researcher, Configuration.BLOCKING)
    _upload(team, researcher, y, "y-peis.mpt")
    html = _html(client, researcher, "/uploads/", {"cell_code": x.code})
    text = _text(html)
    assert f'name="cell" value="{x.code}"' in html
    assert f"Only uploads with cell code “{x.code}” are listed." in text
    assert "No upload matches these filters." in text
    assert f'href="/uploads/?for_cell={x.code}">Show all uploads</a>' in html
    assert "y-peis.mpt" not in text
    # the two forms' "cell" fields no longer share one id: each label names its own input
    assert html.count('id="id_cell"') == 1 and 'id="filter_cell_code"' in html


def test_the_upload_list_opened_with_for_cell_prefills_the_form_without_filtering_the_list(
    client, team, researcher
):
    x = make_cell(team, researcher, Configuration.BLOCKING)
    y = make_cell(team, researcher, Configuration.BLOCKING)
    _upload(team, researcher, y, "y-peis.mpt")
    html = _html(client, researcher, "/uploads/", {"for_cell": x.code})
    text = _text(html)
    assert f'name="cell" value="{x.code}"' in html
    assert "y-peis.mpt" in text
    assert "Only uploads with" not in text and "No upload matches" not in text


def test_empty_lists_say_nothing_exists_yet_when_unfiltered(client, team, researcher):
    assert "No uploads yet." in _text(_html(client, researcher, "/uploads/"))
    assert "No measurements yet" in _text(_html(client, researcher, "/measurements/"))
    assert "No derived properties yet." in _text(_html(client, researcher, "/derived/"))
    assert "No series yet." in _text(_html(client, researcher, "/series/"))
    for url in ("/uploads/", "/measurements/", "/derived/", "/series/"):
        assert "match" not in _text(_html(client, researcher, url)).lower(), url


def test_empty_lists_say_the_filters_hid_the_rows_when_filtered(client, team, researcher):
    uploads = _text(_html(client, researcher, "/uploads/", {"stage": "failed", "sort": "-received"}))
    assert "No upload matches these filters." in uploads and "Only uploads with stage “failed”" in uploads
    measurements = _text(_html(client, researcher, "/measurements/", {"q": "nothing-like-this"}))
    assert "No measurement matches these filters (search “nothing-like-this”)." in measurements
    derived = _text(_html(client, researcher, "/derived/", {"cell_code": "NO-SUCH-CELL"}))
    assert "No derived property matches these filters (cell code “NO-SUCH-CELL”)." in derived
    series = _text(_html(client, researcher, "/series/", {"kind": "arrhenius"}))
    assert "No series matches these filters (kind “EIS at several temperatures (Arrhenius)”)." in series


# ------------------------------------------------------------------------------------------------ numbers
def test_value_and_uncertainty_end_at_the_same_significant_digit():
    """u to 2 significant figures, the value to the same decimal place; a non-zero value keeps a figure."""
    assert format_value(0.2213456, 0.0000493) == ("0.221346", "0.000049")
    assert format_value(0.000049, 0.0000012) == ("0.0000490", "0.0000012")
    assert format_value(0.33112, 0.00523) == ("0.3311", "0.0052")
    assert format_value(0.33112, 0.0995) == ("0.33", "0.10")  # 0.0995 rounds up to 0.10
    assert format_value(1e-5, 0.5) == ("0.00001", "0.50")
    assert format_value(0.000049) == ("0.000049", "")
    assert format_value(123456.7) == ("123457", "")
    assert format_value(4.9e-7, 1.2e-8) == ("4.90e-07", "1.2e-08")
    assert format_value(5.0, 0.0) == ("5", "0")


def test_a_small_uncertainty_is_never_shown_as_zero_on_the_derived_pages(client, team, researcher):
    """sigma = 0.0000493 S/m +- 0.0000012: the list, the provenance page, the measurement page and the cell's
    series page show 0.0000493 and 0.0000012 (floatformat:-3 printed the uncertainty as 0.000)."""
    cell = make_cell(team, researcher, Configuration.BLOCKING)
    m = make_measurement(
        team,
        researcher,
        "PEIS",
        eis_columns("R0-CPE1", {"R0": 100.0, "CPE1_0": 2e-6, "CPE1_1": 0.85}),
        cell=cell,
    )
    series = derive.create_series(team=team, name="tiny", kind="arrhenius", cell=cell)
    row = DerivedProperty.objects.create(
        team=team,
        subject_key=f"test:{m.pk}",
        name=derive.CONDUCTIVITY,
        value=0.0000493,
        uncertainty=0.0000012,
        unit="S/m",
        method="test",
        method_version="test/1",
        cell=cell,
        measurement=m,
        temperature=25.0,
    )
    DerivedProperty.objects.create(
        team=team,
        subject_key=f"series:{series.pk}",
        name=derive.ACTIVATION_ENERGY,
        value=0.33112,
        uncertainty=0.0000523,
        unit="eV",
        method="test",
        method_version="test/1",
        series=series,
    )
    listing = _html(client, researcher, "/derived/", {"name": derive.CONDUCTIVITY})
    assert '<td class="num">0.0000493</td>' in listing and '<td class="num">0.0000012</td>' in listing
    assert '<td class="num">0.000</td>' not in listing
    detail = _text(_html(client, researcher, f"/derived/{row.pk}/"))
    assert "ionic conductivity: 0.0000493 ± 0.0000012 S/m" in detail
    measurement_page = _html(client, researcher, f"/measurements/{m.pk}/")
    assert '<td class="num">0.0000493</td>' in measurement_page
    assert '<td class="num">0.0000012</td>' in measurement_page
    series_page = _html(client, researcher, f"/series/{series.pk}/")
    assert '<td class="num">0.331120</td>' in series_page and '<td class="num">0.000052</td>' in series_page
