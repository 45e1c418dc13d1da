"""Raw files and Parquet data on S3-compatible storage (issue 10): django-storages' S3 backend against a local
S3 server (moto's server mode, installed from PyPI with the test extras), exactly as settings.py configures it
when AWS_STORAGE_BUCKET_NAME is set.

An upload is stored under its SHA-256 in the bucket, parsed by the in-process worker into a Parquet object in the
same bucket, read back through ``storage.read_frame`` and served again by the permission-checked download views.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

BUCKET = "lims-test-bucket"

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    moto_server = pytest.importorskip("moto.server", reason="moto[server] is in the test extras")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_storage(s3_endpoint, settings, monkeypatch) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """STORAGES["default"] as settings.py builds it from AWS_* variables, pointed at the local server."""
    import boto3

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                "region_name": "us-east-1",
                "addressing_style": "path",
            },
        },
    }
    yield client
    listed = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    for obj in listed:
        client.delete_object(Bucket=BUCKET, Key=obj["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _keys(client: Any) -> list[str]:
    return sorted(obj["Key"] for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def _gcpl_mpt(rows: int = 400) -> bytes:
    """A small GCPL .mpt of a Li|E|Li cell (+-0.1 mA, 1 h per half cycle), written by the synthetic writer."""
    import tempfile
    from pathlib import Path

    from measurements.parsers.synthetic_mpt import write_mpt

    t = np.arange(rows, dtype=np.float64) * 36.0
    half = (np.arange(rows) // 100).astype(np.int64)
    current = np.where(half % 2 == 0, 1e-4, -1e-4)
    dq = np.zeros(rows)
    dq[1:] = current[1:] * 36.0 / 3600.0
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "gcpl.mpt"
        write_mpt(
            path,
            "GCPL",
            {
                "time_s": t,
                "voltage_V": np.sign(current) * 0.03,
                "current_A": current,
                "charge_Ah": np.cumsum(dq),
                "cycle": half // 2,
                "half_cycle": half,
                "step": (half % 2) + 1,
            },
        )
        return path.read_bytes()


def test_parquet_columns_round_trip_through_the_bucket(s3_storage) -> None:  # type: ignore[no-untyped-def]
    from measurements import storage

    path = storage.parquet_path("ab" * 32)
    saved = storage.write_columns(path, {"time_s": np.arange(5.0), "voltage_V": np.linspace(3.0, 3.4, 5)})
    assert saved == path and _keys(s3_storage) == [path]
    back = storage.read_columns(path)
    np.testing.assert_allclose(back["voltage_V"], np.linspace(3.0, 3.4, 5))
    storage.write_columns(path, {"time_s": np.arange(3.0)})  # rewriting replaces the object (idempotent)
    assert _keys(s3_storage) == [path] and len(storage.read_columns(path)["time_s"]) == 3
    storage.delete(path)
    assert _keys(s3_storage) == []


def test_an_upload_is_stored_parsed_and_served_from_s3(  # type: ignore[no-untyped-def]
    s3_storage, api, researcher, cell, django_capture_on_commit_callbacks
) -> None:
    import hashlib

    import pyarrow.parquet as pq

    from measurements import storage
    from measurements.models import Measurement, Stage, Upload

    raw = _gcpl_mpt()
    client = api(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/uploads/",
            {"file": SimpleUploadedFile("gcpl.mpt", raw), "cell": cell.code},
            format="multipart",
        )
    assert response.status_code == 202, response.content[:500]
    upload = Upload.objects.get()
    assert upload.stage == Stage.DONE, upload.error
    measurement = Measurement.objects.get(upload=upload)
    sha = hashlib.sha256(raw).hexdigest()
    keys = _keys(s3_storage)
    assert upload.raw_file.name in keys and sha in upload.raw_file.name
    assert measurement.data_file in keys and measurement.data_file.endswith(".parquet")
    frame = storage.read_frame(measurement)
    assert len(frame) == measurement.row_count == 400
    # the permission-checked download views stream the objects back
    got_raw = client.get(f"/api/v1/uploads/{upload.pk}/raw/")
    assert got_raw.status_code == 200 and b"".join(got_raw.streaming_content) == raw
    got_parquet = client.get(f"/api/v1/measurements/{measurement.pk}/data.parquet")
    assert got_parquet.status_code == 200
    table = pq.read_table(io.BytesIO(b"".join(got_parquet.streaming_content)))
    assert table.num_rows == 400
