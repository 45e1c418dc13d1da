"""Sortable list pages: ``?sort=key`` / ``?sort=-key`` over declared columns, kept across filters and pages."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from formulations.services import inventory
from formulations.tests.test_inventory_fixtures import *  # noqa: F403  (fixtures: lifsi)
from lims.listing import Sorting
from lims.templatetags.lims_ui import sig


def _sorting(query: str) -> Sorting:
    request = RequestFactory().get("/x/?" + query)
    return Sorting(request, {"code": "code", "on_hand": ("quantity_on_hand", "-code")}, "-code")


def test_a_declared_column_sorts_and_its_header_offers_the_reverse_order() -> None:
    s = _sorting("sort=on_hand&status=available&page=3")
    assert (s.key, s.descending) == ("on_hand", False)
    on_hand = s.header("on_hand", "On hand")
    assert on_hand.aria_sort == "ascending" and on_hand.url == "?status=available&sort=-on_hand"
    code = s.header("code", "Code")
    assert code.aria_sort == "none" and code.url == "?status=available&sort=code"
    assert s.query == "sort=on_hand&status=available"  # for the pager: filters and sort, not the page
    assert s.header(None, "Notes").url == ""  # not sortable


def test_an_unknown_sort_key_falls_back_to_the_default_and_cannot_reach_other_fields() -> None:
    s = _sorting("sort=-password")
    assert (s.key, s.descending) == ("code", True)


@pytest.mark.django_db
def test_the_lot_list_sorts_by_quantity_both_ways(client, lifsi, researcher) -> None:  # type: ignore[no-untyped-def]
    codes = [
        inventory.receive_lot(chemical=lifsi, quantity=q, actor=researcher).code
        for q in ("5 g", "50 g", "20 g")
    ]
    client.force_login(researcher)

    def order(sort: str) -> list[str]:
        html = client.get("/inventory/lots/", {"sort": sort}).content.decode()
        return sorted(codes, key=html.index)

    assert order("on_hand") == [codes[0], codes[2], codes[1]]
    assert order("-on_hand") == [codes[1], codes[2], codes[0]]
    html = client.get("/inventory/lots/", {"sort": "-on_hand"}).content.decode()
    assert 'aria-sort="descending"' in html and 'href="?sort=on_hand"' in html


def test_numbers_are_shown_to_significant_digits_in_plain_notation() -> None:
    assert [sig(v) for v in (0.25, 10000.4, 471.73, 4.9e-05, 1.2e-07, None)] == [
        "0.25",
        "10000",
        "471.7",
        "0.000049",
        "1.2e-07",
        "",
    ]
