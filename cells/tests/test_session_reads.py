"""The cell page's reads go with the session's read (lims.authentication.reads_with_session) only when the guess of
who is asking holds; otherwise the page reads them after signing in, as before."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from cells.models import Cell
from cells.tests import factories as f
from formulations.models import ChemicalRole
from lims import authentication
from lims.models import Membership

pytestmark = pytest.mark.django_db

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[A-Za-z0-9]{64}"')


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    """Start each test with a process that has seen no session and no user (key values repeat across tests)."""
    authentication._users_of_sessions.clear()
    authentication._requesters.clear()
    yield
    authentication._users_of_sessions.clear()
    authentication._requesters.clear()


@pytest.fixture
def cell(team: Any, researcher: Any) -> Cell:
    li = f.li_foil_lot(user=researcher, quantity="2 g")
    salt = f.lot(user=researcher, chem=f.chemical("LiFSI", role=ChemicalRole.SALT))
    version = f.recipe_version(team=team, user=researcher, name="LLZTO-PMA 20", filler_fraction=0.2)
    m = f.membrane(
        team=team, user=researcher, b=f.batch(team=team, user=researcher, version=version, lots=[salt])
    )
    return f.symmetric_cell(team=team, user=researcher, membrane_=m, li=li)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _get(client: Client, path: str) -> tuple[Any, list[tuple[str, int | None]]]:
    """The response, and each statement with the pipeline it was sent in (None: sent alone)."""
    sent: list[tuple[str, int | None]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        pipeline = getattr(context["connection"].connection, "_pipeline", None)
        sent.append((sql, None if pipeline is None else id(pipeline)))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        response = client.get(path)
    return response, sent


def _rode(response: Any) -> bool:
    """The page's reads went with the session's read."""
    return getattr(response.wsgi_request, "session_reads", None) is not None


def _page(response: Any) -> str:
    return _CSRF.sub("(token)", response.content.decode())


def test_once_the_process_knows_the_session_the_page_is_read_with_it_in_one_round_trip(
    cell: Cell, researcher: Any
) -> None:
    client = _client(researcher)
    first, first_sent = _get(client, f"/cells/{cell.pk}/")
    assert first.status_code == 200 and not _rode(first)  # the user not yet seen
    second, sent = _get(client, f"/cells/{cell.pk}/")
    assert second.status_code == 200 and _rode(second)
    assert _page(second) == _page(first)
    assert cell.code in _page(second)
    assert len(sent) <= len(first_sent)
    if connection.vendor == "postgresql":  # elsewhere statements run one after the other
        session = [p for sql, p in sent if "django_session" in sql]
        page = [p for sql, p in sent if "cells_cellcomponent" in sql]
        assert session and page and session[0] is not None
        assert set(page) == {session[0]}  # the session, its user and the page's reads: one pipeline


def test_changed_roles_are_not_guessed_the_page_reads_for_the_roles_the_user_has(
    cell: Cell, researcher: Any, team: Any
) -> None:
    client = _client(researcher)
    assert "Mark " in _page(client.get(f"/cells/{cell.pk}/"))  # a researcher may change the state
    Membership.objects.filter(user=researcher, team=team).update(role="viewer")
    response = client.get(f"/cells/{cell.pk}/")
    assert response.status_code == 200 and not _rode(response)
    assert "Mark " not in _page(response)  # read as the viewer the user now is
    Membership.objects.filter(user=researcher, team=team).delete()
    response = client.get(f"/cells/{cell.pk}/")
    assert response.status_code == 404 and not _rode(response)


def test_a_staff_flag_changed_since_is_not_guessed(cell: Cell, outsider: Any) -> None:
    client = _client(outsider)
    assert client.get(f"/cells/{cell.pk}/").status_code == 404  # another team's cell
    client.get(f"/cells/{cell.pk}/")
    type(outsider).objects.filter(pk=outsider.pk).update(is_staff=True)
    response = client.get(f"/cells/{cell.pk}/")
    assert response.status_code == 200 and not _rode(response)


def test_a_guess_of_another_user_is_never_used(cell: Cell, researcher: Any, outsider: Any) -> None:
    insider = _client(researcher)
    insider.get(f"/cells/{cell.pk}/")
    client = _client(outsider)
    client.get(f"/cells/{cell.pk}/")
    key = client.cookies["sessionid"].value
    authentication._users_of_sessions[hash(key)] = researcher.pk  # as if the outsider's session were hers
    response = client.get(f"/cells/{cell.pk}/")
    assert response.status_code == 404 and not _rode(response)


def test_a_session_that_ended_or_a_deactivated_user_signs_in_no_one(cell: Cell, researcher: Any) -> None:
    client = _client(researcher)
    client.get(f"/cells/{cell.pk}/")
    type(researcher).objects.filter(pk=researcher.pk).update(is_active=False)
    response = client.get(f"/cells/{cell.pk}/")
    assert response.status_code == 302 and not _rode(response)
    type(researcher).objects.filter(pk=researcher.pk).update(is_active=True)
    client = _client(researcher)
    client.get(f"/cells/{cell.pk}/")
    from django.contrib.sessions.models import Session

    Session.objects.all().delete()
    response = client.get(f"/cells/{cell.pk}/")
    assert response.status_code == 302 and not _rode(response)
