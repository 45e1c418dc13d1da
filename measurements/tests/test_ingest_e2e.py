"""End to end with a REAL Redis broker and a REAL Celery worker process (not eager): POST -> 202 -> ... -> done."""

from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from measurements.models import CycleSummary, Measurement, Stage, Upload

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def wait_for_stage(client, url: str, stages: set[str], worker, timeout: float = 120.0) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    status: dict = {}
    while time.monotonic() < deadline:
        status = client.get(url).json()
        if status["stage"] in stages:
            return status
        time.sleep(0.3)
    raise AssertionError(
        f"upload still {status.get('stage')} after {timeout} s; worker log:\n{worker.read_logs()}"
    )


def test_an_upload_is_parsed_by_a_real_worker_from_post_to_done(
    celery_worker_process, instrument_client, api, researcher, cell, echem_dir, parsed_files
):
    content = (echem_dir / "neware/navani_test.ndax").read_bytes()
    response = instrument_client.post(
        "/api/v1/uploads/",
        {
            "file": SimpleUploadedFile("navani_test.ndax", content),
            "cell": cell.code,
            "temperature": "25 degC",
        },
        format="multipart",
    )
    assert response.status_code == 202, response.content
    # the answer shows the status after the commit, when the worker may already have parsed this small file
    # (seen once in CI: "done"); that the worker and not this process parsed it is checked below by the
    # worker's log and by the history rows it wrote (history_via "worker")
    assert response.json()["stage"] in (Stage.RECEIVED, Stage.PARSING, Stage.ANALYSING, Stage.DONE)

    status = wait_for_stage(
        instrument_client, response.json()["status_url"], {Stage.DONE, Stage.FAILED}, celery_worker_process
    )
    assert status["stage"] == Stage.DONE, status["error"]
    assert status["progress"] == 1.0 and status["detected_format"] == "neware-ndax"
    upload = Upload.objects.get()
    assert upload.enqueued_at is not None and upload.attempts == 1
    measurement = Measurement.objects.get(upload=upload)
    assert measurement.row_count == 1464 and measurement.temperature == 25.0
    assert CycleSummary.objects.filter(measurement=measurement).exists()
    assert len(parsed_files()) == 1
    assert "measurements.tasks.parse_upload" in celery_worker_process.read_logs()
    # the worker process wrote as the instrument that sent the file
    instrument_user = upload.uploaded_by
    assert instrument_user.is_instrument
    assert {(h.history_user_id, h.history_via) for h in measurement.history.all()} == {
        (instrument_user.pk, "worker")
    }
    assert upload.history.latest().history_user_id == instrument_user.pk

    # the same bytes again: 200 with the same upload, and no second parse
    again = instrument_client.post(
        "/api/v1/uploads/",
        {"file": SimpleUploadedFile("copy.ndax", content), "cell": cell.code},
        format="multipart",
    )
    assert again.status_code == 200 and again.json()["id"] == upload.pk


def test_a_bad_file_fails_in_the_real_worker_and_the_worker_parses_the_next_one(
    celery_worker_process, api, researcher, cell, echem_dir, parsed_files
):
    client = api(researcher)
    bad = client.post(
        "/api/v1/uploads/",
        {"file": SimpleUploadedFile("garbage.nda", b"\x00\xff" * 4096), "cell": cell.code},
        format="multipart",
    )
    good = client.post(
        "/api/v1/uploads/",
        {
            "file": SimpleUploadedFile("peis.mpt", (echem_dir / "biologic_pairs/yadg_peis.mpt").read_bytes()),
            "cell": cell.code,
        },
        format="multipart",
    )
    assert bad.status_code == good.status_code == 202
    failed = wait_for_stage(
        client, bad.json()["status_url"], {Stage.DONE, Stage.FAILED}, celery_worker_process
    )
    assert failed["stage"] == Stage.FAILED and "not a recognised instrument file" in failed["error"]
    # failed for good: the reason is on the upload page too
    from django.test import Client
    from django.utils.html import escape

    browser = Client()
    browser.force_login(researcher)
    page = browser.get(f"/uploads/{failed['id']}/").content.decode()
    assert 'data-field="stage">failed<' in page and escape(failed["error"]) in page
    done = wait_for_stage(
        client, good.json()["status_url"], {Stage.DONE, Stage.FAILED}, celery_worker_process
    )
    assert done["stage"] == Stage.DONE, done["error"]
    assert Measurement.objects.count() == 1 and len(parsed_files()) == 1
    assert celery_worker_process.proc is not None and celery_worker_process.proc.poll() is None


def test_the_health_check_reaches_the_real_worker_through_lims_ping(celery_worker_process, client, settings):  # type: ignore[no-untyped-def]
    """/health/?worker=1 sends lims.ping through the broker and waits for the worker's answer."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = client.get("/health/", {"worker": "1"})
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "worker": "pong"}}
