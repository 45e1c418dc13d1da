"""Upload API: idempotence by hash, the size limit, token scopes, real files through to "done", data endpoints."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from measurements.models import CycleSummary, Measurement, Stage, Upload

pytestmark = pytest.mark.django_db

PEIS = "biologic_pairs/yadg_peis.mpt"
NDAX = "neware/navani_test.ndax"
GCPL = "biologic_pairs/yadg_gcpl.pr_182.1.mpt"


def upload_file(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type="application/octet-stream")


def post(client, cell_ref, path: Path, django_capture_on_commit_callbacks, **extra):  # type: ignore[no-untyped-def]
    """POST a file and run the on-commit parse in-process (eager Celery), as the worker would after the commit."""
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(
            "/api/v1/uploads/", {"file": upload_file(path), "cell": cell_ref, **extra}, format="multipart"
        )


# ------------------------------------------------------------------------------------------------ idempotence
def test_the_same_bytes_again_return_the_existing_upload_with_200_and_the_same_id(
    api, researcher, cell, echem_dir, django_capture_on_commit_callbacks
):
    client = api(researcher)
    first = post(client, cell.code, echem_dir / PEIS, django_capture_on_commit_callbacks)
    assert first.status_code == 202, first.content
    assert first["Location"] == first.json()["status_url"] == f"/api/v1/uploads/{first.json()['id']}/"
    again = post(client, str(cell.pk), echem_dir / PEIS, django_capture_on_commit_callbacks)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Upload.objects.count() == 1 and Measurement.objects.count() == 1


def test_a_new_upload_answers_202_with_a_status_url_that_reaches_done(
    api, researcher, cell, echem_dir, django_capture_on_commit_callbacks
):
    client = api(researcher)
    response = post(
        client, cell.code, echem_dir / PEIS, django_capture_on_commit_callbacks, temperature="25 degC"
    )
    assert response.status_code == 202
    status = client.get(response.json()["status_url"]).json()
    assert status["stage"] == Stage.DONE and status["progress"] == 1.0
    assert status["detected_format"] == "biologic-mpt" and status["technique"] == "PEIS"
    assert status["temperature"] == {"magnitude": 25.0, "unit": "degC"}
    assert status["measurement"] == Measurement.objects.get().pk


def test_a_temperature_of_the_wrong_dimension_is_refused_with_the_units_message(
    api, researcher, cell, echem_dir
):
    response = api(researcher).post(
        "/api/v1/uploads/", {"file": upload_file(echem_dir / PEIS), "cell": cell.code, "temperature": "25 mV"}
    )
    assert response.status_code == 400
    assert "temperature" in response.json()["error"]["message"]
    assert Upload.objects.count() == 0


# ------------------------------------------------------------------------------------------------ size limit
def test_a_file_larger_than_the_limit_is_refused_with_413_and_nothing_is_stored(
    api, researcher, cell, settings, echem_dir
):
    settings.LIMS_UPLOAD_MAX_BYTES = 1000
    response = api(researcher).post(
        "/api/v1/uploads/", {"file": upload_file(echem_dir / PEIS), "cell": cell.code}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert "limit is 0.0 MB" in response.json()["error"]["message"]
    assert Upload.objects.count() == 0
    assert not (Path(settings.MEDIA_ROOT) / "raw").exists()


def test_a_body_announcing_more_than_the_limit_is_refused_before_it_is_read(api, researcher, cell, settings):
    """The streaming handler refuses on Content-Length alone: limit 1000 B + 1 MiB slack < 3 MB announced."""
    settings.LIMS_UPLOAD_MAX_BYTES = 1000
    big = SimpleUploadedFile("big.mpt", b"x" * 3_000_000)
    response = api(researcher).post("/api/v1/uploads/", {"file": big, "cell": cell.code})
    assert response.status_code == 413
    assert Upload.objects.count() == 0


# ------------------------------------------------------------------------------------------------ scopes
def test_an_instrument_token_uploads_for_its_teams_cell_and_reads_its_own_status(
    instrument_client, instrument, cell, echem_dir, django_capture_on_commit_callbacks
):
    response = post(instrument_client, cell.code, echem_dir / PEIS, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.content
    upload = Upload.objects.get()
    assert upload.instrument == instrument and upload.uploaded_by == instrument.service_user
    status = instrument_client.get(response.json()["status_url"])
    assert status.status_code == 200 and status.json()["stage"] == Stage.DONE
    assert [u["id"] for u in instrument_client.get("/api/v1/uploads/").json()["results"]] == [upload.pk]


def test_an_instrument_token_gets_403_on_everything_else(
    instrument_client, researcher, api, cell, echem_dir, django_capture_on_commit_callbacks
):
    upload_id = post(
        instrument_client, cell.code, echem_dir / PEIS, django_capture_on_commit_callbacks
    ).json()["id"]
    measurement_id = Measurement.objects.get().pk
    for url in [
        f"/api/v1/uploads/{upload_id}/raw/",
        "/api/v1/measurements/",
        f"/api/v1/measurements/{measurement_id}/",
        f"/api/v1/measurements/{measurement_id}/data/",
        f"/api/v1/measurements/{measurement_id}/data.csv",
        "/api/v1/instruments/",
        "/api/v1/me/",
        "/api/v1/tokens/",
    ]:
        response = instrument_client.get(url)
        assert response.status_code == 403, url
    assert instrument_client.post(f"/api/v1/uploads/{upload_id}/retry/").status_code == 403


def test_an_instrument_token_cannot_read_uploads_that_are_not_its_own(
    instrument_client, api, researcher, cell, echem_dir, django_capture_on_commit_callbacks
):
    theirs = post(api(researcher), cell.code, echem_dir / PEIS, django_capture_on_commit_callbacks).json()[
        "id"
    ]
    assert instrument_client.get(f"/api/v1/uploads/{theirs}/").status_code == 404
    assert instrument_client.get("/api/v1/uploads/").json()["results"] == []


def test_an_instrument_token_gets_404_for_a_cell_of_another_team(instrument_client, other_cell, echem_dir):
    response = instrument_client.post(
        "/api/v1/uploads/", {"file": upload_file(echem_dir / PEIS), "cell": other_cell.code}
    )
    assert response.status_code == 404
    assert "No cell 'OT-BLK-001' that you can see" in response.json()["error"]["message"]
    response = instrument_client.post(
        "/api/v1/uploads/", {"file": upload_file(echem_dir / PEIS), "cell": str(other_cell.pk)}
    )
    assert response.status_code == 404
    assert Upload.objects.count() == 0


def test_a_revoked_instrument_token_is_refused_with_401(
    instrument_client, api, manager, instrument, cell, echem_dir
):
    token = instrument_client.lims_token
    revoked = api(manager).post(f"/api/v1/instruments/{instrument.pk}/tokens/{token.pk}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    response = instrument_client.post(
        "/api/v1/uploads/", {"file": upload_file(echem_dir / PEIS), "cell": cell.code}
    )
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_a_personal_token_can_upload_like_its_user(
    token_client, researcher, cell, echem_dir, django_capture_on_commit_callbacks
):
    response = post(token_client(researcher), cell.code, echem_dir / PEIS, django_capture_on_commit_callbacks)
    assert response.status_code == 202
    assert Upload.objects.get().uploaded_by == researcher


def test_a_viewer_gets_403_when_uploading(api, viewer, cell, echem_dir):
    response = api(viewer).post(
        "/api/v1/uploads/", {"file": upload_file(echem_dir / PEIS), "cell": cell.code}
    )
    assert response.status_code == 403
    assert Upload.objects.count() == 0


def test_another_teams_user_gets_404_for_our_cell_our_uploads_and_our_measurements(
    api, researcher, outsider, cell, echem_dir, django_capture_on_commit_callbacks
):
    upload_id = post(api(researcher), cell.code, echem_dir / PEIS, django_capture_on_commit_callbacks).json()[
        "id"
    ]
    measurement_id = Measurement.objects.get().pk
    client = api(outsider)
    response = client.post("/api/v1/uploads/", {"file": upload_file(echem_dir / GCPL), "cell": cell.code})
    assert response.status_code == 404
    for url in [
        f"/api/v1/uploads/{upload_id}/",
        f"/api/v1/uploads/{upload_id}/raw/",
        f"/api/v1/measurements/{measurement_id}/",
        f"/api/v1/measurements/{measurement_id}/data/",
        f"/api/v1/measurements/{measurement_id}/data.csv",
        f"/api/v1/measurements/{measurement_id}/data.parquet",
        f"/api/v1/measurements/{measurement_id}/figures/nyquist.json",
    ]:
        assert client.get(url).status_code == 404, url


# ------------------------------------------------------------------------------------------------ instruments
def test_a_manager_registers_an_instrument_and_its_token_key_is_shown_once_and_stored_hashed(
    api, manager, team
):
    from lims.models import ApiToken

    client = api(manager)
    created = client.post(
        "/api/v1/instruments/", {"name": "Neware BTS #2", "make": "Neware", "channel_count": 8}
    )
    assert created.status_code == 201, created.content
    instrument_id = created.json()["id"]
    issued = client.post(f"/api/v1/instruments/{instrument_id}/tokens/", {"name": "cycler PC"})
    assert issued.status_code == 201
    key = issued.json()["key"]
    assert key.startswith("lims_")
    token = ApiToken.objects.get(pk=issued.json()["id"])
    assert (
        token.scope == "instrument" and token.key_hash == ApiToken.hash_key(key) and key not in token.key_hash
    )
    listed = client.get(f"/api/v1/instruments/{instrument_id}/tokens/").json()
    assert [t["key"] for t in listed] == [None]


def test_a_researcher_cannot_register_instruments_or_issue_their_tokens(api, researcher, instrument):
    client = api(researcher)
    assert client.post("/api/v1/instruments/", {"name": "x"}).status_code == 403
    assert client.post(f"/api/v1/instruments/{instrument.pk}/tokens/", {"name": "x"}).status_code == 403
    assert client.get("/api/v1/instruments/").status_code == 200


# ------------------------------------------------------------------------------------------------ real files
@pytest.mark.parametrize(
    ("name", "fmt", "technique", "rows", "has_cycles"),
    [
        (PEIS, "biologic-mpt", "PEIS", 32, False),
        (NDAX, "neware-ndax", "CYCLING", 1464, True),
        (GCPL, "biologic-mpt", "GCPL", 2533, True),
        ("biologic_pairs/yadg_peis.mpr", "biologic-mpr", "PEIS", 32, False),
        ("eis/impedancepy_exampleDataGamry.DTA", "gamry-dta", "PEIS", 72, False),
        ("more_formats/navani_arbin_Channel_11.xlsx", "arbin-xlsx", "CYCLING", 4526, True),
        ("more_formats/beep_test_Nova_Form-CH01-01_short.csv", "novonix-csv", "CYCLING", 3942, True),
    ],
)
def test_a_real_instrument_file_goes_through_the_api_to_done_with_measurement_and_summaries(
    api,
    researcher,
    cell,
    echem_dir,
    django_capture_on_commit_callbacks,
    parsed_files,
    name,
    fmt,
    technique,
    rows,
    has_cycles,
):
    from measurements.storage import read_frame

    response = post(api(researcher), cell.code, echem_dir / name, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.content
    upload = Upload.objects.get()
    assert upload.stage == Stage.DONE, upload.error
    m = Measurement.objects.get(upload=upload)
    assert (m.source_format, m.technique, m.row_count, m.cell) == (fmt, technique, rows, cell)
    frame = read_frame(m)
    assert len(frame) == rows and list(frame.columns) == m.columns
    assert len(parsed_files()) == 1
    assert CycleSummary.objects.filter(measurement=m).exists() == has_cycles


def test_the_neware_cycle_summaries_match_the_files_own_capacities(
    api, researcher, cell, echem_dir, django_capture_on_commit_callbacks
):
    """Integrating I dt per cycle must agree with the cycler's own capacity counters (within 1 %)."""
    from measurements.parsers import parse_file

    post(api(researcher), cell.code, echem_dir / NDAX, django_capture_on_commit_callbacks)
    m = Measurement.objects.get()
    data = parse_file(echem_dir / NDAX)
    cycles = data.columns["cycle"]
    for row in CycleSummary.objects.filter(measurement=m, half_cycle=0):
        in_cycle = cycles == row.cycle
        own_charge = data.columns["capacity_charge_Ah"][in_cycle].max()
        own_discharge = data.columns["capacity_discharge_Ah"][in_cycle].max()
        if own_charge > 1e-6:
            assert row.charge_capacity_Ah == pytest.approx(own_charge, rel=0.01)
        if own_discharge > 1e-6:
            assert row.discharge_capacity_Ah is not None and row.charge_capacity_Ah is not None
            assert row.discharge_capacity_Ah == pytest.approx(own_discharge, rel=0.01)
            assert row.coulombic_efficiency == pytest.approx(
                row.discharge_capacity_Ah / row.charge_capacity_Ah
            )


def test_a_generic_csv_with_a_declared_mapping_is_parsed(
    api, researcher, cell, echem_dir, django_capture_on_commit_callbacks
):
    mapping = (
        '{"columns": {"time_s": ["test_time", "s"], "voltage_V": ["voltage", "V"], "current_A": ["current", "mA"],'
        ' "cycle": ["cycle", ""], "step": ["step", ""]}}'
    )
    response = post(
        api(researcher),
        cell.code,
        echem_dir / "generic_csv/cellpy_custom_data_001.csv",
        django_capture_on_commit_callbacks,
        mapping=mapping,
        technique="GCPL",
    )
    assert response.status_code == 202
    upload = Upload.objects.get()
    assert upload.stage == Stage.DONE, upload.error
    m = upload.measurement
    assert m.source_format == "generic-csv" and m.technique == "GCPL" and m.row_count == 2442
    assert m.parameters["mapping"]["columns"]["current_A"] == ["current", "mA"]


def test_a_bad_column_mapping_is_refused_with_400_before_anything_is_stored(api, researcher, cell, echem_dir):
    response = api(researcher).post(
        "/api/v1/uploads/",
        {
            "file": upload_file(echem_dir / "generic_csv/cellpy_custom_data_001.csv"),
            "cell": cell.code,
            "mapping": '{"columns": {"current_A": ["current", "mV"]}}',
        },
    )
    assert response.status_code == 400
    assert "unit 'mV' is not valid for column current_A" in response.json()["error"]["message"]
    assert Upload.objects.count() == 0


# ------------------------------------------------------------------------------------------------ data endpoints
@pytest.fixture
def spiky_measurement(researcher, cell, django_capture_on_commit_callbacks, tmp_path):  # type: ignore[no-untyped-def]
    """A 100,000-row GCPL file whose voltage is 0.05 V everywhere except one 4.2 V spike at row 54,321."""
    from measurements.parsers.synthetic_mpt import write_mpt
    from measurements.services.ingest import store_upload

    n = 100_000
    t = np.arange(n, dtype=float) * 10.0
    i = np.where((np.arange(n) // 1000) % 2 == 0, 1e-4, -1e-4)
    v = np.where(i > 0, 0.05, -0.05)
    v[54_321] = 4.2
    path = write_mpt(tmp_path / "spike.mpt", "GCPL", {"time_s": t, "voltage_V": v, "current_A": i})
    with django_capture_on_commit_callbacks(execute=True), path.open("rb") as fh:
        from django.core.files import File

        stored = store_upload(
            file=File(fh, name="spike.mpt"),
            filename="spike.mpt",
            uploaded_by=researcher,
            team=cell.team,
            cell=cell,
        )
    upload = Upload.objects.get(pk=stored.upload.pk)
    assert upload.stage == Stage.DONE, upload.error
    return upload.measurement


def test_downsampled_data_keep_a_single_row_spike(api, researcher, spiky_measurement):
    response = api(researcher).get(
        f"/api/v1/measurements/{spiky_measurement.pk}/data/",
        {"columns": "time_s,voltage_V", "max_points": 500},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["row_count"] == 100_000 and body["downsampled"] is True
    assert body["returned_rows"] <= 502
    assert max(body["columns"]["voltage_V"]) == 4.2
    assert 543_210.0 in body["columns"]["time_s"]  # the spike's own time, 54,321 x 10 s
    assert min(body["columns"]["voltage_V"]) == -0.05


def test_the_whole_data_download_as_csv_and_parquet(api, researcher, spiky_measurement):
    client = api(researcher)
    csv_response = client.get(f"/api/v1/measurements/{spiky_measurement.pk}/data.csv")
    assert csv_response.status_code == 200 and csv_response["Content-Type"].startswith("text/csv")
    frame = pd.read_csv(io.BytesIO(b"".join(csv_response.streaming_content)))
    assert len(frame) == 100_000 and frame["voltage_V"].max() == 4.2
    assert list(frame.columns) == spiky_measurement.columns
    pq_response = client.get(f"/api/v1/measurements/{spiky_measurement.pk}/data.parquet")
    assert pq_response.status_code == 200
    table = pq.read_table(pa.BufferReader(b"".join(pq_response.streaming_content)))
    assert table.num_rows == 100_000
    np.testing.assert_array_equal(table.column("voltage_V").to_numpy(), frame["voltage_V"].to_numpy())


def test_figures_for_the_measurement_page_are_plotly_json(
    api, researcher, spiky_measurement, cell, echem_dir, django_capture_on_commit_callbacks
):
    client = api(researcher)
    vt = client.get(f"/api/v1/measurements/{spiky_measurement.pk}/figures/voltage-time.json").json()
    assert [t["name"] for t in vt["data"]] == ["voltage", "current"]
    assert max(vt["data"][0]["y"]) == 4.2
    cap = client.get(f"/api/v1/measurements/{spiky_measurement.pk}/figures/capacity-cycle.json").json()
    assert len(cap["data"][0]["x"]) >= 49
    post(client, cell.code, echem_dir / PEIS, django_capture_on_commit_callbacks)
    eis = Measurement.objects.get(technique="PEIS")
    nyquist = client.get(f"/api/v1/measurements/{eis.pk}/figures/nyquist.json").json()
    assert len(nyquist["data"][0]["x"]) == 32 and nyquist["layout"]["yaxis"]["scaleanchor"] == "x"
    bode = client.get(f"/api/v1/measurements/{eis.pk}/figures/bode.json").json()
    assert bode["layout"]["xaxis"]["type"] == "log"
    csv_text = client.get(f"/api/v1/measurements/{eis.pk}/figures/nyquist.csv").content.decode()
    assert csv_text.splitlines()[0] == "trace,x,y" and len(csv_text.splitlines()) == 33
    assert client.get(f"/api/v1/measurements/{eis.pk}/figures/capacity-cycle.json").status_code == 400


def test_the_raw_file_is_downloaded_unchanged_as_an_attachment(
    api, researcher, viewer, cell, echem_dir, django_capture_on_commit_callbacks
):
    upload_id = post(api(researcher), cell.code, echem_dir / NDAX, django_capture_on_commit_callbacks).json()[
        "id"
    ]
    response = api(viewer).get(f"/api/v1/uploads/{upload_id}/raw/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert (
        response["Content-Disposition"].startswith("attachment;")
        and "navani_test.ndax" in response["Content-Disposition"]
    )
    assert b"".join(response.streaming_content) == (echem_dir / NDAX).read_bytes()


def test_measurements_are_filtered_by_cell_technique_and_temperature(
    api, researcher, cell, echem_dir, django_capture_on_commit_callbacks
):
    client = api(researcher)
    post(client, cell.code, echem_dir / PEIS, django_capture_on_commit_callbacks, temperature="60 degC")
    post(client, cell.code, echem_dir / GCPL, django_capture_on_commit_callbacks)
    assert len(client.get("/api/v1/measurements/", {"technique": "PEIS"}).json()["results"]) == 1
    assert len(client.get("/api/v1/measurements/", {"cell": cell.pk}).json()["results"]) == 2
    assert len(client.get("/api/v1/measurements/", {"temperature_min": "330 K"}).json()["results"]) == 1
    assert client.get("/api/v1/measurements/", {"temperature_min": "3 mV"}).status_code == 400


# ------------------------------------------------------------------------------------------------ query counts
def _make_uploads(cell, user, n: int) -> None:  # type: ignore[no-untyped-def]
    for k in range(n):
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
            team=cell.team,
            upload=u,
            cell=cell,
            technique="PEIS",
            source_format="biologic-mpt",
            columns=["freq_Hz"],
        )


@pytest.mark.parametrize("url", ["/api/v1/uploads/", "/api/v1/measurements/", "/api/v1/instruments/"])
def test_list_endpoints_use_a_constant_number_of_queries(
    api, researcher, cell, instrument, django_assert_max_num_queries, url
):
    client = api(researcher)
    _make_uploads(cell, researcher, 2)
    with django_assert_max_num_queries(8) as few:
        assert client.get(url).status_code == 200
    _make_uploads_more = 30
    for k in range(_make_uploads_more):
        u = Upload.objects.create(
            team=cell.team,
            sha256=f"f{k:063x}",
            raw_file=f"raw/x{k}",
            original_name=f"g{k}.mpt",
            size_bytes=1,
            cell=cell,
            uploaded_by=researcher,
        )
        Measurement.objects.create(
            team=cell.team, upload=u, cell=cell, technique="GCPL", source_format="x", columns=["time_s"]
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200
