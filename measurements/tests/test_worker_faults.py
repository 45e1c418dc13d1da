"""Worker faults with a REAL Redis broker and a REAL Celery worker process (measurements/tests/conftest.py).

- The worker is killed with SIGKILL in the middle of parsing a large upload (no clean shutdown: what the kernel's
  OOM killer or a power cut does). The message was taken with acks_late and never acknowledged, so after the
  restart the broker hands it out again; the new worker gets the upload's parse lock (the dead worker's database
  session is gone), takes over the upload the dead one left "parsing", and completes it exactly once: one
  Measurement, one set of cycle summaries, one Parquet file.
- The same with the prefork pool: only the child running the task is killed; the parent sees it die and, with
  reject_on_worker_lost, puts the message back at once; the next child completes the upload.
- The broker is down when an upload arrives: the upload is stored (202, stage "received") and not enqueued; once
  the broker is back, the periodic sweep (the beat task, run by the worker) enqueues it and the worker parses it.
- A task that fails for good leaves the upload "failed" with the reason, on the status URL and the upload page
  (a bad file in the real worker: test_ingest_e2e.py; a file whose worker dies on every attempt: here).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile

from measurements.models import CycleSummary, Measurement, Stage, Upload
from measurements.services import ingest

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

ROWS = 1_000_000  # ~54 MB of EC-Lab text: about a second of parsing for the worker on a quiet machine


def _large_gcpl(path: Path, rows: int = ROWS) -> Path:
    """A long galvanostatic Li|Li test (10 s steps, the current reversing every 1000 rows)."""
    from measurements.parsers.synthetic_mpt import write_mpt

    k = np.arange(rows)
    current = np.where((k // 1000) % 2 == 0, 1e-4, -1e-4)
    write_mpt(
        path,
        "GCPL",
        {
            "time_s": k * 10.0,
            "voltage_V": 0.05 * np.sign(current) + 1e-3 * np.sin(k / 50.0),
            "current_A": current,
            "cycle": 1 + k // 2000,
        },
    )
    return path


def _store(path: Path, user: Any, cell: Any) -> Upload:
    with path.open("rb") as fh:
        return ingest.store_upload(
            file=File(fh, name=path.name), filename=path.name, uploaded_by=user, team=cell.team, cell=cell
        ).upload  # committed at once (transactional test): the parse is enqueued to the real broker


def _wait(upload_id: int, stages: set[str], worker: Any, timeout: float, poll: float = 0.2) -> Upload:
    deadline = time.monotonic() + timeout
    upload = Upload.objects.get(pk=upload_id)
    while time.monotonic() < deadline:
        upload = Upload.objects.get(pk=upload_id)
        if upload.stage in stages:
            return upload
        time.sleep(poll)
    raise AssertionError(f"upload still {upload.stage} after {timeout} s; worker log:\n{worker.read_logs()}")


def _expected_summary_rows(path: Path) -> int:
    from measurements.parsers import parse_file

    return len(ingest.cycle_summaries(parse_file(path, filename=path.name).columns))


def _assert_completed_once(upload: Upload, path: Path, parsed_files: Any) -> tuple[int, int]:
    assert upload.stage == Stage.DONE, upload.error
    measurement = Measurement.objects.get()
    assert measurement.upload_id == upload.pk and measurement.row_count == ROWS
    summaries = CycleSummary.objects.filter(measurement=measurement)
    keys = list(summaries.values_list("cycle", "half_cycle"))
    assert len(keys) == len(set(keys)) == _expected_summary_rows(path)
    files = parsed_files()
    assert len(files) == 1, files
    import pyarrow.parquet as pq

    assert (
        pq.read_metadata(files[0]).num_rows == ROWS
    )  # complete, not the half-written file of the dead worker
    return len(keys), len(files)


def test_a_worker_killed_mid_parse_is_restarted_and_the_upload_completes_exactly_once(
    celery_worker_process, researcher, cell, parsed_files, tmp_path, capsys
):  # type: ignore[no-untyped-def]
    worker = celery_worker_process
    path = _large_gcpl(tmp_path / "long_symmetric_cycling.mpt")
    upload = _store(path, researcher, cell)

    parsing = _wait(
        upload.pk, {Stage.PARSING, Stage.ANALYSING, Stage.DONE, Stage.FAILED}, worker, 60, poll=0.02
    )
    assert parsing.stage == Stage.PARSING, f"the worker finished before it could be killed: {parsing.stage}"
    time.sleep(0.15)  # well inside parse_file
    worker.kill()
    assert worker.proc is not None and worker.proc.returncode == -signal.SIGKILL
    killed = Upload.objects.get(pk=upload.pk)
    assert killed.stage == Stage.PARSING and killed.attempts == 1  # abandoned mid-parse
    assert Measurement.objects.count() == 0

    # the restarted worker sees the unacknowledged message come back after the (shortened) visibility timeout
    worker.env.update({"LIMS_BROKER_VISIBILITY_TIMEOUT": "5", "LIMS_BROKER_RESTORE_THROTTLE": "1"})
    started = time.monotonic()
    worker.start()
    done = _wait(upload.pk, {Stage.DONE, Stage.FAILED}, worker, 180)
    recovered_s = time.monotonic() - started
    summary_rows, parquet = _assert_completed_once(done, path, parsed_files)
    assert done.attempts == 2
    assert "taking over" in worker.read_logs()
    with capsys.disabled():
        print(
            f"\nSIGKILL mid-parse (solo worker, {ROWS} rows, killed at progress {killed.progress:.2f}): restarted, "
            f"upload done {recovered_s:.1f} s after the restart, attempts {done.attempts}, measurements "
            f"{Measurement.objects.count()}, summary rows {summary_rows} (no duplicates), parquet files {parquet}"
        )


@pytest.mark.parametrize("celery_worker_process", ["prefork"], indirect=True)
def test_a_killed_pool_child_is_noticed_and_the_message_goes_back_at_once(
    celery_worker_process, researcher, cell, parsed_files, tmp_path, capsys
):  # type: ignore[no-untyped-def]
    worker = celery_worker_process
    assert worker.pool == "prefork"
    path = _large_gcpl(tmp_path / "long_symmetric_cycling.mpt")
    upload = _store(path, researcher, cell)

    parsing = _wait(
        upload.pk, {Stage.PARSING, Stage.ANALYSING, Stage.DONE, Stage.FAILED}, worker, 60, poll=0.02
    )
    assert parsing.stage == Stage.PARSING, f"the worker finished before it could be killed: {parsing.stage}"
    time.sleep(0.15)
    children = worker.child_pids()
    assert len(children) == 1, children
    os.kill(children[0], signal.SIGKILL)
    killed_at = time.monotonic()

    done = _wait(upload.pk, {Stage.DONE, Stage.FAILED}, worker, 180)
    summary_rows, parquet = _assert_completed_once(done, path, parsed_files)
    assert done.attempts == 2
    logs = worker.read_logs()
    assert "WorkerLostError" in logs and "taking over" in logs
    assert worker.proc is not None and worker.proc.poll() is None  # the worker itself never stopped
    with capsys.disabled():
        print(
            f"\nSIGKILL of the prefork child mid-parse: message rejected and redelivered, upload done "
            f"{time.monotonic() - killed_at:.1f} s later, attempts {done.attempts}, measurements "
            f"{Measurement.objects.count()}, summary rows {summary_rows}, parquet files {parquet}"
        )


def test_with_the_broker_down_the_upload_is_stored_and_the_periodic_sweep_enqueues_it_once_it_is_back(
    celery_worker_process, api, researcher, cell, parsed_files, capsys
):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from lims.celery import app
    from measurements.tasks_ingest import parse_upload, sweep_uploads
    from measurements.tests.conftest import _drop_broker_connections
    from tests.world import impedance_mpt

    # the schedule beat runs: the sweep, every 5 minutes
    schedule = settings.CELERY_BEAT_SCHEDULE["sweep-stalled-uploads"]
    assert schedule["task"] == sweep_uploads.name and float(schedule["schedule"]) <= 300  # type: ignore[arg-type]

    real_broker = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:8127/0"  # nothing listens there: the broker is down
    _drop_broker_connections(app)
    try:
        started = time.monotonic()
        response = api(researcher).post(
            "/api/v1/uploads/",
            {"file": SimpleUploadedFile("peis_25C.mpt", impedance_mpt()), "cell": cell.code},
            format="multipart",
        )
        answered_s = time.monotonic() - started
    finally:
        app.conf.broker_url = real_broker
        _drop_broker_connections(app)
    assert response.status_code == 202, response.content
    upload = Upload.objects.get(pk=response.json()["id"])
    assert upload.stage == Stage.RECEIVED and upload.enqueued_at is None
    assert Path(settings.MEDIA_ROOT, str(upload.raw_file.name)).exists()  # stored, nothing lost
    time.sleep(2)
    assert Upload.objects.get(pk=upload.pk).stage == Stage.RECEIVED  # nobody knows about it yet

    # the broker is back; the upload arrived more than a minute ago (the sweep's grace period)
    Upload.objects.filter(pk=upload.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    sweep_uploads.apply_async()  # what beat sends every 5 minutes, run by the real worker
    done = _wait(upload.pk, {Stage.DONE, Stage.FAILED}, celery_worker_process, 120)
    assert done.stage == Stage.DONE, done.error
    assert done.enqueued_at is not None and done.attempts == 1
    assert Measurement.objects.filter(upload=done).count() == 1 and len(parsed_files()) == 1
    logs = celery_worker_process.read_logs()
    assert sweep_uploads.name in logs and parse_upload.name in logs
    with capsys.disabled():
        print(
            f"\nbroker down at upload: answered 202 in {answered_s:.1f} s, stored, stage received; "
            f"after the broker came back the sweep enqueued it and the worker finished it (attempts {done.attempts})"
        )


def test_an_upload_whose_worker_died_on_every_attempt_ends_failed_with_the_reason_on_the_page(
    db, client, researcher, cell, settings, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    """No broker needed: the redelivery of the last allowed attempt finds the upload abandoned again."""
    from django.core.files.base import ContentFile

    from tests.world import impedance_mpt

    settings.LIMS_INGEST_MAX_ATTEMPTS = 3
    with django_capture_on_commit_callbacks(execute=False):
        upload = ingest.store_upload(
            file=ContentFile(impedance_mpt(), name="p.mpt"),
            filename="p.mpt",
            uploaded_by=researcher,
            team=cell.team,
            cell=cell,
        ).upload
    Upload.objects.filter(pk=upload.pk).update(stage=Stage.PARSING, attempts=3)  # the third worker died too
    ingest.process_upload(upload.pk)  # the message comes back once more
    upload.refresh_from_db()
    assert upload.stage == Stage.FAILED and "interrupted 3 times" in upload.error
    client.force_login(researcher)
    page = client.get(f"/uploads/{upload.pk}/").content.decode()
    assert "Parsing was interrupted 3 times" in page and 'data-field="stage">failed<' in page
