"""The inventory API: CRUD of chemicals, suppliers, locations and lots; the stock actions and their 409 refusals;
permissions; filters; the read-only ledger; and a query count that does not grow with the number of lots."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from formulations.models import Chemical, LotStatus, StockLot, StockTransaction
from formulations.services import inventory as services
from formulations.tests.test_inventory_fixtures import *  # noqa: F403  (fixtures)

pytestmark = pytest.mark.django_db

LOTS = "/api/v1/lots/"


def _lot(chemical, user, quantity="25 g", **kw):
    return services.receive_lot(chemical=chemical, quantity=quantity, actor=user, **kw)


# --------------------------------------------------------------------------------------------- permissions


def test_anonymous_requests_are_refused(api):
    for url in ("/api/v1/chemicals/", LOTS, "/api/v1/stock-transactions/", "/api/v1/locations/"):
        assert api().get(url).status_code in (401, 403)


def test_a_viewer_reads_the_inventory_but_cannot_consume_or_create(api, viewer, lifsi, researcher):
    lot = _lot(lifsi, researcher)
    client = api(viewer)
    assert client.get(f"{LOTS}{lot.pk}/").status_code == 200
    response = client.post(f"{LOTS}{lot.pk}/consume/", {"amount": "1 g"}, format="json")
    assert response.status_code == 403
    assert client.post("/api/v1/chemicals/", {"name": "X"}, format="json").status_code == 403
    lot.refresh_from_db()
    assert lot.quantity_on_hand == 25.0


def test_the_inventory_is_shared_so_another_teams_researcher_sees_and_uses_the_same_lots(
    api, outsider, lifsi, researcher
):
    """Chemicals, suppliers, locations and lots are shared inventory (lims/permissions.py): no team scoping."""
    lot = _lot(lifsi, researcher)
    client = api(outsider)
    assert client.get(f"{LOTS}{lot.pk}/").json()["code"] == lot.code
    assert client.post(f"{LOTS}{lot.pk}/consume/", {"amount": "1 g"}, format="json").status_code == 201


def test_an_instrument_token_cannot_touch_the_inventory(token_client, researcher, lifsi):
    lot = _lot(lifsi, researcher)
    client = token_client(researcher, scope="instrument")
    assert client.get(LOTS).status_code == 403
    assert client.post(f"{LOTS}{lot.pk}/consume/", {"amount": "1 g"}, format="json").status_code == 403


# --------------------------------------------------------------------------------------------- chemicals


def test_a_chemical_is_created_with_synonyms_units_and_a_normalised_cas_number(api, researcher):
    body = {
        "name": "Tetraethylene glycol dimethyl ether",
        "abbreviation": "G4",
        "synonyms": ["TEGDME", "tetraglyme"],
        "cas_number": "143248",
        "role": "solvent",
        "molar_mass": "222.28 g/mol",
        "density": "1.009 g/cm^3",
    }
    response = api(researcher).post("/api/v1/chemicals/", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["cas_number"] == "143-24-8"
    assert data["density"] == {"magnitude": pytest.approx(1.009), "unit": "g/mL"}
    assert sorted(data["synonyms"]) == ["TEGDME", "tetraglyme"]
    found = api(researcher).get("/api/v1/chemicals/", {"q": "tegdme"}).json()["results"]
    assert [c["name"] for c in found] == ["Tetraethylene glycol dimethyl ether"]


def test_a_wrong_cas_number_and_a_wrong_dimension_are_refused_field_by_field(api, researcher):
    body = {"name": "G4", "cas_number": "143-24-9", "density": "5 mL"}
    response = api(researcher).post("/api/v1/chemicals/", body, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "check digit should be 8" in fields["cas_number"][0]
    assert fields["density"] == ["expected a density, got a volume: 5 mL"]
    assert not Chemical.objects.exists()


def test_deleting_a_chemical_that_has_lots_answers_409(api, researcher, lifsi):
    _lot(lifsi, researcher)
    response = api(researcher).delete(f"/api/v1/chemicals/{lifsi.pk}/")
    assert response.status_code == 409
    assert "cannot be deleted" in response.json()["error"]["message"]


def test_suppliers_and_locations_have_crud_and_a_location_lists_what_is_inside(api, researcher, shelf, lifsi):
    client = api(researcher)
    supplier = client.post("/api/v1/suppliers/", {"name": "Macklin"}, format="json").json()
    assert (
        client.patch(f"/api/v1/suppliers/{supplier['id']}/", {"contact": "sales"}, format="json").status_code
        == 200
    )
    assert client.delete(f"/api/v1/suppliers/{supplier['id']}/").status_code == 204
    box = shelf.parent
    _lot(lifsi, researcher, location=shelf)
    lots = client.get(f"/api/v1/locations/{box.pk}/lots/").json()["results"]
    assert [lot["location_path"] for lot in lots] == ["Building A > Lab 101 > Glovebox 1 > Shelf 1"]
    assert client.delete(f"/api/v1/locations/{box.pk}/").status_code == 409


# --------------------------------------------------------------------------------------------- lots and actions


def test_receiving_a_lot_through_the_api_writes_its_first_ledger_row(api, researcher, lifsi, aladdin, shelf):
    body = {
        "chemical": lifsi.pk,
        "quantity": "25 g",
        "supplier": aladdin.pk,
        "location": shelf.pk,
        "purity": "99.5 %",
        "water_content": "20 ppm",
        "code": "l-abc234",
    }
    response = api(researcher).post(LOTS, body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["code"], data["quantity_on_hand"], data["purity"]["magnitude"]) == (
        "L-ABC234",
        {"magnitude": 25.0, "unit": "g"},
        pytest.approx(0.995),
    )
    assert StockTransaction.objects.get(lot_id=data["id"]).kind == "receive"


def test_receiving_a_temperature_is_refused_with_the_unit_message(api, researcher, lifsi):
    response = api(researcher).post(LOTS, {"chemical": lifsi.pk, "quantity": "25 degC"}, format="json")
    assert response.status_code == 400
    assert "expected a mass, a volume or an amount of substance" in response.json()["error"]["message"]


def test_consuming_through_the_api_returns_the_ledger_row_and_converts_volumes(api, researcher, tetraglyme):
    """100 g of G4, 5 mL asked: 5 x 1.009 = 5.045 g taken, 94.955 g left."""
    lot = _lot(tetraglyme, researcher, "100 g")
    response = api(researcher).post(
        f"{LOTS}{lot.pk}/consume/", {"amount": "5 mL", "purpose": "PMA precursor"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["transaction"]["quantity"] == pytest.approx(-5.045)
    assert body["transaction"]["entered_as"] == "5 mL"
    assert body["lot"]["quantity_on_hand"]["magnitude"] == pytest.approx(94.955)


def test_refused_stock_movements_answer_409_with_the_reason(api, researcher, lifsi):
    lot = _lot(lifsi, researcher, "5 g")
    client = api(researcher)
    response = client.post(f"{LOTS}{lot.pk}/consume/", {"amount": "6 g"}, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["status"] == 409
    assert "6 g requested, 5 g on hand" in error["message"]
    client.post(f"{LOTS}{lot.pk}/dispose/", {"reason": "contaminated"}, format="json")
    for action, body in (
        ("consume", {"amount": "1 g"}),
        ("dispose", {"reason": "x"}),
        ("return", {"amount": "1 g"}),
    ):
        response = client.post(f"{LOTS}{lot.pk}/{action}/", body, format="json")
        assert response.status_code == 409, action
        assert "disposed" in response.json()["error"]["message"]


def test_a_volume_of_a_chemical_without_density_is_refused_with_400(api, researcher, lifsi):
    lot = _lot(lifsi, researcher)
    response = api(researcher).post(f"{LOTS}{lot.pk}/consume/", {"amount": "5 mL"}, format="json")
    assert response.status_code == 400
    assert "has no density recorded" in response.json()["error"]["message"]


def test_an_expired_lot_is_refused_with_409_unless_a_manager_overrides_with_a_reason(
    api, researcher, manager, lifsi
):
    today = timezone.localdate()
    lot = _lot(
        lifsi, researcher, received_on=today - timedelta(days=90), expires_on=today - timedelta(days=1)
    )
    url = f"{LOTS}{lot.pk}/consume/"
    refused = api(researcher).post(url, {"amount": "1 g"}, format="json")
    assert refused.status_code == 409
    assert "needs a manager and a reason" in refused.json()["error"]["message"]
    not_manager = api(researcher).post(url, {"amount": "1 g", "override_reason": "dry"}, format="json")
    assert not_manager.status_code == 409
    allowed = api(manager).post(url, {"amount": "1 g", "override_reason": "KF 9 ppm"}, format="json")
    assert allowed.status_code == 201
    assert allowed.json()["transaction"]["override_by_name"] == manager.username
    assert "override: KF 9 ppm" in allowed.json()["transaction"]["reason"]


def test_adjust_return_quarantine_and_release_through_the_api(api, researcher, manager, lifsi):
    lot = _lot(lifsi, researcher, "10 g")
    client = api(researcher)
    assert (
        client.post(
            f"{LOTS}{lot.pk}/adjust/", {"counted": "9.5 g", "reason": "count"}, format="json"
        ).status_code
        == 201
    )
    assert client.post(f"{LOTS}{lot.pk}/return/", {"amount": "0.5 g"}, format="json").status_code == 201
    assert (
        client.post(f"{LOTS}{lot.pk}/quarantine/", {"reason": "odd colour"}, format="json").json()["status"]
        == "quarantine"
    )
    assert client.post(f"{LOTS}{lot.pk}/release/", {"reason": "ok"}, format="json").status_code == 409
    assert (
        api(manager).post(f"{LOTS}{lot.pk}/release/", {"reason": "KF ok"}, format="json").json()["status"]
        == "available"
    )
    lot.refresh_from_db()
    assert lot.quantity_on_hand == pytest.approx(10.0)


def test_a_lot_cannot_be_edited_into_a_new_quantity_or_deleted(api, researcher, lifsi, shelf):
    lot = _lot(lifsi, researcher, "10 g")
    client = api(researcher)
    response = client.patch(f"{LOTS}{lot.pk}/", {"location": shelf.pk, "quantity_on_hand": 99}, format="json")
    assert response.status_code == 200
    assert response.json()["quantity_on_hand"]["magnitude"] == 10.0
    assert response.json()["location"] == shelf.pk
    assert client.delete(f"{LOTS}{lot.pk}/").status_code == 405


def test_a_lot_is_found_by_its_scanned_code(api, researcher, lifsi):
    lot = _lot(lifsi, researcher, code="L-SCAN42")
    assert api(researcher).get(f"{LOTS}code/l-scan42/").json()["id"] == lot.pk
    missing = api(researcher).get(f"{LOTS}code/L-NOPE/")
    assert missing.status_code == 404
    assert "L-NOPE" in missing.json()["error"]["message"]


def test_the_convert_preview_tells_the_amount_in_the_lot_unit(api, researcher, tetraglyme, lifsi):
    lot = _lot(tetraglyme, researcher, "100 g")
    assert api(researcher).get(f"{LOTS}{lot.pk}/convert/", {"amount": "10 mL"}).json() == {
        "ok": True,
        "magnitude": pytest.approx(10.09),
        "unit": "g",
        "on_hand": 100.0,
    }
    salt = _lot(lifsi, researcher)
    assert not api(researcher).get(f"{LOTS}{salt.pk}/convert/", {"amount": "10 mL"}).json()["ok"]


def test_lots_filter_by_chemical_location_status_expiry_and_code(api, researcher, lifsi, tetraglyme, shelf):
    today = timezone.localdate()
    a = _lot(lifsi, researcher, location=shelf, expires_on=today + timedelta(days=10), code="L-AAA")
    b = _lot(tetraglyme, researcher, "50 mL", expires_on=today + timedelta(days=400), code="L-BBB")
    c = _lot(lifsi, researcher, status=LotStatus.QUARANTINE, code="L-CCC")
    client = api(researcher)

    def codes(**params):
        return sorted(x["code"] for x in client.get(LOTS, params).json()["results"])

    assert codes(chemical=lifsi.pk) == [a.code, c.code]
    assert codes(location=shelf.parent.parent.pk) == [a.code]  # the room holds the shelf
    assert codes(status="quarantine") == [c.code]
    assert codes(expires_before=(today + timedelta(days=30)).isoformat()) == [a.code]
    assert codes(code="l-bbb") == [b.code]
    assert codes(q="tetraglyme") == [b.code]


# --------------------------------------------------------------------------------------------- ledger


def test_the_ledger_is_read_only_and_cursor_paginated_newest_first(api, researcher, lifsi):
    lot = _lot(lifsi, researcher, "25 g")
    for _ in range(3):
        services.consume_from_lot(lot=lot, amount="1 g", actor=researcher)
    client = api(researcher)
    page = client.get("/api/v1/stock-transactions/", {"lot": lot.pk, "page_size": 2}).json()
    assert [row["balance_after"] for row in page["results"]] == [22.0, 23.0]
    assert "cursor=" in page["next"]
    rest = client.get(page["next"]).json()
    assert [row["kind"] for row in rest["results"]] == ["consume", "receive"]
    assert client.post("/api/v1/stock-transactions/", {}, format="json").status_code == 405
    per_lot = client.get(f"{LOTS}{lot.pk}/transactions/").json()["results"]
    assert len(per_lot) == 4


# --------------------------------------------------------------------------------------------- bulk receive


def test_bulk_receive_through_the_api_is_all_or_nothing_with_row_errors(api, researcher, lifsi):
    client = api(researcher)
    bad = SimpleUploadedFile("d.csv", b"chemical,quantity\nLiFSI,25 g\nLiFSI,lots\n", content_type="text/csv")
    response = client.post(f"{LOTS}bulk-receive/", {"file": bad}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["rows"] == [
        {
            "row": 3,
            "column": "quantity",
            "message": "unknown unit in 'lots': 'lots' is not defined in the unit registry",
        }
    ]
    assert not StockLot.objects.exists()
    good = SimpleUploadedFile("d.csv", b"chemical,quantity\nLiFSI,25 g\nLiFSI,5 g\n", content_type="text/csv")
    response = client.post(f"{LOTS}bulk-receive/", {"file": good}, format="multipart")
    assert response.status_code == 201
    assert len(response.json()["received"]) == 2


# --------------------------------------------------------------------------------------------- audit, queries


def test_a_consume_through_the_api_is_audited_with_the_actor(api, token_client, researcher, lifsi):
    lot = _lot(lifsi, researcher)
    api(researcher).post(f"{LOTS}{lot.pk}/consume/", {"amount": "1 g"}, format="json")
    record = lot.history.latest()
    assert (record.history_user, record.history_via) == (researcher, "api-session")
    assert StockTransaction.objects.latest("id").actor == researcher
    client = token_client(researcher)
    client.post(f"{LOTS}{lot.pk}/consume/", {"amount": "1 g"}, format="json")
    record = lot.history.latest()
    assert record.history_user == researcher
    assert record.history_via == f"api-token:{client.lims_token.key_prefix}"
    tx = StockTransaction.objects.latest("id")
    assert tx.history.latest().history_user == researcher


def test_the_lot_list_query_count_does_not_grow_with_the_number_of_lots(
    api, researcher, lifsi, tetraglyme, shelf, aladdin
):
    client = api(researcher)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(LOTS).status_code == 200
        return len(ctx.captured_queries)

    for _ in range(2):
        _lot(lifsi, researcher, location=shelf, supplier=aladdin)
    few = count_queries()
    for i in range(20):
        _lot(tetraglyme if i % 2 else lifsi, researcher, location=shelf, supplier=aladdin)
    assert count_queries() == few
    assert few <= 3


def test_the_chemical_and_ledger_lists_query_counts_do_not_grow(
    api, researcher, lifsi, tetraglyme, nmma, django_assert_max_num_queries
):
    for chem in (lifsi, tetraglyme, nmma):
        lot = _lot(chem, researcher, "50 g")
        for _ in range(5):
            services.consume_from_lot(lot=lot, amount="1 g", actor=researcher)
    client = api(researcher)
    with django_assert_max_num_queries(4):
        assert len(client.get("/api/v1/chemicals/").json()["results"]) == 3
    with django_assert_max_num_queries(3):
        assert len(client.get("/api/v1/stock-transactions/").json()["results"]) == 18
