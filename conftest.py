"""Project-wide pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def echem_data_dir() -> Path | None:
    """Where the shared real instrument files live (../shared/echem_data), or None."""
    candidates = [
        os.environ.get("ECHEM_DATA_DIR", ""),
        str(Path(__file__).resolve().parent.parent / "shared" / "echem_data"),
        "/work/shared/echem_data",
    ]
    for c in candidates:
        if c and (Path(c) / "MANIFEST.md").exists():
            return Path(c)
    return None


@pytest.fixture(scope="session")
def echem_dir() -> Path:
    """Path of the real instrument files; tests needing them skip with a reason when absent."""
    d = echem_data_dir()
    if d is None:
        pytest.skip("real instrument files (../shared/echem_data or $ECHEM_DATA_DIR) not found")
    return d


# --------------------------------------------------------------------------------------------- people and teams
@pytest.fixture
def team(db):  # type: ignore[no-untyped-def]
    from lims.models import Team

    return Team.objects.create(name="Solid-state group", slug="ssb")


@pytest.fixture
def other_team(db):  # type: ignore[no-untyped-def]
    from lims.models import Team

    return Team.objects.create(name="Other group", slug="other")


def _member(username: str, team, role: str, **extra):  # type: ignore[no-untyped-def]
    from lims.models import Membership, User

    user = User.objects.create_user(username=username, password="pw-" + username, **extra)
    if team is not None:
        Membership.objects.create(user=user, team=team, role=role)
    return user


@pytest.fixture
def viewer(team):  # type: ignore[no-untyped-def]
    return _member("vera", team, "viewer")


@pytest.fixture
def researcher(team):  # type: ignore[no-untyped-def]
    return _member("rita", team, "researcher")


@pytest.fixture
def manager(team):  # type: ignore[no-untyped-def]
    return _member("max", team, "manager")


@pytest.fixture
def staff_user(db):  # type: ignore[no-untyped-def]
    return _member("stan", None, "", is_staff=True, is_superuser=True)


@pytest.fixture
def outsider(other_team):  # type: ignore[no-untyped-def]
    return _member("otto", other_team, "researcher")


@pytest.fixture
def api():  # type: ignore[no-untyped-def]
    """An APIClient factory: api(user) is logged in as user (force_authenticate), api() is anonymous."""
    from rest_framework.test import APIClient

    def make(user=None):  # type: ignore[no-untyped-def]
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def token_client(db):  # type: ignore[no-untyped-def]
    """token_client(user, scope="user") -> APIClient sending a real hashed token."""
    from rest_framework.test import APIClient

    from lims.models import ApiToken

    def make(user, scope: str = "user"):  # type: ignore[no-untyped-def]
        token, key = ApiToken.issue(user=user, name="test", scope=scope)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        client.lims_token = token  # type: ignore[attr-defined]
        return client

    return make


# --------------------------------------------------------------------------------------------- service markers
def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    if not config.pluginmanager.hasplugin("django"):
        return  # pure tests run with -p no:django
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    redis_url = os.environ.get("LIMS_TEST_REDIS_URL", "")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL); CI runs it"))
        if "redis" in item.keywords and not redis_url:
            item.add_marker(pytest.mark.skip(reason="needs Redis (set LIMS_TEST_REDIS_URL); CI runs it"))


@pytest.fixture(autouse=True)
def _media_in_tmp(request, tmp_path):  # type: ignore[no-untyped-def]
    """Every test writes files under its own temporary MEDIA_ROOT (when Django is in play)."""
    if request.config.pluginmanager.hasplugin("django"):
        request.getfixturevalue("settings").MEDIA_ROOT = tmp_path / "media"
