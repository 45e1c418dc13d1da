"""Ingest services: cycle summaries (hand arithmetic), idempotent processing, the broker-down path and the sweep."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from measurements.models import CycleSummary, Measurement, Stage, Upload
from measurements.selectors_ingest import minmax_downsample
from measurements.services import ingest


# ------------------------------------------------------------------------------------------------ pure parts
def test_one_symmetric_cycle_gives_equal_charge_and_discharge_and_ce_of_one():
    """t = 0, 1, 2, 3 h; I = +1, +1, -1, -1 mA; one cycle.
    dq = [-, (1+1)/2 x 1 h, (1-1)/2 x 1 h, (-1-1)/2 x 1 h] = [-, 1, 0, -1] mAh -> Q_ch = 1 mAh, Q_dis = 1 mAh, CE = 1.
    |V| = 0.05 V everywhere -> median |V| 0.05 V; mean V = (0.05 + 0.05 - 0.05 - 0.05) / 4 = 0.
    """
    rows = ingest.cycle_summaries(
        {
            "time_s": np.array([0.0, 3600, 7200, 10800]),
            "current_A": np.array([1e-3, 1e-3, -1e-3, -1e-3]),
            "voltage_V": np.array([0.05, 0.05, -0.05, -0.05]),
            "cycle": np.array([1, 1, 1, 1]),
        }
    )
    whole = [r for r in rows if r["half_cycle"] == 0]
    assert len(whole) == 1
    row = whole[0]
    assert row["charge_capacity_Ah"] == pytest.approx(1e-3)
    assert row["discharge_capacity_Ah"] == pytest.approx(1e-3)
    assert row["coulombic_efficiency"] == pytest.approx(1.0)
    assert row["overpotential_V"] == pytest.approx(0.05)
    assert row["mean_voltage_V"] == pytest.approx(0.0)
    assert (row["start_time_s"], row["end_time_s"]) == (0.0, 10800.0)


def test_half_cycles_come_from_the_current_sign_when_the_file_has_none():
    """I = +2, +2, 0, -2, -2 mA at 1 h steps, no cycle column -> half cycles 0 (rows 0-1), 1 (rows 3-4), rest row 2
    in none; stored as half_cycle 1 and 2 of cycle 1. Half cycle 1: dq = (2+2)/2 x 1 = 2 mAh charge; half cycle 2:
    dq = (-2-2)/2 x 1 = -2 mAh -> 2 mAh discharge. Median |V| of half cycle 2 over |V| = 0.1, 0.3 -> 0.2 V.
    """
    rows = ingest.cycle_summaries(
        {
            "time_s": np.arange(5) * 3600.0,
            "current_A": np.array([2e-3, 2e-3, 0.0, -2e-3, -2e-3]),
            "voltage_V": np.array([0.1, 0.1, 0.0, -0.1, -0.3]),
        }
    )
    halves = {r["half_cycle"]: r for r in rows if r["half_cycle"] > 0}
    assert sorted(halves) == [1, 2] and {r["cycle"] for r in rows} == {1}
    assert halves[1]["charge_capacity_Ah"] == pytest.approx(2e-3) and halves[1]["discharge_capacity_Ah"] == 0
    assert halves[2]["discharge_capacity_Ah"] == pytest.approx(2e-3)
    assert halves[2]["overpotential_V"] == pytest.approx(0.2)
    assert halves[2]["coulombic_efficiency"] is None


def test_impedance_data_give_no_cycle_summary():
    assert ingest.cycle_summaries({"freq_Hz": np.array([1.0, 2.0]), "z_re_ohm": np.array([1.0, 2.0])}) == []


def test_minmax_downsampling_keeps_the_extremes_of_every_bucket():
    """n = 10 rows, 4 points, 1 column -> b = 4 // 2 = 2 buckets of 5 rows; bucket 1 = rows 0-4 (min row 1, max row 3),
    bucket 2 = rows 5-9 (min row 9, max row 6); plus the first and last rows -> rows 0, 1, 3, 6, 9."""
    y = np.array([5.0, 1.0, 4.0, 9.0, 2.0, 3.0, 8.0, 4.0, 5.0, 0.0])
    assert minmax_downsample({"y": y}, 4).tolist() == [0, 1, 3, 6, 9]
    assert minmax_downsample({"y": y}, 20).tolist() == list(range(10))


def test_a_declared_technique_refines_a_generic_one_but_cannot_contradict_the_file():
    assert ingest.resolve_technique(declared="GCPL", parsed="CYCLING", source="f") == "GCPL"
    assert ingest.resolve_technique(declared="", parsed="EIS", source="f") == "PEIS"
    assert ingest.resolve_technique(declared="GEIS", parsed="PEIS", source="f") == "PEIS"
    with pytest.raises(ingest.DomainError, match="holds PEIS data but the upload declares CA"):
        ingest.resolve_technique(declared="CA", parsed="PEIS", source="f")


# ------------------------------------------------------------------------------------------------ processing
@pytest.fixture
def stored(db, researcher, cell, echem_dir, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """A stored NDAX upload whose parse has NOT run (its on-commit enqueue is discarded)."""
    content = (echem_dir / "neware/navani_test.ndax").read_bytes()
    with django_capture_on_commit_callbacks(execute=False):
        result = ingest.store_upload(
            file=ContentFile(content, name="navani_test.ndax"),
            filename="navani_test.ndax",
            uploaded_by=researcher,
            team=cell.team,
            cell=cell,
        )
    return result.upload


def test_the_raw_file_is_stored_read_only_under_its_sha256(stored, settings):
    import hashlib
    from pathlib import Path

    path = Path(settings.MEDIA_ROOT) / stored.raw_file.name
    assert stored.raw_file.name == f"raw/{stored.sha256[:2]}/{stored.sha256}"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == stored.sha256
    assert path.stat().st_mode & 0o222 == 0
    assert stored.stage == Stage.RECEIVED and stored.size_bytes == path.stat().st_size


def test_processing_twice_never_duplicates_and_a_forced_rerun_upserts(stored, parsed_files):
    ingest.process_upload(stored.pk)
    ingest.process_upload(stored.pk)  # a duplicate delivery: already done, nothing happens
    stored.refresh_from_db()
    assert stored.stage == Stage.DONE and stored.attempts == 1
    measurement = Measurement.objects.get()
    n_cycles = CycleSummary.objects.count()
    assert n_cycles > 0
    ingest.process_upload(stored.pk, force=True)  # e.g. a re-parse after a parser fix
    assert Measurement.objects.get().pk == measurement.pk
    assert CycleSummary.objects.count() == n_cycles
    assert len(parsed_files()) == 1


def test_progress_and_stages_are_recorded_in_the_audit_trail(stored, researcher):
    ingest.process_upload(stored.pk)
    stages = [h.stage for h in stored.history.order_by("history_id")]
    assert stages == [Stage.RECEIVED, Stage.PARSING, Stage.ANALYSING, Stage.DONE]
    last = stored.history.latest()
    assert last.history_user == researcher and last.history_via == "worker"


def test_when_the_broker_is_down_the_upload_stays_received_and_the_sweep_enqueues_it_later(
    db, researcher, cell, echem_dir, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from measurements.tasks_ingest import parse_upload

    def down(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(parse_upload, "apply_async", down)
    content = (echem_dir / "biologic_pairs/yadg_peis.mpt").read_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        upload = ingest.store_upload(
            file=ContentFile(content, name="p.mpt"),
            filename="p.mpt",
            uploaded_by=researcher,
            team=cell.team,
            cell=cell,
        ).upload
    upload.refresh_from_db()
    assert upload.stage == Stage.RECEIVED and upload.enqueued_at is None

    monkeypatch.undo()
    assert ingest.sweep_stalled_uploads().enqueued == []  # within the grace period: maybe just arriving
    result = ingest.sweep_stalled_uploads(now=timezone.now() + timedelta(minutes=2))
    assert result.enqueued == [upload.pk]
    upload.refresh_from_db()
    assert upload.stage == Stage.DONE


def test_the_sweep_re_enqueues_a_stalled_parse_and_gives_up_after_the_attempts_limit(stored, settings):
    settings.LIMS_INGEST_MAX_ATTEMPTS = 2
    later = timezone.now() + timedelta(seconds=ingest.stall_seconds() + 60)
    # a worker claimed the upload and died (no progress since)
    Upload.objects.filter(pk=stored.pk).update(stage=Stage.PARSING, attempts=1)
    assert ingest.sweep_stalled_uploads(now=later).enqueued == [stored.pk]
    stored.refresh_from_db()
    assert stored.stage == Stage.DONE and stored.attempts == 2

    Upload.objects.filter(pk=stored.pk).update(stage=Stage.PARSING)
    result = ingest.sweep_stalled_uploads(now=later + timedelta(hours=1))
    assert result.failed == [stored.pk] and result.enqueued == []
    stored.refresh_from_db()
    assert stored.stage == Stage.FAILED and "interrupted 2 times" in stored.error
    assert Measurement.objects.count() == 0 and CycleSummary.objects.count() == 0


def test_a_parse_that_is_still_making_progress_is_left_alone_by_the_sweep(stored):
    Upload.objects.filter(pk=stored.pk).update(stage=Stage.PARSING, attempts=1, updated_at=timezone.now())
    assert ingest.sweep_stalled_uploads().enqueued == []
    stored.refresh_from_db()
    assert stored.stage == Stage.PARSING


def test_a_failed_upload_can_be_retried(stored, researcher, django_capture_on_commit_callbacks):
    Upload.objects.filter(pk=stored.pk).update(stage=Stage.FAILED, error="worker lost")
    stored.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        ingest.retry_upload(actor=researcher, upload=stored)
    stored.refresh_from_db()
    assert stored.stage == Stage.DONE and stored.error == ""


def test_a_retried_parse_is_the_retriers_in_the_audit_trail(
    stored, researcher, manager, django_capture_on_commit_callbacks
):
    """The uploader (rita) is not the one who asked for the second parse (max): the history says so, the data
    stays the uploader's."""
    Upload.objects.filter(pk=stored.pk).update(stage=Stage.FAILED, error="parser bug, since fixed")
    stored.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        ingest.retry_upload(actor=manager, upload=stored)
    stored.refresh_from_db()
    assert stored.stage == Stage.DONE and stored.retried_by == manager and stored.uploaded_by == researcher
    parse_rows = stored.history.filter(history_via="worker")
    assert parse_rows.exists()
    assert {
        (h.history_user_id, h.history_change_reason.endswith(f"retried by {manager}")) for h in parse_rows
    } == {(manager.pk, True)}
    measurement = Measurement.objects.get(upload=stored)
    assert measurement.created_by == researcher  # whose data it is
    assert {h.history_user_id for h in measurement.history.all()} == {manager.pk}  # who had it parsed
