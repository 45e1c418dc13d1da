"""The API's filters narrow lists only (lims/api/filters.py): one record is decided by team scoping alone."""

from __future__ import annotations

from typing import Any

import pytest

from formulations.services import inventory
from formulations.services import synthesis as recipes
from formulations.tests.test_inventory_fixtures import *  # noqa: F403  (fixtures)

pytestmark = pytest.mark.django_db


def test_filters_narrow_a_list_but_not_the_read_of_one_record(
    api: Any, team: Any, other_team: Any, researcher: Any, outsider: Any, lifsi: Any, tetraglyme: Any
) -> None:
    ours = recipes.create_recipe(team=team, name="LLZTO-PMA", actor=researcher)
    recipes.create_recipe(team=team, name="Plain PMA", actor=researcher)
    theirs = recipes.create_recipe(team=other_team, name="LLZTO-PEO", actor=outsider)
    client = api(researcher)

    listed = client.get("/api/v1/recipes/", {"q": "LLZTO"}).json()["results"]
    assert [row["id"] for row in listed] == [ours.pk]  # filtered, and scoped to the team
    assert client.get("/api/v1/recipes/", {"team": "not-a-team"}).status_code == 400

    # the same query strings on one record: the record its URL names
    for query in ({"q": "no such recipe"}, {"team": other_team.pk}, {"ordering": "-name"}):
        one = client.get(f"/api/v1/recipes/{ours.pk}/", query)
        assert one.status_code == 200 and one.json()["id"] == ours.pk, query
    # and scoping still decides who sees it, whatever the query string
    assert client.get(f"/api/v1/recipes/{theirs.pk}/").status_code == 404
    assert client.get(f"/api/v1/recipes/{theirs.pk}/", {"team": other_team.pk}).status_code == 404

    # lots are shared inventory: a filter on the list, none on one lot
    lot = inventory.receive_lot(chemical=lifsi, quantity="25 g", actor=researcher)
    inventory.receive_lot(chemical=tetraglyme, quantity="100 g", actor=researcher)
    lots = client.get("/api/v1/lots/", {"chemical": lifsi.pk}).json()["results"]
    assert [r["id"] for r in lots] == [lot.pk]
    assert client.get(f"/api/v1/lots/{lot.pk}/", {"chemical": tetraglyme.pk}).status_code == 200
