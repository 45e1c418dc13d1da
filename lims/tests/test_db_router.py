"""The read replica (issue 10): safe API requests read from ``replica``; writes, pages, sessions, tokens and
memberships stay on the primary. The replica is the test database itself here (what ``TEST: MIRROR`` does when
DATABASE_REPLICA_URL is set), and the router records where each read went."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connections, transaction
from django.test import Client, override_settings

from lims import db_router
from lims.db_router import PRIMARY, REPLICA, ReadReplicaRouter, use_replica_for_reads

ROOT = Path(__file__).resolve().parents[2]


class RecordingRouter(ReadReplicaRouter):
    reads: list[tuple[str, str]] = []

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        alias = super().db_for_read(model, **hints)
        self.reads.append((model._meta.label_lower, str(alias)))
        return alias


@pytest.fixture
def replica(db):  # type: ignore[no-untyped-def]
    """A ``replica`` alias that is the default connection (the same database, the same test transaction)."""
    connections.settings[REPLICA] = connections.settings[PRIMARY]
    connections[REPLICA] = connections[PRIMARY]
    RecordingRouter.reads = []
    middleware = [*settings.MIDDLEWARE, "lims.db_router.ReadReplicaMiddleware"]
    with override_settings(DATABASE_ROUTERS=[RecordingRouter()], MIDDLEWARE=middleware):
        yield RecordingRouter.reads
    del connections[REPLICA]
    del connections.settings[REPLICA]


def _alias_of(reads: list[tuple[str, str]], label: str) -> set[str]:
    return {alias for model, alias in reads if model == label}


def test_reads_go_to_the_primary_unless_a_read_only_api_request_allows_the_replica() -> None:
    from cells.models import Cell

    router = ReadReplicaRouter()
    assert router.db_for_read(Cell) == PRIMARY
    assert router.db_for_write(Cell) == PRIMARY
    assert router.allow_migrate(REPLICA, "cells") is False
    assert router.allow_migrate(PRIMARY, "cells") is True


@pytest.mark.django_db
def test_in_replica_scope_cells_come_from_the_replica_but_tokens_and_writes_never(replica) -> None:  # type: ignore[no-untyped-def]
    from cells.models import Cell
    from lims.models import ApiToken, Membership

    router = ReadReplicaRouter()
    with use_replica_for_reads():
        assert router.db_for_read(Cell) == REPLICA
        assert router.db_for_read(ApiToken) == PRIMARY  # a revoked token must stop at once
        assert router.db_for_read(Membership) == PRIMARY
        assert router.db_for_write(Cell) == PRIMARY
        with transaction.atomic():
            Cell.objects.exists()
            assert router.db_for_read(Cell) == PRIMARY  # inside a write transaction: read what it wrote
    assert router.db_for_read(Cell) == PRIMARY
    assert not db_router.replica_reads_allowed()


@pytest.mark.django_db
def test_a_get_of_the_api_reads_cells_from_the_replica_and_the_token_from_the_primary(  # type: ignore[no-untyped-def]
    replica, researcher
) -> None:
    from lims.models import ApiToken

    _, key = ApiToken.issue(user=researcher, name="replica test")
    response = Client().get("/api/v1/cells/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200, response.content[:300]
    assert _alias_of(replica, "cells.cell") == {REPLICA}
    assert _alias_of(replica, "lims.apitoken") == {PRIMARY}  # with the person's roles (roles_column)
    assert _alias_of(replica, "lims.membership") <= {PRIMARY}


@pytest.mark.django_db
def test_a_get_of_one_cell_reads_it_from_the_replica_and_its_team_scope_from_the_primary(  # type: ignore[no-untyped-def]
    replica, researcher, team, monkeypatch
) -> None:
    """The hot read of one record (lims/api/rows.py) reads the token and the record in one statement batch,
    scoping the record by the token's memberships, when both are on one database. With a replica that would
    read memberships from the replica, which may lag (a person just removed from a team): then the token (and
    its roles) are read from the primary first, and the record from the replica with those team ids."""
    from cells.api.views import CellViewSet
    from cells.models import Cell
    from lims.management.commands.generate_lab import Counts, generate_lab
    from lims.models import ApiToken

    generate_lab(Counts.uniform(2), seed=3, tag="rr", teams=[team], members=[researcher])
    cell = Cell.objects.filter(team=team).order_by("id").first()
    assert cell is not None
    _, key = ApiToken.issue(user=researcher, name="replica test")

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the record was scoped by memberships read on the replica")

    monkeypatch.setattr(CellViewSet.hot_detail._by_token, "statement", never)
    replica.clear()  # the lab's own reads
    response = Client().get(f"/api/v1/cells/{cell.pk}/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200, response.content[:300]
    assert response.json()["code"] == cell.code
    assert _alias_of(replica, "cells.cell") == {REPLICA}
    assert _alias_of(replica, "lims.apitoken") == {PRIMARY}


@pytest.mark.django_db
def test_pages_and_api_writes_read_from_the_primary(replica, researcher, team) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(researcher)
    assert client.get("/cells/").status_code == 200
    response = client.post("/api/v1/series/", {"name": "Arrhenius", "kind": "arrhenius", "team": team.pk})
    assert response.status_code == 201, response.content[:300]
    assert replica and {alias for _, alias in replica} == {PRIMARY}


def test_database_replica_url_adds_the_alias_the_router_and_the_middleware() -> None:
    """Settings are read once at start: check them in a fresh interpreter with the variable set."""
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps({'aliases': sorted(settings.DATABASES), "
        "'mirror': settings.DATABASES['replica']['TEST'].get('MIRROR'), "
        "'host': settings.DATABASES['replica']['HOST'], 'routers': settings.DATABASE_ROUTERS, "
        "'middleware': settings.MIDDLEWARE[-1]}))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lims.settings",
        "DATABASE_URL": "postgres://lims@primary.invalid:5432/lims",
        "DATABASE_REPLICA_URL": "postgres://lims_ro@replica.invalid:5432/lims",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {
        "aliases": ["default", "replica"],
        "mirror": "default",
        "host": "replica.invalid",
        "routers": ["lims.db_router.ReadReplicaRouter"],
        "middleware": "lims.db_router.ReadReplicaMiddleware",
    }
