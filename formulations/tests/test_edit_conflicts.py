"""Web edit forms refuse a lost update: two people open the same record's edit form, the first saves, the second's
save (made on the version they opened) is refused with a message naming who changed it; nothing is overwritten.

The same rule as the API's If-Match (lims/api/concurrency.py), here through lims/edit_guard.py."""

from __future__ import annotations

import html as htmllib
import re
from typing import Any

import pytest
from django.test import Client

from formulations.models import Chemical, StockLot, StorageLocation, Supplier
from formulations.services import inventory as services
from formulations.tests.test_inventory_fixtures import *  # noqa: F403  (fixtures)
from lims.edit_guard import FIELD
from lims.models import Membership, User

pytestmark = pytest.mark.django_db


def _form_data(client: Client, url: str) -> dict[str, Any]:
    """What the browser would post back unchanged: every input, textarea and selected option of the page."""
    html = client.get(url).content.decode()
    data: dict[str, Any] = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1) == "csrfmiddlewaretoken" or 'type="file"' in tag:
            continue
        if 'type="checkbox"' in tag and "checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        data[name.group(1)] = htmllib.unescape(value.group(1)) if value else ""
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        data[name] = htmllib.unescape(body.strip())
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', body)
        data[name] = htmllib.unescape(chosen.group(1)) if chosen else ""
    return data


@pytest.fixture
def two(team: Any, researcher: Any) -> tuple[Client, Client]:
    other = User.objects.create_user(username="olga", password="pw-olga")
    Membership.objects.create(user=other, team=team, role="researcher")
    a, b = Client(), Client()
    a.force_login(researcher)
    b.force_login(other)
    return a, b


def _record(kind: str, lifsi: Chemical, aladdin: Supplier, shelf: StorageLocation, researcher: Any) -> Any:
    if kind == "lot":
        return services.receive_lot(chemical=lifsi, quantity="25 g", actor=researcher)
    return {"chemical": lifsi, "supplier": aladdin, "location": shelf}[kind]


EDITS = {
    # kind: (edit URL, field changed, first value, second value)
    "lot": ("/inventory/lots/{pk}/edit/", "notes", "dried 12 h at 80 C", "opened in glovebox 2"),
    "chemical": ("/inventory/chemicals/{pk}/edit/", "hazard_notes", "keep under Ar", "hygroscopic"),
    "supplier": (
        "/inventory/suppliers/{pk}/edit/",
        "contact",
        "sales@aladdin.example",
        "orders@aladdin.example",
    ),
    "location": ("/inventory/locations/{pk}/edit/", "name", "Shelf 1 (top)", "Shelf 1 (left)"),
}


@pytest.mark.parametrize("kind", list(EDITS))
def test_the_second_of_two_concurrent_web_edits_is_refused_not_lost(
    kind: str,
    two: tuple[Client, Client],
    lifsi: Chemical,
    aladdin: Supplier,
    shelf: StorageLocation,
    researcher: Any,
) -> None:
    a, b = two
    obj = _record(kind, lifsi, aladdin, shelf, researcher)
    url, field, first, second = EDITS[kind]
    url = url.format(pk=obj.pk)
    form_a, form_b = _form_data(a, url), _form_data(b, url)  # both open the form on the same version
    assert form_a[FIELD] and form_a[FIELD] == form_b[FIELD]
    history_before = obj.history.count()

    saved = a.post(url, {**form_a, field: first})
    assert saved.status_code == 302, saved.context["form"].errors
    refused = b.post(url, {**form_b, field: second})
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "was changed by rita" in page and "your changes were not saved" in page
    obj.refresh_from_db()
    assert getattr(obj, field) == first  # the first save stands; the second did not overwrite it
    assert obj.history.count() == history_before + 1  # one change recorded, not two

    # reloaded, the second person's change goes through on the new version
    again = _form_data(b, url)
    assert again[FIELD] != form_b[FIELD]
    assert b.post(url, {**again, field: second}).status_code == 302
    obj.refresh_from_db()
    assert getattr(obj, field) == second


def test_a_post_without_the_version_field_is_saved_as_before(
    browser_client: Client, lifsi: Chemical, researcher: Any
) -> None:
    lot = services.receive_lot(chemical=lifsi, quantity="25 g", actor=researcher)
    url = f"/inventory/lots/{lot.pk}/edit/"
    data = _form_data(browser_client, url)
    data.pop(FIELD)
    assert browser_client.post(url, {**data, "notes": "no version sent"}).status_code == 302
    assert StockLot.objects.get(pk=lot.pk).notes == "no version sent"


@pytest.fixture
def browser_client(client: Client, researcher: Any) -> Client:
    client.force_login(researcher)
    return client
