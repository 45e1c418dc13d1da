"""Concurrency on the real PostgreSQL, each thread with its own connection (the 50 lot consumptions are in
formulations/tests/test_inventory_concurrency.py):

- 20 identical uploads of one file at the same moment end as one Upload, one raw file, one Measurement, one
  Parquet file and one set of derived properties; 1 answer is 202, the 19 others 200 with the same upload;
- two clients that read the same version of a lot (or a cell) and both change it: the second is refused with 409
  and a message saying why (If-Match / ETag, lims/api/concurrency.py), so no change is ever lost silently;
- several clients appending to the notes of one lot and of one cell at once, each re-reading on 409: every edit
  is in the final notes (lost updates = 0).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.world import impedance_mpt

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

UPLOADS = 20
EDITORS, EDITS_EACH = 6, 3


def _token_client(user: Any) -> APIClient:
    from lims.models import ApiToken

    _, key = ApiToken.issue(user=user, name="concurrency")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _in_threads(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(0..n-1) in n threads released together; each thread closes its own connection."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        try:
            barrier.wait(timeout=60)
            return work(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


@pytest.fixture
def blocking_cell(team, researcher):  # type: ignore[no-untyped-def]
    from cells.tests import factories as f
    from formulations.models import ChemicalRole

    llzto = f.chemical("LLZTO", role=ChemicalRole.CERAMIC_FILLER, theoretical_density=5.1)
    lot = f.lot(user=researcher, chem=llzto, quantity="50 g")
    pellet = f.pellet(team=team, user=researcher, powder=lot)
    return f.blocking_cell(team=team, user=researcher, pellet_=pellet, code="CONC-BLK-1")


def test_twenty_identical_uploads_at_once_make_one_upload_one_measurement_one_set_of_properties(
    researcher, blocking_cell, settings, capsys
):  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    from measurements.models import CycleSummary, DerivedProperty, Measurement, Stage, Upload

    content = impedance_mpt(temperature_C=25.0, r_bulk_ohm=150.0, seed=3)
    clients = [_token_client(researcher) for _ in range(UPLOADS)]

    def post(i: int) -> tuple[int, int, str]:
        response = clients[i].post(
            "/api/v1/uploads/",
            {"file": SimpleUploadedFile(f"copy-{i}.mpt", content), "cell": blocking_cell.code},
            format="multipart",
        )
        body = response.json()
        return response.status_code, body.get("id", -1), body.get("stage", "")

    outcomes = _in_threads(UPLOADS, post)
    codes = Counter(code for code, _, _ in outcomes)
    ids = {upload_id for _, upload_id, _ in outcomes}
    upload = Upload.objects.get()
    measurement = Measurement.objects.get()
    derived = list(DerivedProperty.objects.values_list("name", "method_version"))
    media = Path(settings.MEDIA_ROOT)
    raw_files = sorted(p.name for p in (media / "raw").rglob("*") if p.is_file())
    parquet_files = sorted((media / "parsed").rglob("*.parquet")) if (media / "parsed").exists() else []
    with capsys.disabled():
        print(
            f"\nidentical uploads: requests {UPLOADS}, answers {dict(codes)}, uploads {Upload.objects.count()}, "
            f"measurements {Measurement.objects.count()}, derived properties {len(derived)} "
            f"(duplicates {len(derived) - len(set(derived))}), raw files {len(raw_files)}, "
            f"parquet files {len(parquet_files)}"
        )
    assert codes == {202: 1, 200: UPLOADS - 1}, outcomes
    assert ids == {upload.pk}
    assert upload.stage == Stage.DONE and upload.attempts == 1, upload.error
    assert measurement.upload_id == upload.pk
    assert len(derived) == len(set(derived)) and derived, derived
    assert CycleSummary.objects.filter(measurement=measurement).count() == 0  # impedance: no cycles
    assert raw_files == [upload.sha256], raw_files  # one copy, no temporary or renamed leftovers
    assert len(parquet_files) == 1


# ------------------------------------------------------------------------------------------------ edits
@pytest.fixture
def lot(researcher):  # type: ignore[no-untyped-def]
    from cells.tests import factories as f

    return f.lot(user=researcher, quantity="100 g")


def test_two_clients_that_read_the_same_lot_cannot_both_change_it(researcher, manager, lot):  # type: ignore[no-untyped-def]
    alice, bob = _token_client(researcher), _token_client(manager)
    url = f"/api/v1/lots/{lot.pk}/"
    tag_a, tag_b = alice.get(url)["ETag"], bob.get(url)["ETag"]
    assert tag_a == tag_b

    first = alice.patch(url, {"notes": "opened in glovebox 1"}, format="json", HTTP_IF_MATCH=tag_a)
    assert first.status_code == 200, first.content
    assert first["ETag"] != tag_a  # the new version
    second = bob.patch(url, {"notes": "still sealed"}, format="json", HTTP_IF_MATCH=tag_b)
    assert second.status_code == 409
    error = second.json()["error"]
    assert error["code"] == "conflict" and error["status"] == 409
    assert error["message"].startswith(f"Stock lot {lot} was changed by someone else since you read it")
    assert "reload it and apply your change again" in error["message"]
    lot.refresh_from_db()
    assert lot.notes == "opened in glovebox 1"
    assert lot.history.filter(notes="still sealed").count() == 0  # the refused write left no trace

    # with the fresh tag Bob's change goes through (he saw Alice's first)
    fresh = bob.get(url)["ETag"]
    assert (
        bob.patch(url, {"notes": "opened; resealed"}, format="json", HTTP_IF_MATCH=fresh).status_code == 200
    )


def test_two_clients_that_read_the_same_cell_cannot_both_change_it(researcher, manager, blocking_cell):  # type: ignore[no-untyped-def]
    alice, bob = _token_client(researcher), _token_client(manager)
    url = f"/api/v1/cells/{blocking_cell.pk}/"
    read_a, read_b = alice.get(url), bob.get(url)
    version = read_a.json()["version"]
    assert read_b.json()["version"] == version and read_a["ETag"] == read_b["ETag"]
    assert (
        alice.patch(url, {"version": version, "notes": "on the 25 C rack"}, format="json").status_code == 200
    )
    stale = bob.patch(url, {"version": version, "notes": "on the 60 C rack"}, format="json")
    assert stale.status_code == 409
    assert "changed by someone else since you opened it" in stale.json()["error"]["message"]
    # the ETag of the read guards the same write when a client sends it instead of the version
    stale_tag = bob.patch(
        url, {"version": version + 1, "notes": "x"}, format="json", HTTP_IF_MATCH=read_b["ETag"]
    )
    assert stale_tag.status_code == 409 and "since you read it" in stale_tag.json()["error"]["message"]
    blocking_cell.refresh_from_db()
    assert blocking_cell.notes == "on the 25 C rack"


def _append_concurrently(
    users: list[Any], url: str, body: Callable[[dict[str, Any], str], dict[str, Any]]
) -> tuple[int, int, list[str]]:
    """EDITORS clients each append EDITS_EACH markers to the notes (read, PATCH with If-Match, re-read on 409)."""
    clients = [_token_client(users[i % len(users)]) for i in range(EDITORS)]
    requests: Counter[str] = Counter()
    lock = threading.Lock()

    def edit(i: int) -> list[str]:
        written = []
        for j in range(EDITS_EACH):
            marker = f"[editor {i} edit {j}]"
            for _ in range(200):
                read = clients[i].get(url)
                current = read.json()
                response = clients[i].patch(
                    url, body(current, marker), format="json", HTTP_IF_MATCH=read["ETag"]
                )
                with lock:
                    requests["GET"] += 1
                    requests[str(response.status_code)] += 1
                if response.status_code == 200:
                    written.append(marker)
                    break
                assert response.status_code == 409, response.content
            else:
                raise AssertionError(f"{marker} never got through")
        return written

    written = [m for markers in _in_threads(EDITORS, edit) for m in markers]
    total = sum(requests.values())
    return total, requests["409"], written


def test_concurrent_appends_to_a_lot_and_a_cell_lose_no_edit(researcher, manager, lot, blocking_cell, capsys):  # type: ignore[no-untyped-def]
    from cells.models import Cell
    from formulations.models import StockLot

    figures = []
    cases = [
        (
            f"/api/v1/lots/{lot.pk}/",
            lambda cur, m: {"notes": (cur["notes"] + " " + m).strip()},
            lambda: StockLot.objects.get(pk=lot.pk).notes,
        ),
        (
            f"/api/v1/cells/{blocking_cell.pk}/",
            lambda cur, m: {"version": cur["version"], "notes": (cur["notes"] + " " + m).strip()},
            lambda: Cell.objects.get(pk=blocking_cell.pk).notes,
        ),
    ]
    for url, body, final in cases:
        total, conflicts, written = _append_concurrently([researcher, manager], url, body)
        notes = final()
        lost = [m for m in written if m not in notes]
        figures.append((url, total, conflicts, len(written), len(lost)))
        assert len(written) == EDITORS * EDITS_EACH
        assert lost == [], f"lost updates on {url}: {lost}"
    with capsys.disabled():
        for where, tried, refused, kept, missing in figures:
            print(
                f"\nparallel edits of {where}: requests {tried}, conflicts (409) {refused}, edits kept {kept}, "
                f"lost updates {missing}"
            )
