"""Session data decoded once per signed text (lims.authentication.SessionStore.decode): Django's values, a copy
per request, nothing remembered that did not verify or that a request could change in place, and nothing kept
across a change of the secret key."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore

from lims import authentication
from lims.authentication import SessionStore


def _signed(values: dict[str, Any]) -> str:
    return SessionStore().encode(values)


def test_the_values_are_djangos_and_each_read_gets_its_own_copy() -> None:
    values = {
        "_auth_user_id": "7",
        "_auth_user_backend": "lims.authentication.ModelBackend",
        "n": 3,
        "x": None,
    }
    data = _signed(values)
    assert DjangoSessionStore.decode(SessionStore(), data) == values  # type: ignore[arg-type]
    first = SessionStore().decode(data)
    assert first == values and data in authentication._decoded
    first["_auth_user_id"] = "8"  # a request changes its session
    second = SessionStore().decode(data)
    assert second == values and second is not first


def test_what_does_not_verify_or_could_change_in_place_is_not_remembered() -> None:
    data = _signed({"_auth_user_id": "7"})
    tampered = data[:-2] + ("AA" if not data.endswith("AA") else "BB")
    assert SessionStore().decode(tampered) == {}
    assert tampered not in authentication._decoded
    nested = _signed({"_auth_user_id": "7", "cart": [1, 2]})
    read = SessionStore().decode(nested)
    assert read == {"_auth_user_id": "7", "cart": [1, 2]}
    assert nested not in authentication._decoded
    read["cart"].append(3)
    assert SessionStore().decode(nested)["cart"] == [1, 2]


def test_a_new_secret_key_forgets_what_the_old_one_verified(settings: Any) -> None:
    data = _signed({"_auth_user_id": "7"})
    assert SessionStore().decode(data) == {"_auth_user_id": "7"}
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert data not in authentication._decoded
    assert SessionStore().decode(data) == {}  # signed with a key no longer accepted


@pytest.mark.django_db
def test_a_signed_in_session_still_changes_and_saves() -> None:
    store = SessionStore()
    store["_auth_user_id"] = "7"
    store.save()
    again = SessionStore(session_key=store.session_key)
    assert again["_auth_user_id"] == "7"
    again["theme"] = "dark"
    again.save()
    third = SessionStore(session_key=store.session_key)
    assert third["theme"] == "dark" and third["_auth_user_id"] == "7"
