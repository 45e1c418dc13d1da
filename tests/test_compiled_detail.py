"""The GET of one cell or one upload answers the same through the compiled look-up (lims.api.base.CompiledDetailMixin)
as through DRF's own ``get_object``: the same status, bytes and ETag, for every kind of requester.

Each requester asks for each record with an API token and with a session, once with the compiled look-up and
once without it. The records are the test world's (tests/world.py): its cell (with parts and state changes), a
finished and a failed upload, an instrument's upload; plus keys that do not exist or are not numbers.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from cells.api.views import CellViewSet
from lims.api import base
from lims.models import ApiToken
from measurements.api.ingest_views import UploadViewSet
from tests.conftest import MIXED, OUTSIDER, RESEARCHER, STAFF, VIEWER

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

_COMPARED_HEADERS = ("Content-Type", "ETag", "Allow", "Vary")


def _answer(client: Client, url: str, **headers: Any) -> tuple[int, bytes, dict[str, str | None]]:
    response = client.get(url, HTTP_ACCEPT="application/json", **headers)
    return response.status_code, response.content, {h: response.headers.get(h) for h in _COMPARED_HEADERS}


def _both_ways(client: Client, url: str, **headers: Any) -> tuple[Any, Any]:
    base.COMPILED_DETAILS = True
    try:
        compiled = _answer(client, url, **headers)
        base.COMPILED_DETAILS = False
        orm = _answer(client, url, **headers)
    finally:
        base.COMPILED_DETAILS = True
    return compiled, orm


def _compiled_calls(view: Any) -> int:
    plans = getattr(view.compiled_detail._scoped._local, "plans", {})
    return len(plans)


def test_cells_and_uploads_answer_the_same_with_the_compiled_look_up(world: Any) -> None:
    records = [
        reverse("cell-detail", args=[world.cell.pk]),
        reverse("cell-detail", args=[world.spare_cell.pk]),
        reverse("upload-detail", args=[world.upload.pk]),
        reverse("upload-detail", args=[world.failed_upload.pk]),
        reverse("cell-detail", args=[10**15]),
        reverse("upload-detail", args=[10**15]),
        "/api/v1/cells/0042x/",
        "/api/v1/uploads/%EF%BC%91/",  # a full-width digit: str.isdigit() says yes, int() would too
        "/api/v1/uploads/99999999999999999999999/",  # beyond bigint
    ]
    answered = {"200": 0, "404": 0}
    for kind in (VIEWER, RESEARCHER, STAFF, OUTSIDER, MIXED):
        person = world.people[kind]
        _, key = ApiToken.issue(user=person, name=f"compiled-detail-{kind}")
        session = Client()
        session.force_login(person)
        for url in records:
            for client, headers in ((Client(), {"HTTP_AUTHORIZATION": f"Token {key}"}), (session, {})):
                compiled, orm = _both_ways(client, url, **headers)
                assert compiled == orm, (kind, url, compiled[0], orm[0], compiled[1][:300], orm[1][:300])
                answered[str(compiled[0])] = answered.get(str(compiled[0]), 0) + 1
    # members see the team's records (with an ETag on the cell), the others get DRF's 404
    assert answered["200"] >= 3 * 4 * 2 and answered["404"] >= 20, answered
    assert _compiled_calls(CellViewSet) and _compiled_calls(UploadViewSet)


def test_an_instruments_token_reads_its_uploads_status_through_drfs_look_up(world: Any) -> None:
    """An instrument's service account is in no team: its uploads are found by who uploaded them, not by team."""
    client = Client()
    url = reverse("upload-detail", args=[world.upload.pk])
    compiled, orm = _both_ways(client, url, HTTP_AUTHORIZATION=f"Token {world.instrument_key}")
    assert compiled == orm


def test_an_instruments_account_in_a_team_still_sees_only_its_own_uploads(world: Any) -> None:
    """A service account sees the uploads it made (measurements.selectors_ingest), even if someone made it a member
    of a team: the compiled look-up, which scopes by team, must not answer for it."""
    from lims.models import Membership

    account = world.instrument.service_user
    Membership.objects.create(user=account, team=world.team, role="viewer")
    client = Client()
    client.force_login(account)
    url = reverse("upload-detail", args=[world.failed_upload.pk])  # uploaded by the researcher
    compiled, orm = _both_ways(client, url)
    assert compiled == orm
    assert compiled[0] == 404
