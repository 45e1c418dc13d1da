"""Every list endpoint and list page runs the same number of SQL queries with 3 rows as with 30.

The cases are discovered from the URL conf: every API route whose GET action is ``list`` and every page whose
URL name ends in ``-list`` or ``-tree`` (plus the dashboards in ``EXTRA_PAGES``). A discovered URL without an entry
in ``CASES`` fails ``test_every_list_url_has_a_query_count_case``: add the entry (or a skip with a written reason).

The rows come from the large-lab generator at a tiny size (``Counts.uniform(3)``, then 27 more under another
tag), owned by the requesting researcher's team, so that every list in every app grows at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from lims.management.commands.generate_lab import Counts, generate_lab

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

SMALL, LARGE = 3, 30
EXTRA_PAGES = ("home",)  # pages that aggregate many tables without a "-list" name


@dataclass(frozen=True)
class Case:
    """How to grow the rows one list shows. ``seed(n, team, user)`` adds n rows the generator does not make."""

    seed: Callable[[int, Any, Any], None] | None = None
    skip: str = ""
    grows: bool = True  # the API response holds more results with 30 rows than with 3


def _seed_teams(n: int, team: Any, user: Any) -> None:
    from lims.models import Membership, Team

    start = Team.objects.count()
    for i in range(n):
        extra = Team.objects.create(name=f"query-count team {start + i}", slug=f"qc-team-{start + i}")
        Membership.objects.create(user=user, team=extra, role="viewer")


def _seed_tokens(n: int, team: Any, user: Any) -> None:
    from lims.models import ApiToken

    for i in range(n):
        ApiToken.issue(user=user, name=f"script {i}")


def _seed_series(n: int, team: Any, user: Any) -> None:
    from measurements.models import Measurement, MeasurementSeries, SeriesMember

    measurements = list(Measurement.objects.filter(team=team).order_by("-id")[:3])
    start = MeasurementSeries.objects.count()
    for i in range(n):
        series = MeasurementSeries.objects.create(team=team, name=f"Arrhenius {start + i}", kind="arrhenius")
        for order, m in enumerate(measurements):
            SeriesMember.objects.create(series=series, measurement=m, order=order)


def _make_manager(n: int, team: Any, user: Any) -> None:
    """The audit trail is for managers: the requesting researcher becomes the team's manager."""
    from lims.models import Membership

    Membership.objects.filter(user=user, team=team).update(role="manager")


CASES: dict[str, Case] = {
    # ---- API (router "list" actions)
    "team-list": Case(seed=_seed_teams),
    "token-list": Case(seed=_seed_tokens),
    "chemical-list": Case(),
    "supplier-list": Case(),
    "location-list": Case(),
    "lot-list": Case(),
    "stock-transaction-list": Case(),
    "recipe-list": Case(),
    "recipe-version-list": Case(),
    "recipe-component-list": Case(),
    "process-step-list": Case(),
    "batch-list": Case(),
    "mould-list": Case(),
    "membrane-list": Case(),
    "pellet-list": Case(),
    "electrode-list": Case(),
    "cell-list": Case(),
    "upload-list": Case(),
    "instrument-list": Case(),
    "measurement-list": Case(),
    "derived-property-list": Case(),
    "measurement-series-list": Case(seed=_seed_series),
    # ---- pages
    "home": Case(),
    "audit-list": Case(seed=_make_manager),
    "formulations:lot-list": Case(),
    "formulations:chemical-list": Case(),
    "formulations:supplier-list": Case(),
    "formulations:location-tree": Case(),
    "formulations:recipe-list": Case(),
    "formulations:batch-list": Case(),
    "formulations:mould-list": Case(),
    "formulations:membrane-list": Case(),
    "formulations:pellet-list": Case(),
    "formulations:electrode-list": Case(),
    "cells:cell-list": Case(),
    "measurements:upload-list": Case(),
    "measurements:measurement-list": Case(),
    "measurements:derived-list": Case(),
    "measurements:series-list": Case(seed=_seed_series),
}


def _walk(patterns: list[Any], namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, p.namespace or namespace)
        elif isinstance(p, URLPattern) and p.name:
            yield (f"{namespace}:{p.name}" if namespace else p.name), p


def discovered_list_urls() -> dict[str, str]:
    """URL name -> "api" or "page", for every list endpoint and list page in the URL conf."""
    found: dict[str, str] = {}
    for name, pattern in _walk(get_resolver().url_patterns):
        if name.startswith("admin:"):
            continue
        actions = getattr(pattern.callback, "actions", None)
        if actions is not None:
            if actions.get("get") == "list":
                found[name] = "api"
        elif name.rsplit(":", 1)[-1].endswith(("-list", "-tree")) or name in EXTRA_PAGES:
            if not pattern.pattern.regex.groupindex:  # no path parameters
                found[name] = "page"
    return found


DISCOVERED = discovered_list_urls()


def test_every_list_url_has_a_query_count_case() -> None:
    missing = sorted(set(DISCOVERED) - set(CASES))
    assert not missing, (
        f"list endpoints/pages without a query-count case: {missing}; add them to CASES in {__file__} "
        "(with a seed function if the generator does not make their rows, or a skip with a written reason)"
    )


def test_every_case_names_a_url_that_exists() -> None:
    stale = sorted(set(CASES) - set(DISCOVERED))
    assert not stale, f"CASES names URLs that no longer exist: {stale}"


def _grow(n: int, tag: str, team: Any, user: Any, case: Case) -> None:
    generate_lab(Counts.uniform(n), seed=len(tag) + n, tag=tag, teams=[team], members=[user])
    if case.seed is not None:
        case.seed(n, team, user)


def _measure(client: Client, url: str, kind: str) -> tuple[int, list[str], int | None]:
    client.get(url)  # warm per-process caches (content types, permissions) outside the count
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, HTTP_ACCEPT="application/json" if kind == "api" else "text/html")
    assert response.status_code == 200, f"{url}: {response.status_code} {response.content[:300]!r}"
    results = None
    if kind == "api":
        body = response.json()
        results = len(body["results"]) if isinstance(body, dict) and "results" in body else len(body)
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries], results


@pytest.mark.parametrize("name", sorted(DISCOVERED))
def test_a_list_runs_as_many_queries_with_30_rows_as_with_3(name: str, team, researcher) -> None:  # type: ignore[no-untyped-def]
    """3 rows then 30 rows of everything (3 + 27 from a second generator run): the count must not change."""
    case = CASES.get(name)
    if case is None:
        pytest.fail(f"{name} has no query-count case (see test_every_list_url_has_a_query_count_case)")
    if case.skip:
        pytest.skip(case.skip)
    kind = DISCOVERED[name]
    url = reverse(name)
    client = Client()
    client.force_login(researcher)
    _grow(SMALL, "a", team, researcher, case)
    small, small_sql, small_results = _measure(client, url, kind)
    _grow(LARGE - SMALL, "b", team, researcher, case)
    large, large_sql, large_results = _measure(client, url, kind)
    if large != small:
        extra = "\n".join(large_sql[: max(0, min(len(large_sql), 12))])
        pytest.fail(f"{url}: {small} queries with {SMALL} rows but {large} with {LARGE}; queries:\n{extra}")
    if kind == "api" and case.grows:
        assert large_results is not None and small_results is not None
        assert large_results > small_results, (
            f"{url} did not show more rows ({small_results} -> {large_results})"
        )
