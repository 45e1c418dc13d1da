"""The API answers the same bytes with the compiled representation (lims/api/representation.py) as with DRF's own.

Every API list endpoint (discovered as in test_query_counts) is requested on a small generated lab, with the
compiled plans and without them; then the detail of up to four of its records (``<basename>-detail``), both ways.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from lims.api import representation
from lims.management.commands.generate_lab import Counts, generate_lab
from tests.test_query_counts import CASES, DISCOVERED

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

API_LISTS = sorted(name for name, kind in DISCOVERED.items() if kind == "api")


def _both_ways(client: Client, url: str) -> tuple[bytes, bytes, int]:
    representation.ENABLED = True
    try:
        fast = client.get(url, HTTP_ACCEPT="application/json")
        representation.ENABLED = False
        drf = client.get(url, HTTP_ACCEPT="application/json")
    finally:
        representation.ENABLED = True
    assert fast.status_code == drf.status_code
    return fast.content, drf.content, fast.status_code


def test_every_api_list_and_detail_answers_the_same_bytes(team: Any, researcher: Any) -> None:
    generate_lab(Counts.uniform(5), seed=11, tag="r", teams=[team], members=[researcher])
    for case in CASES.values():
        if case.seed is not None and not case.skip:
            case.seed(3, team, researcher)
    client = Client()
    client.force_login(researcher)
    compared = {"lists": 0, "details": 0, "rows": 0}
    for name in API_LISTS:
        url = reverse(name)
        fast, drf, status = _both_ways(client, url)
        assert status == 200, (url, fast[:300])
        assert fast == drf, f"{url}: compiled and DRF representations differ"
        compared["lists"] += 1
        body = client.get(url, HTTP_ACCEPT="application/json").json()
        rows = body["results"] if isinstance(body, dict) and "results" in body else body
        compared["rows"] += len(rows)
        detail = name.removesuffix("-list") + "-detail"
        for row in rows[:4]:
            if not isinstance(row, dict) or "id" not in row:
                continue
            try:
                one = reverse(detail, args=[row["id"]])
            except NoReverseMatch:
                break
            fast, drf, status = _both_ways(client, one)
            assert fast == drf, f"{one}: compiled and DRF representations differ"
            compared["details"] += status == 200
    # the lab gives every list rows to compare, and most lists a detail route
    assert compared["lists"] == len(API_LISTS) >= 20
    assert compared["rows"] >= 5 * len(API_LISTS)
    assert compared["details"] >= 40, compared


def _api_serializer_classes() -> list[type]:
    import lims.urls  # noqa: F401 - imports every API module

    def below(cls: type) -> list[type]:
        out: list[type] = []
        subs: list[type] = cls.__subclasses__()
        for sub in subs:
            out += [sub, *below(sub)]
        return out

    return sorted(set(below(representation.CompiledRepresentation)), key=lambda c: c.__qualname__)


def test_every_api_serializer_is_planned_once_per_class() -> None:
    """Each of the API's serializers gets a class plan (no per-request copy of its fields); a regression to the
    per-request plan would not change a byte, only the time, so it is checked here."""
    classes = _api_serializer_classes()
    assert len(classes) >= 30
    unplanned = [c.__qualname__ for c in classes if representation._build_class_plan(c) is None]
    assert unplanned == []


def test_a_serializer_that_chooses_its_fields_per_instance_is_planned_per_request() -> None:
    from rest_framework import serializers

    class Chooser(representation.CompiledRepresentation, serializers.Serializer):
        a = serializers.IntegerField()
        b = serializers.IntegerField()

        def __init__(self, *args: Any, only: str = "a", **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.fields.pop("b" if only == "a" else "a")

    assert representation._build_class_plan(Chooser) is None
    assert Chooser({"a": 1, "b": 2}, only="b").data == {"b": 2}
    assert Chooser(type("Row", (), {"a": 1, "b": 2})(), only="b").data == {"b": 2}


def test_a_field_that_needs_the_request_is_converted_with_the_requests_copy(researcher: Any) -> None:
    """A lot's certificate is printed as an absolute URL built from the request (DRF's FileField): the class plan
    converts it with a copy of the field bound to the request's serializer, the same bytes as DRF's."""
    from django.core.files.base import ContentFile

    from formulations.services import inventory

    salt = inventory.create_chemical(actor=researcher, name="LiFSI")
    lots = [inventory.receive_lot(chemical=salt, quantity=f"{g} g", actor=researcher) for g in (5, 6)]
    lots[0].certificate.save("coa.pdf", ContentFile(b"%PDF-1.4 certificate"))
    client = Client()
    client.force_login(researcher)
    for url in (reverse("lot-list"), reverse("lot-detail", args=[lots[0].pk])):
        fast, drf, status = _both_ways(client, url)
        assert status == 200
        assert fast == drf, url
        assert b'"certificate":"http://testserver/media/certificates/' in fast, fast[:400]
