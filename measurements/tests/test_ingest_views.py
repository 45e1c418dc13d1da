"""Pages: the upload page (drag and drop through the API, a plain form without JS), upload status, measurements."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from measurements.models import Measurement, Stage, Upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client, researcher):  # type: ignore[no-untyped-def]
    client.force_login(researcher)
    return client


def test_the_upload_page_has_a_labelled_multi_file_drop_zone_and_no_inline_script(browser, cell):
    page = browser.get("/uploads/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="dropzone"' in html and 'name="files" multiple' in html
    assert '<label for="id_files">' in html and '<label for="id_cell">' in html
    assert "measurements/upload.js" in html and "<script>" not in html
    assert 'data-api-url="/api/v1/uploads/"' in html and "csrfmiddlewaretoken" in html
    assert f'<option value="{cell.code}">' in html


def test_the_form_without_javascript_stores_several_files_through_the_same_service(
    browser, cell, echem_dir, django_capture_on_commit_callbacks
):
    files = [
        SimpleUploadedFile("peis.mpt", (echem_dir / "biologic_pairs/yadg_peis.mpt").read_bytes()),
        SimpleUploadedFile("cycling.ndax", (echem_dir / "neware/navani_test.ndax").read_bytes()),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post("/uploads/", {"files": files, "cell": cell.code, "temperature": "30 degC"})
    assert response.status_code == 302
    assert sorted(Upload.objects.values_list("original_name", "stage")) == [
        ("cycling.ndax", Stage.DONE),
        ("peis.mpt", Stage.DONE),
    ]
    assert set(Measurement.objects.values_list("temperature", flat=True)) == {30.0}


def test_a_viewer_sees_no_upload_form_and_cannot_post_one(client, viewer, cell, echem_dir):
    client.force_login(viewer)
    assert 'id="upload-form"' not in client.get("/uploads/").content.decode()
    response = client.post(
        "/uploads/", {"files": [SimpleUploadedFile("a.mpt", b"EC-Lab ASCII FILE\n")], "cell": cell.code}
    )
    assert response.status_code == 403
    assert Upload.objects.count() == 0


def test_the_upload_page_is_protected_by_csrf(client, researcher, cell):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(researcher)
    response = csrf_client.post(
        "/uploads/", {"files": [SimpleUploadedFile("a.mpt", b"x")], "cell": cell.code}
    )
    assert response.status_code == 403


def test_the_upload_detail_shows_the_failure_reason_and_a_confirmed_retry(
    browser, cell, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(
            "/uploads/", {"files": [SimpleUploadedFile("junk.mpt", b"\x00\x01\x02" * 100)], "cell": cell.code}
        )
    upload = Upload.objects.get()
    html = browser.get(f"/uploads/{upload.pk}/").content.decode()
    assert upload.stage == Stage.FAILED and "not a recognised instrument file" in html
    assert 'data-confirm="Parse this file again?"' in html
    assert f"/api/v1/uploads/{upload.pk}/raw/" in html


def test_the_measurement_page_shows_metadata_cycle_table_and_plots_from_the_figure_endpoints(
    browser, cell, echem_dir, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(
            "/uploads/",
            {
                "files": [SimpleUploadedFile("c.ndax", (echem_dir / "neware/navani_test.ndax").read_bytes())],
                "cell": cell.code,
            },
        )
    m = Measurement.objects.get()
    html = browser.get(f"/measurements/{m.pk}/").content.decode()
    assert f'data-figure-url="/api/v1/measurements/{m.pk}/figures/voltage-time.json"' in html
    assert f'data-figure-url="/api/v1/measurements/{m.pk}/figures/capacity-cycle.json"' in html
    assert "vendor/plotly-2.min.js" in html and "Cycle summary" in html and "1464" in html
    assert browser.get(f"/api/v1/measurements/{m.pk}/figures/voltage-time.json").status_code == 200


def test_an_eis_measurement_page_offers_nyquist_and_bode(
    browser, cell, echem_dir, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(
            "/uploads/",
            {
                "files": [
                    SimpleUploadedFile("p.mpt", (echem_dir / "biologic_pairs/yadg_peis.mpt").read_bytes())
                ],
                "cell": cell.code,
            },
        )
    m = Measurement.objects.get()
    html = browser.get(f"/measurements/{m.pk}/").content.decode()
    assert "figures/nyquist.json" in html and "figures/bode.json" in html and "voltage-time" not in html


def test_another_teams_user_gets_404_on_our_upload_and_measurement_pages(
    outsider, browser, cell, echem_dir, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(
            "/uploads/",
            {
                "files": [
                    SimpleUploadedFile("p.mpt", (echem_dir / "biologic_pairs/yadg_peis.mpt").read_bytes())
                ],
                "cell": cell.code,
            },
        )
    from django.test import Client

    upload, m = Upload.objects.get(), Measurement.objects.get()
    client = Client()
    client.force_login(outsider)
    assert client.get(f"/uploads/{upload.pk}/").status_code == 404
    assert client.get(f"/measurements/{m.pk}/").status_code == 404
    assert "p.mpt" not in client.get("/uploads/").content.decode()


def test_the_dashboard_lists_failed_uploads_with_their_reason_and_offers_upload_data(
    browser, cell, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(
            "/uploads/", {"files": [SimpleUploadedFile("junk.mpt", b"\x00\x01" * 50)], "cell": cell.code}
        )
    html = browser.get("/").content.decode()
    assert "Failed uploads" in html and "junk.mpt" in html and "not a recognised instrument file" in html
    assert 'href="/uploads/">Upload data' in html


def _rows(cell, user, n: int, start: int) -> None:  # type: ignore[no-untyped-def]
    for k in range(start, start + n):
        u = Upload.objects.create(
            team=cell.team,
            sha256=f"{k:064x}",
            raw_file=f"raw/{k}",
            original_name=f"f{k}.mpt",
            size_bytes=1,
            cell=cell,
            uploaded_by=user,
            stage=Stage.DONE,
        )
        Measurement.objects.create(
            team=cell.team, upload=u, cell=cell, technique="GCPL", source_format="x", columns=["time_s"]
        )


@pytest.mark.parametrize("url", ["/uploads/", "/measurements/"])
def test_list_pages_use_a_constant_number_of_queries(
    browser, researcher, cell, django_assert_max_num_queries, url
):
    _rows(cell, researcher, 2, 0)
    with django_assert_max_num_queries(30) as few:
        assert browser.get(url).status_code == 200
    _rows(cell, researcher, 40, 100)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert browser.get(url).status_code == 200
