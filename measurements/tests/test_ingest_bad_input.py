"""Bad input: each file ends in a clear 4xx or an upload marked failed with its reason, and nothing half-written
(no Parquet file under MEDIA_ROOT/parsed, no CycleSummary, no Measurement) remains."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from measurements.models import CycleSummary, Measurement, Stage, Upload

pytestmark = pytest.mark.django_db

CUSTOM_MAPPING = json.dumps(
    {
        "columns": {
            "time_s": ["test_time", "s"],
            "voltage_V": ["voltage", "V"],
            "current_A": ["current", "mA"],
            "cycle": ["cycle", ""],
            "step": ["step", ""],
        }
    }
)


def send(client, cell, name: str, content: bytes, django_capture_on_commit_callbacks, **extra):  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(
            "/api/v1/uploads/",
            {"file": SimpleUploadedFile(name, content), "cell": cell.code, **extra},
            format="multipart",
        )


def assert_failed_and_nothing_left(response, parsed_files, *, reason: str) -> Upload:  # type: ignore[no-untyped-def]
    assert response.status_code == 202, response.content
    upload = Upload.objects.get(pk=response.json()["id"])
    assert upload.stage == Stage.FAILED
    assert reason in upload.error, upload.error
    status = response.client.get(response.json()["status_url"]).json()
    assert status["stage"] == "failed" and status["error"] == upload.error  # the status URL shows the reason
    assert Measurement.objects.count() == 0
    assert CycleSummary.objects.count() == 0
    assert parsed_files() == []
    return upload


def test_an_empty_file_is_refused_with_400_and_nothing_stored(
    api, researcher, cell, settings, django_capture_on_commit_callbacks
):
    response = send(api(researcher), cell, "empty.mpt", b"", django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert "empty" in response.json()["error"]["message"]
    assert Upload.objects.count() == 0
    assert not (Path(settings.MEDIA_ROOT) / "raw").exists()


def test_a_truncated_mpt_fails_with_the_line_that_is_cut(
    api, researcher, cell, echem_dir, parsed_files, django_capture_on_commit_callbacks
):
    content = (echem_dir / "biologic_pairs/yadg_gcpl.pr_182.1.mpt").read_bytes()
    cut = content[: len(content) // 2]
    cut = cut[: cut.rfind(b"\t") + 1]  # stop in the middle of a row
    response = send(api(researcher), cell, "cut.mpt", cut, django_capture_on_commit_callbacks)
    upload = assert_failed_and_nothing_left(response, parsed_files, reason="cut.mpt")
    assert "line" in upload.error


def test_a_truncated_binary_mpr_fails_with_a_reason(
    api, researcher, cell, echem_dir, parsed_files, django_capture_on_commit_callbacks
):
    content = (echem_dir / "biologic/datalab_gcpl_5cycles_C09.mpr").read_bytes()
    response = send(
        api(researcher), cell, "cut.mpr", content[: len(content) // 3], django_capture_on_commit_callbacks
    )
    assert_failed_and_nothing_left(response, parsed_files, reason="cut.mpr")


def test_a_file_of_another_format_fails_as_not_an_instrument_file(
    api, researcher, cell, parsed_files, django_capture_on_commit_callbacks
):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    response = send(api(researcher), cell, "photo.mpt", png, django_capture_on_commit_callbacks)
    upload = assert_failed_and_nothing_left(response, parsed_files, reason="photo.mpt")
    assert "not a recognised instrument file" in upload.error or "binary" in upload.error


def test_binary_garbage_fails_with_a_reason_and_the_worker_goes_on(
    api, researcher, cell, echem_dir, parsed_files, django_capture_on_commit_callbacks
):
    garbage = np.random.default_rng(42).integers(0, 256, 50_000, dtype=np.uint8).tobytes()
    client = api(researcher)
    response = send(client, cell, "garbage.nda", garbage, django_capture_on_commit_callbacks)
    assert_failed_and_nothing_left(response, parsed_files, reason="garbage.nda")
    # the same (in-process) worker parses the next good file
    good = send(
        client,
        cell,
        "ok.mpt",
        (echem_dir / "biologic_pairs/yadg_peis.mpt").read_bytes(),
        django_capture_on_commit_callbacks,
    )
    assert Upload.objects.get(pk=good.json()["id"]).stage == Stage.DONE


def test_a_mis_encoded_mpt_fails_or_parses_but_never_half_writes(
    api, researcher, cell, echem_dir, parsed_files, django_capture_on_commit_callbacks
):
    """UTF-16 is not an encoding EC-Lab writes: the parser must say so instead of producing garbage columns."""
    text = (echem_dir / "biologic_pairs/yadg_peis.mpt").read_bytes().decode("cp1252")
    response = send(
        api(researcher), cell, "utf16.mpt", text.encode("utf-16"), django_capture_on_commit_callbacks
    )
    assert_failed_and_nothing_left(response, parsed_files, reason="utf16.mpt")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("missing_column", "column 'voltage' (for voltage_V) not found"),
        ("nan_inf", "has a missing or non-finite value"),
        ("truncated", "truncated"),
        ("missing_cycle", "cycle number jumps from 1 to 3"),
    ],
)
def test_a_bad_csv_fails_with_the_parsers_reason(
    api, researcher, cell, echem_dir, parsed_files, django_capture_on_commit_callbacks, name, reason
):
    content = (echem_dir / f"bad/cellpy_custom_{name}.csv").read_bytes()
    response = send(
        api(researcher),
        cell,
        f"{name}.csv",
        content,
        django_capture_on_commit_callbacks,
        mapping=CUSTOM_MAPPING,
    )
    assert_failed_and_nothing_left(response, parsed_files, reason=reason)


def test_a_csv_without_a_mapping_fails_asking_for_one(
    api, researcher, cell, echem_dir, parsed_files, django_capture_on_commit_callbacks
):
    content = (echem_dir / "generic_csv/cellpy_custom_data_001.csv").read_bytes()
    response = send(api(researcher), cell, "custom.csv", content, django_capture_on_commit_callbacks)
    assert_failed_and_nothing_left(response, parsed_files, reason="ColumnMapping")


def test_an_eis_file_without_its_frequency_column_fails(
    api, researcher, cell, echem_dir, parsed_files, django_capture_on_commit_callbacks
):
    content = (echem_dir / "bad/impedancepy_exampleDataBioLogic_MissingFreq.mpt").read_bytes()
    response = send(api(researcher), cell, "nofreq.mpt", content, django_capture_on_commit_callbacks)
    assert_failed_and_nothing_left(response, parsed_files, reason="freq")


def _csv(times: list[str]) -> bytes:
    rows = "\n".join(f"{t};{v};1" for t, v in zip(times, ["3.0", "3.1", "3.2", "3.3"], strict=True))
    return ("time;voltage;current\n" + rows + "\n").encode()


SIMPLE_MAPPING = json.dumps(
    {"columns": {"time_s": ["time", "s"], "voltage_V": ["voltage", "V"], "current_A": ["current", "mA"]}}
)


def test_nan_time_fails_naming_the_row(
    api, researcher, cell, parsed_files, django_capture_on_commit_callbacks
):
    response = send(
        api(researcher),
        cell,
        "nan.csv",
        _csv(["0", "1", "nan", "3"]),
        django_capture_on_commit_callbacks,
        mapping=SIMPLE_MAPPING,
    )
    upload = assert_failed_and_nothing_left(response, parsed_files, reason="time_s")
    assert "non-finite" in upload.error or "missing" in upload.error


def test_time_going_backwards_fails_naming_the_row(
    api, researcher, cell, parsed_files, django_capture_on_commit_callbacks
):
    response = send(
        api(researcher),
        cell,
        "back.csv",
        _csv(["0", "10", "5", "20"]),
        django_capture_on_commit_callbacks,
        mapping=SIMPLE_MAPPING,
    )
    upload = assert_failed_and_nothing_left(response, parsed_files, reason="time goes backwards")
    assert "line 4 (data row 3)" in upload.error


def test_the_backwards_time_message_shows_plain_numbers(
    api, researcher, cell, parsed_files, django_capture_on_commit_callbacks
):
    response = send(
        api(researcher),
        cell,
        "back.csv",
        _csv(["0", "10", "5", "20"]),
        django_capture_on_commit_callbacks,
        mapping=SIMPLE_MAPPING,
    )
    upload = assert_failed_and_nothing_left(response, parsed_files, reason="time goes backwards")
    assert "(10.0 s -> 5.0 s)" in upload.error


def test_a_declared_technique_that_contradicts_the_file_fails(
    api, researcher, cell, echem_dir, parsed_files, django_capture_on_commit_callbacks
):
    content = (echem_dir / "biologic_pairs/yadg_peis.mpt").read_bytes()
    response = send(
        api(researcher), cell, "peis.mpt", content, django_capture_on_commit_callbacks, technique="GCPL"
    )
    assert_failed_and_nothing_left(
        response, parsed_files, reason="holds PEIS data but the upload declares GCPL"
    )


def test_a_cell_the_user_cannot_see_is_404_and_an_unknown_cell_too(
    api, outsider, researcher, cell, echem_dir
):
    content = (echem_dir / "biologic_pairs/yadg_peis.mpt").read_bytes()
    response = api(outsider).post(
        "/api/v1/uploads/", {"file": SimpleUploadedFile("a.mpt", content), "cell": cell.code}
    )
    assert response.status_code == 404
    response = api(researcher).post(
        "/api/v1/uploads/", {"file": SimpleUploadedFile("a.mpt", content), "cell": "NOPE-1"}
    )
    assert response.status_code == 404
    response = api(researcher).post("/api/v1/uploads/", {"file": SimpleUploadedFile("a.mpt", content)})
    assert response.status_code == 400 and "exactly one" in response.json()["error"]["message"]
    assert Upload.objects.count() == 0


def test_an_analysis_crash_fails_the_upload_and_removes_the_measurement_it_wrote(
    api, researcher, cell, echem_dir, parsed_files, django_capture_on_commit_callbacks, monkeypatch
):
    def explode(measurement_id, *, actor=None):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("boom")

    monkeypatch.setattr("measurements.services.derive.run_for_measurement", explode)
    content = (echem_dir / "neware/navani_test.ndax").read_bytes()
    response = send(api(researcher), cell, "ok.ndax", content, django_capture_on_commit_callbacks)
    assert_failed_and_nothing_left(
        response, parsed_files, reason="the analysis failed (ZeroDivisionError: boom)"
    )


def test_a_database_error_while_writing_leaves_no_parquet_behind(
    api, researcher, cell, echem_dir, parsed_files, django_capture_on_commit_callbacks, monkeypatch
):
    from django.db import DatabaseError

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise DatabaseError("disk full")

    from measurements.services import ingest

    monkeypatch.setattr(ingest, "insert_rows", broken)  # the bulk write of the cycle summaries
    content = (echem_dir / "neware/navani_test.ndax").read_bytes()
    response = send(api(researcher), cell, "ok.ndax", content, django_capture_on_commit_callbacks)
    assert_failed_and_nothing_left(response, parsed_files, reason="disk full")
