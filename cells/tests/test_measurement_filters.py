"""The filters of the measurement pages (uploads, measurements, derived properties) ask for codes and names; the
API's id parameters stay and find the same rows as before (measurements/filters_*.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import QueryDict
from django.test import Client

from cells.tests import factories as f
from formulations.models import ChemicalRole
from lims.tests.pages import form_labels
from measurements.filters_derived import DerivedPropertyFilter, MeasurementSeriesFilter
from measurements.filters_ingest import MeasurementFilter, UploadFilter
from measurements.models import DerivedProperty, Instrument, MeasurementSeries, Upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(team, researcher):  # type: ignore[no-untyped-def]
    """Two membranes with a derived property each, a pellet with one, a series with one."""
    ours = f.two_membranes_and_a_pellet(team=team, user=researcher)
    m1, m2, p = ours["m1"], ours["m2"], ours["pellet"]
    series = MeasurementSeries.objects.create(team=team, name="Arrhenius M1 20-80 C", kind="arrhenius")

    def prop(key: str, **subject: Any) -> DerivedProperty:
        return DerivedProperty.objects.create(
            team=team,
            subject_key=key,
            name="ionic_conductivity",
            value=0.2,
            unit="mS/cm",
            method="test",
            method_version="1",
            **subject,
        )

    return {
        "m1": m1,
        "m2": m2,
        "pellet": p,
        "series": series,
        "d1": prop("membrane:1", membrane=m1),
        "d2": prop("membrane:2", membrane=m2),
        "dp": prop("pellet:1", pellet=p),
        "ds": prop("series:1", series=series, membrane=m1),
    }


def _pks(filterset: Any) -> set[int]:
    assert filterset.is_valid(), filterset.errors
    return set(filterset.qs.values_list("pk", flat=True))


def _drawn(filterset_class: Any, query: str = "") -> list[str]:
    """The names of the filters a page draws (what its template iterates)."""
    return [bound.name for bound in filterset_class(QueryDict(query)).form]


def test_the_pages_draw_codes_and_names_and_leave_out_the_api_ids() -> None:
    derived = _drawn(DerivedPropertyFilter)
    assert {"cell_code", "membrane_code", "pellet_code", "series_name", "recipe_name"} <= set(derived)
    assert not {"cell", "series", "membrane", "pellet", "recipe", "recipe_version"} & set(derived)
    measurements = _drawn(MeasurementFilter)
    assert {"cell_code", "membrane_code", "pellet_code"} <= set(measurements)
    assert not {"cell", "membrane", "pellet"} & set(measurements)
    uploads = _drawn(UploadFilter)
    assert {"cell_code", "instrument_name"} <= set(uploads) and not {"cell", "instrument"} & set(uploads)
    # one cell filter per page: the code (the id only when a link sets it)
    assert derived.count("cell_code") == 1 and "cell" in _drawn(DerivedPropertyFilter, "cell=5")


def test_the_derived_page_shows_no_id_filter(client: Client, researcher: Any, rows: Any) -> None:
    client.force_login(researcher)
    html = client.get("/derived/").content.decode()
    labels = form_labels(html)
    assert "Membrane code" in labels and "Cell code" in labels and "Series name contains" in labels
    assert not [label for label in labels if label.endswith(" id") or "(id)" in label], labels


def test_the_membrane_and_pellet_codes_find_their_derived_properties(rows: Any) -> None:
    qs = DerivedProperty.objects.all()
    code = rows["m1"].code.lower()
    assert _pks(DerivedPropertyFilter(QueryDict(f"membrane_code={code}"), queryset=qs)) == {
        rows["d1"].pk,
        rows["ds"].pk,
    }
    assert _pks(DerivedPropertyFilter(QueryDict(f"pellet_code={rows['pellet'].code}"), queryset=qs)) == {
        rows["dp"].pk
    }
    assert _pks(DerivedPropertyFilter(QueryDict("series_name=arrhenius m1"), queryset=qs)) == {rows["ds"].pk}
    # the id parameters, as before
    assert _pks(DerivedPropertyFilter(QueryDict(f"membrane={rows['m2'].pk}"), queryset=qs)) == {rows["d2"].pk}
    assert _pks(DerivedPropertyFilter(QueryDict(f"series={rows['series'].pk}"), queryset=qs)) == {
        rows["ds"].pk
    }


def test_the_api_of_derived_properties_takes_both_the_id_and_the_code(
    api: Any, researcher: Any, rows: Any
) -> None:
    client = api(researcher)

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/v1/derived-properties/?{query}")
        assert response.status_code == 200, response.content
        body = response.json()
        return {row["id"] for row in (body["results"] if isinstance(body, dict) else body)}

    assert ids(f"membrane={rows['m2'].pk}") == ids(f"membrane_code={rows['m2'].code}") == {rows["d2"].pk}
    assert ids(f"pellet={rows['pellet'].pk}") == ids(f"pellet_code={rows['pellet'].code}") == {rows["dp"].pk}


def test_the_instrument_name_and_series_cell_code_filters(team: Any, researcher: Any) -> None:
    from lims.models import User

    service = User.objects.create_user(username="potentiostat-1")
    vmp = Instrument.objects.create(team=team, name="VMP-300 left", service_user=service)
    common = {"team": team, "size_bytes": 10, "uploaded_by": researcher, "raw_file": "raw/x"}
    with_instrument = Upload.objects.create(sha256="a" * 64, original_name="a.mpr", instrument=vmp, **common)
    Upload.objects.create(sha256="b" * 64, original_name="b.mpr", **common)
    found = _pks(UploadFilter(QueryDict("instrument_name=vmp-300"), queryset=Upload.objects.all()))
    assert found == {with_instrument.pk}
    li = f.li_foil_lot(user=researcher)
    version = f.recipe_version(team=team, user=researcher)
    salt = f.lot(user=researcher, chem=f.chemical("LiTFSI", role=ChemicalRole.SALT))
    m = f.membrane(
        team=team, user=researcher, b=f.batch(team=team, user=researcher, version=version, lots=[salt])
    )
    cell = f.symmetric_cell(team=team, user=researcher, membrane_=m, li=li)
    mine = MeasurementSeries.objects.create(team=team, name="s1", kind="arrhenius", cell=cell)
    MeasurementSeries.objects.create(team=team, name="s2", kind="arrhenius")
    qs = MeasurementSeries.objects.all()
    assert _pks(MeasurementSeriesFilter(QueryDict(f"cell_code={cell.code.lower()}"), queryset=qs)) == {
        mine.pk
    }
    assert _pks(MeasurementSeriesFilter(QueryDict(f"cell={cell.pk}"), queryset=qs)) == {mine.pk}
