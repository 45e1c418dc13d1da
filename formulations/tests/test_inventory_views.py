"""The inventory pages, the dashboard panels, the global search, the admin and the demo data."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from formulations import demo
from formulations.models import Chemical, LotStatus, StockLot, StockTransaction
from formulations.services import inventory as services
from formulations.tests.test_inventory_fixtures import *  # noqa: F403  (fixtures)

pytestmark = pytest.mark.django_db


def _lot(chemical, user, quantity="25 g", **kw):
    return services.receive_lot(chemical=chemical, quantity=quantity, actor=user, **kw)


@pytest.fixture
def browser(client, researcher):
    client.force_login(researcher)
    return client


# --------------------------------------------------------------------------------------------- lots


def test_inventory_pages_need_a_login(client):
    response = client.get("/inventory/lots/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_every_inventory_page_renders_with_a_strict_csp(browser, lifsi, shelf, aladdin, researcher):
    lot = _lot(lifsi, researcher, location=shelf, supplier=aladdin)
    pages = [
        "/inventory/lots/",
        "/inventory/lots/?status=available&q=LiFSI",
        f"/inventory/lots/{lot.pk}/",
        f"/inventory/lots/{lot.pk}/label/",
        f"/inventory/lots/{lot.pk}/consume/",
        f"/inventory/lots/{lot.pk}/adjust/",
        f"/inventory/lots/{lot.pk}/return/",
        f"/inventory/lots/{lot.pk}/dispose/",
        f"/inventory/lots/{lot.pk}/edit/",
        "/inventory/lots/receive/",
        "/inventory/lots/bulk-receive/",
        "/inventory/lots/code/",
        "/inventory/chemicals/",
        f"/inventory/chemicals/{lifsi.pk}/",
        "/inventory/chemicals/new/",
        f"/inventory/chemicals/{lifsi.pk}/edit/",
        "/inventory/suppliers/",
        "/inventory/suppliers/new/",
        "/inventory/locations/",
        f"/inventory/locations/{shelf.pk}/",
        "/inventory/locations/new/",
    ]
    for url in pages:
        response = browser.get(url)
        assert response.status_code == 200, url
        assert "script-src 'self'" in response["Content-Security-Policy"]
        assert b"<script>" not in response.content, url  # no inline script


def test_the_lot_page_shows_its_ledger(browser, tetraglyme, researcher):
    lot = _lot(tetraglyme, researcher, "100 g")
    services.consume_from_lot(lot=lot, amount="5 mL", actor=researcher, purpose="PMA precursor")
    html = browser.get(f"/inventory/lots/{lot.pk}/").content.decode()
    assert "Ledger" in html
    assert "5 mL" in html and "94.955" in html and "PMA precursor" in html


def test_a_scanned_code_opens_the_lot_and_an_unknown_code_says_so(browser, lifsi, researcher):
    lot = _lot(lifsi, researcher, code="L-SCAN7")
    response = browser.get("/inventory/lots/code/l-scan7/")
    assert (response.status_code, response["Location"]) == (302, f"/inventory/lots/{lot.pk}/")
    assert browser.get("/inventory/lots/code/", {"code": " L-SCAN7 "}).status_code == 302
    missing = browser.get("/inventory/lots/code/L-NONE/")
    assert missing.status_code == 404
    assert b"No lot has the code L-NONE" in missing.content


def test_the_label_carries_name_code_dates_hazards_and_an_inline_qr_code(browser, lifsi, researcher):
    today = timezone.localdate()
    lot = _lot(lifsi, researcher, code="L-LABEL2", expires_on=today + timedelta(days=200))
    html = browser.get(f"/inventory/lots/{lot.pk}/label/").content.decode()
    assert "<svg" in html and "QR code of L-LABEL2" in html
    assert "Lithium bis(fluorosulfonyl)imide" in html and "L-LABEL2" in html
    assert (today + timedelta(days=200)).isoformat() in html
    assert "MOISTURE SENSITIVE" in html and "STORE IN GLOVEBOX" in html


def test_the_lot_list_page_query_count_does_not_grow_with_the_number_of_lots(
    browser, lifsi, tetraglyme, shelf, aladdin, researcher
):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert browser.get("/inventory/lots/").status_code == 200
        return len(ctx.captured_queries)

    _lot(lifsi, researcher, location=shelf, supplier=aladdin)
    few = count()
    for i in range(25):
        _lot(tetraglyme if i % 2 else lifsi, researcher, location=shelf, supplier=aladdin)
    many = count()
    assert many == few, "a query per row crept into the lot list"


def test_the_chemical_list_page_query_count_does_not_grow(
    browser, lifsi, researcher, django_assert_max_num_queries
):
    for i in range(15):
        services.create_chemical(actor=researcher, name=f"Chemical {i}", synonyms=[f"C{i}", f"chem-{i}"])
    with django_assert_max_num_queries(10):
        assert browser.get("/inventory/chemicals/").status_code == 200


# --------------------------------------------------------------------------------------------- forms


def test_the_receive_form_creates_a_lot_and_shows_unit_errors_next_to_the_field(browser, tetraglyme, shelf):
    bad = browser.post(
        "/inventory/lots/receive/",
        {"chemical": tetraglyme.pk, "quantity": "5 degC", "container_count": 1, "status": "available"},
    )
    assert bad.status_code == 200
    assert "expected a mass, a volume or an amount of substance" in bad.content.decode()
    assert not StockLot.objects.exists()
    ok = browser.post(
        "/inventory/lots/receive/",
        {
            "chemical": tetraglyme.pk,
            "quantity": "100 mL",
            "container_count": 1,
            "status": "available",
            "location": shelf.pk,
            "water_content": "15 ppm",
        },
    )
    lot = StockLot.objects.get()
    assert ok["Location"] == f"/inventory/lots/{lot.pk}/"
    assert (lot.quantity_on_hand, lot.quantity_unit, lot.water_content) == (100.0, "mL", pytest.approx(15.0))


def test_a_consume_through_the_form_is_audited_with_the_actor(browser, researcher, tetraglyme):
    lot = _lot(tetraglyme, researcher, "100 g")
    response = browser.post(f"/inventory/lots/{lot.pk}/consume/", {"amount": "5 mL", "purpose": "PMA"})
    assert response.status_code == 302
    tx = StockTransaction.objects.latest("id")
    assert (tx.actor, tx.quantity, tx.purpose) == (researcher, pytest.approx(-5.045), "PMA")
    record = lot.history.latest()
    assert (record.history_user, record.history_via) == (researcher, "web")


def test_consuming_too_much_through_the_form_shows_the_refusal_and_changes_nothing(
    browser, researcher, lifsi
):
    lot = _lot(lifsi, researcher, "5 g")
    response = browser.post(f"/inventory/lots/{lot.pk}/consume/", {"amount": "6 g"})
    assert response.status_code == 409
    assert "6 g requested, 5 g on hand" in response.content.decode()
    lot.refresh_from_db()
    assert lot.quantity_on_hand == 5.0


def test_a_viewer_cannot_open_or_post_the_write_forms(client, viewer, researcher, lifsi):
    lot = _lot(lifsi, researcher)
    client.force_login(viewer)
    assert client.get("/inventory/lots/").status_code == 200
    for url in (
        f"/inventory/lots/{lot.pk}/consume/",
        "/inventory/lots/receive/",
        "/inventory/chemicals/new/",
    ):
        assert client.get(url).status_code == 403
    assert client.post(f"/inventory/lots/{lot.pk}/consume/", {"amount": "1 g"}).status_code == 403
    lot.refresh_from_db()
    assert lot.quantity_on_hand == 25.0


def test_a_manager_uses_a_quarantined_lot_through_the_form_with_a_reason(client, manager, researcher, lifsi):
    lot = _lot(lifsi, researcher, status=LotStatus.QUARANTINE)
    client.force_login(researcher)
    refused = client.post(f"/inventory/lots/{lot.pk}/consume/", {"amount": "1 g"})
    assert refused.status_code == 409
    assert "needs a manager and a reason" in refused.content.decode()
    client.force_login(manager)
    assert (
        client.post(
            f"/inventory/lots/{lot.pk}/consume/", {"amount": "1 g", "override_reason": "KF 10 ppm"}
        ).status_code
        == 302
    )
    assert StockTransaction.objects.latest("id").override_by == manager


def test_the_dispose_form_asks_for_confirmation(browser, researcher, lifsi):
    lot = _lot(lifsi, researcher)
    assert b"data-confirm=" in browser.get(f"/inventory/lots/{lot.pk}/dispose/").content
    assert browser.post(f"/inventory/lots/{lot.pk}/dispose/", {"reason": "wet"}).status_code == 302
    lot.refresh_from_db()
    assert lot.status == LotStatus.DISPOSED


def test_the_bulk_receive_page_lists_problems_per_row_and_receives_nothing(browser, lifsi):
    bad = SimpleUploadedFile("d.csv", b"chemical,quantity,expires_on\nLiFSI,25 g,\nnothing,1 g,2026-02-30\n")
    response = browser.post("/inventory/lots/bulk-receive/", {"file": bad})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was received" in html
    assert "unknown chemical" in html and "expected a date as YYYY-MM-DD" in html
    assert not StockLot.objects.exists()
    good = SimpleUploadedFile("d.csv", b"chemical,quantity\nLiFSI,25 g\nLiFSI,10 g\n")
    assert browser.post("/inventory/lots/bulk-receive/", {"file": good}).status_code == 200
    assert StockLot.objects.count() == 2


def test_the_chemical_pages_search_synonyms_and_check_the_cas_number(browser, nmma, tetraglyme):
    html = browser.get("/inventory/chemicals/", {"q": "NMMA"}).content.decode()
    assert "N-Methylmethacrylamide" in html and "Tetraethylene" not in html
    response = browser.post(
        "/inventory/chemicals/new/",
        {"name": "Methacrylic acid", "cas_number": "79-41-5", "role": "monomer", "synonyms": "MAAc, MAA"},
    )
    assert response.status_code == 200
    assert "check digit should be 4" in response.content.decode()
    response = browser.post(
        "/inventory/chemicals/new/",
        {
            "name": "Methacrylic acid",
            "cas_number": "79-41-4",
            "role": "monomer",
            "synonyms": "MAAc, MAA",
            "density": "1.015 g/mL",
        },
    )
    chem = Chemical.objects.get(name="Methacrylic acid")
    assert response["Location"] == f"/inventory/chemicals/{chem.pk}/"
    assert sorted(s.name for s in chem.synonyms.all()) == ["MAA", "MAAc"]
    assert chem.density == pytest.approx(1.015)


def test_a_location_page_lists_what_is_stored_in_it_and_inside_it(browser, shelf, lifsi, researcher):
    _lot(lifsi, researcher, location=shelf, code="L-INBOX")
    room = shelf.parent.parent
    html = browser.get(f"/inventory/locations/{room.pk}/").content.decode()
    assert "L-INBOX" in html
    tree = browser.get("/inventory/locations/").content.decode()
    assert tree.index("Building A") < tree.index("Lab 101") < tree.index("Glovebox 1") < tree.index("Shelf 1")


# --------------------------------------------------------------------------------------------- dashboard, search


def test_the_dashboard_shows_expiring_expired_and_low_stock_items(browser, researcher, lifsi, settings):
    settings.LIMS_EXPIRY_WARNING_DAYS = 14
    today = timezone.localdate()
    _lot(lifsi, researcher, "4 g", code="L-SOON", expires_on=today + timedelta(days=10))
    _lot(lifsi, researcher, "2 g", code="L-LATER", expires_on=today + timedelta(days=40))
    _lot(
        lifsi,
        researcher,
        "3 g",
        code="L-OLD",
        received_on=today - timedelta(days=400),
        expires_on=today - timedelta(days=2),
    )
    html = browser.get("/").content.decode()
    assert "Lots expiring within 14 days" in html
    expiring = html[html.index("Lots expiring within 14 days") : html.index("Expired lots")]
    assert "L-SOON" in expiring and "L-LATER" not in expiring
    expired = html[html.index("Expired lots") : html.index("Low stock")]
    assert "L-OLD" in expired
    low = html[html.index("Low stock") :]
    assert "Lithium bis(fluorosulfonyl)imide" in low  # 4 + 2 = 6 g available < 10 g threshold
    assert "Receive a lot" in html


def test_the_global_search_finds_a_lot_by_code_and_chemicals_by_any_name(browser, researcher, nmma):
    lot = _lot(nmma, researcher, code="L-FIND9")
    assert browser.get("/search/", {"q": "l-find9"})["Location"] == f"/inventory/lots/{lot.pk}/"
    for text in ("NMMA", "N-methyl methacrylamide", "3887-02-3"):
        assert browser.get("/search/", {"q": text})["Location"] == f"/inventory/chemicals/{nmma.pk}/"


# --------------------------------------------------------------------------------------------- admin, demo


def test_the_admin_lists_every_inventory_model_with_its_history(client, staff_user, lifsi):
    lot = _lot(lifsi, staff_user)
    client.force_login(staff_user)
    for model in (
        "chemical",
        "chemicalsynonym",
        "supplier",
        "storagelocation",
        "stocklot",
        "stocktransaction",
    ):
        assert client.get(f"/admin/formulations/{model}/").status_code == 200, model
    assert client.get(f"/admin/formulations/stocklot/{lot.pk}/history/").status_code == 200
    assert client.get("/admin/formulations/stocktransaction/add/").status_code == 403


def test_the_demo_loads_the_papers_inventory_once(staff_user):
    out = io.StringIO()
    demo.load(user=staff_user, team=None, stdout=out)
    demo.load(user=staff_user, team=None, stdout=out)
    assert "0 chemical(s), 0 lot(s) created" in out.getvalue()
    lfp = Chemical.objects.get(abbreviation="LFP")
    assert (lfp.specific_capacity, lfp.molar_mass) == (170.0, 157.76)
    g4 = Chemical.objects.get(abbreviation="G4")
    assert (g4.molar_mass, g4.density, g4.cas_number) == (222.28, 1.009, "143-24-8")
    assert sorted(s.name for s in g4.synonyms.all()) == ["TEGDME", "tetraglyme"]
    from formulations.selectors_inventory import find_chemicals, ledger_sum

    for name in ("NMMA", "NMMAm", "N-methyl methacrylamide"):
        assert [c.abbreviation for c in find_chemicals(name)] == ["NMMAm"]
    assert [c.abbreviation for c in find_chemicals("MAAc")] == ["MAA"]
    assert Chemical.objects.get(abbreviation="LLZTO").theoretical_density == pytest.approx(5.45)
    nmp = StockLot.objects.get(chemical__abbreviation="NMP")
    assert nmp.water_content == pytest.approx(32.0)
    g4_lot = StockLot.objects.get(code="L-G4100A")
    assert g4_lot.quantity_on_hand == pytest.approx(95.0)  # 100 mL received, 5 mL drawn for the PMA precursor
    for lot in StockLot.objects.all():
        assert lot.quantity_on_hand == pytest.approx(ledger_sum(lot))
