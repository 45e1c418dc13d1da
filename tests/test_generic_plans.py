"""Generic plans for the reads that opt in (lims/plans.py): when the mode is set, for which requests, and that it is
always put back (a persistent connection must never carry force_generic_plan into another request)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from lims.plans import generic_plans, plan_safe

pytestmark = pytest.mark.django_db

#: plan_cache_mode is PostgreSQL's (on SQLite the switch is a no-op, and SHOW does not exist)
postgres_only = pytest.mark.postgres

SET = "SET plan_cache_mode = force_generic_plan"
RESET = "RESET plan_cache_mode"


def _mode() -> str:
    with connection.cursor() as cur:
        cur.execute("SHOW plan_cache_mode")
        return str(cur.fetchone()[0])


def _statements(ctx: CaptureQueriesContext) -> list[str]:
    """The SQL run, with the request's own times (the session's expiry check: now) and cursor names blanked."""
    out = []
    for q in ctx.captured_queries:
        sql = re.sub(r"'[0-9-]{10} [0-9:.]+\+00:00'::timestamptz", "'<now>'", q["sql"])
        out.append(re.sub(r'"_django_curs_[0-9]+_[a-z]+_[0-9]+"', "<cursor>", sql))
    return out


@postgres_only
def test_the_block_sets_the_mode_and_puts_it_back(settings: Any) -> None:
    settings.GENERIC_QUERY_PLANS = True
    assert _mode() == "auto"
    with generic_plans():
        assert _mode() == "force_generic_plan"
        with generic_plans():  # nested: no second SET, and the inner block does not reset the outer one
            assert _mode() == "force_generic_plan"
        assert _mode() == "force_generic_plan"
    assert _mode() == "auto"
    with pytest.raises(RuntimeError), generic_plans():
        raise RuntimeError("the view failed")
    assert _mode() == "auto"


@postgres_only
def test_a_connection_that_fails_to_switch_leaves_none_switched(settings: Any, monkeypatch: Any) -> None:
    from django.utils.connection import ConnectionDoesNotExist

    from lims import plans

    settings.GENERIC_QUERY_PLANS = True
    monkeypatch.setattr(plans, "_aliases", lambda: ["default", "no-such-database"])
    with pytest.raises(ConnectionDoesNotExist), generic_plans():
        pytest.fail("the block must not run")
    assert _mode() == "auto"  # the first connection was switched, and put back


@postgres_only
def test_switched_off_it_runs_nothing(settings: Any) -> None:
    settings.GENERIC_QUERY_PLANS = False
    with CaptureQueriesContext(connection) as ctx, generic_plans():
        assert _mode() == "auto"
    assert _statements(ctx) == ["SHOW plan_cache_mode"]


@pytest.mark.parametrize(
    ("query", "method", "safe"),
    [
        ("", "get", True),
        ("page=3", "get", True),
        ("cursor=abc&page_size=20", "get", True),
        ("name=ionic_conductivity", "get", True),
        ("name=ionic_conductivity&page=2", "get", True),
        ("name=ionic_conductivity&temperature_min=", "get", True),  # a blank field of the filter form
        ("name=ionic_conductivity&temperature_min=85", "get", False),
        ("sort=value", "get", False),  # another order: the filter's selectivity picks the plan
        ("ordering=-temperature", "get", False),
        ("q=x", "get", False),
        ("", "post", False),
    ],
)
def test_which_requests_are_plan_safe(query: str, method: str, safe: bool) -> None:
    request = getattr(RequestFactory(), method)(f"/derived/?{query}")
    assert plan_safe(request, ["name"]) is safe


def _unmasked(content: bytes) -> bytes:
    """A page without its CSRF token, which is masked anew for every response."""
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", content)


def _request(client: Any, url: str) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    return response, _statements(ctx)


def _around(statements: list[str], table: str) -> None:
    """The SET comes before every read of ``table``, the RESET after all of them."""
    reads = [i for i, sql in enumerate(statements) if f'FROM "{table}"' in sql]
    assert reads, f"no read of {table}"
    assert statements.count(SET) == 1 and statements.count(RESET) == 1, statements
    assert statements.index(SET) < reads[0] and reads[-1] < statements.index(RESET)


@postgres_only
@pytest.mark.parametrize(
    ("url", "table", "safe"),
    [
        ("/derived/?name=ionic_conductivity", "measurements_derivedproperty", True),
        ("/derived/", "measurements_derivedproperty", True),
        ("/derived/?name=ionic_conductivity&temperature_max=25", "measurements_derivedproperty", False),
        ("/derived/?sort=value", "measurements_derivedproperty", False),
        ("/cells/", "cells_cell", True),
        ("/cells/?state=shorted", "cells_cell", False),
        ("/cells/{cell}/", "cells_cellcomponent", True),  # with the provenance walk
        ("/api/v1/derived-properties/?name=ionic_conductivity", "measurements_derivedproperty", True),
        ("/api/v1/derived-properties/?cell={cell}", "measurements_derivedproperty", False),
        ("/api/v1/derived-properties/{derived}/", "measurements_derivedproperty", False),  # not opted in
    ],
)
def test_views_that_opt_in(
    world: Any, researcher: Any, token_client: Any, settings: Any, url: str, table: str, safe: bool
) -> None:  # noqa: E501
    url = url.format(cell=world.cell.pk, derived=world.derived.pk)
    if url.startswith("/api/"):
        client = token_client(researcher)
    else:
        client = Client()
        client.force_login(researcher)
    settings.GENERIC_QUERY_PLANS = False
    _request(client, url)  # the first request of a token notes its use: not compared
    plain, plain_statements = _request(client, url)
    assert SET not in plain_statements
    settings.GENERIC_QUERY_PLANS = True
    response, statements = _request(client, url)
    if safe:
        _around(statements, table)
    else:
        assert SET not in statements and RESET not in statements
    # the same answer, and the same reads
    assert _unmasked(response.content) == _unmasked(plain.content)
    assert [s for s in statements if s not in (SET, RESET)] == plain_statements
    assert _mode() == "auto"
