"""The in-app audit pages: a record's history, a person's changes, the team's audit trail; who may see them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from formulations.models import Recipe, StockLot
from formulations.services import inventory
from formulations.services import synthesis as recipes
from formulations.tests.test_inventory_fixtures import *  # noqa: F403  (fixtures: lifsi, shelf, aladdin)
from lims import history
from lims.audit import acting_as

pytestmark = pytest.mark.django_db


def _lot(lifsi, user) -> StockLot:  # type: ignore[no-untyped-def]
    return inventory.receive_lot(chemical=lifsi, quantity="25 g", actor=user, water_content=50.0)


def _edit_lot_on_the_web(client, lot: StockLot, **changes: str) -> None:  # type: ignore[no-untyped-def]
    data = {
        "received_on": lot.received_on.isoformat(),
        "container_count": "1",
        "water_content": "50 ppm",
        "reason": "",
        **changes,
    }
    response = client.post(f"/inventory/lots/{lot.pk}/edit/", data)
    assert response.status_code == 302, response.content[:2000]


def test_every_audited_model_has_a_scope_rule() -> None:
    """Otherwise its history would silently be staff-only."""
    assert sorted(history.audited_models()) == sorted(history.SCOPE)


def test_a_manager_reads_a_lots_history_with_old_and_new_values_who_when_channel_and_reason(
    client, lifsi, researcher, manager
):  # type: ignore[no-untyped-def]
    lot = _lot(lifsi, researcher)
    client.force_login(researcher)
    _edit_lot_on_the_web(client, lot, water_content="120 ppm", reason="Karl Fischer titration repeated")
    client.force_login(manager)
    html = client.get(f"/history/formulations.stocklot/{lot.pk}/").content.decode()
    assert f"History of stock lot {lot.code}" in html
    assert "Karl Fischer titration repeated" in html
    # the field's label with the unit of the stored number, the numbers bare
    assert '<span class="field">Water content (ppm)</span>: <del>50</del> → <ins>120</ins>' in html
    assert "web page" in html  # the channel of the edit
    assert researcher.username in html  # who
    assert "ledger entry" in html and "receive" in html  # the lot's ledger is part of its history
    assert f'href="/inventory/lots/{lot.pk}/"' in html  # back to the record


def test_the_detail_page_links_its_history_for_managers_only(client, lifsi, researcher, manager):  # type: ignore[no-untyped-def]
    lot = _lot(lifsi, researcher)
    link = f'href="/history/formulations.stocklot/{lot.pk}/"'
    client.force_login(manager)
    assert link in client.get(f"/inventory/lots/{lot.pk}/").content.decode()
    client.force_login(researcher)
    assert link not in client.get(f"/inventory/lots/{lot.pk}/").content.decode()


def test_a_team_record_is_audited_by_its_managers_refused_to_its_researchers_and_hidden_from_others(
    client, team, researcher, manager, outsider, staff_user
):  # type: ignore[no-untyped-def]
    recipe = recipes.create_recipe(team=team, name="LLZTO-PMA", actor=researcher)
    with acting_as(researcher, reason="clearer name", via="web"):
        recipes.update_recipe(recipe=recipe, actor=researcher, name="LLZTO-PMA composite")
    url = f"/history/formulations.recipe/{recipe.pk}/"
    client.force_login(manager)
    html = client.get(url).content.decode()
    assert "<del>LLZTO-PMA</del> → <ins>LLZTO-PMA composite</ins>" in html and "clearer name" in html
    assert "version" in html  # version 1, a part of the recipe
    client.force_login(staff_user)
    assert client.get(url).status_code == 200
    client.force_login(researcher)
    assert client.get(url).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.get("/history/formulations.recipe/999999/").status_code == 404
    assert client.get(f"/history/no.such_model/{recipe.pk}/").status_code == 404


def test_a_persons_page_shows_what_they_changed_in_the_records_the_manager_may_audit(
    client, team, other_team, lifsi, researcher, manager, outsider
):  # type: ignore[no-untyped-def]
    from lims.models import Membership

    Membership.objects.create(user=researcher, team=other_team, role="researcher")
    ours = recipes.create_recipe(team=team, name="Ours", actor=researcher)
    theirs = recipes.create_recipe(team=other_team, name="Theirs", actor=researcher)
    client.force_login(manager)
    html = client.get(f"/history/users/{researcher.pk}/").content.decode()
    assert f'href="/recipes/{ours.pk}/"' in html
    assert f'href="/recipes/{theirs.pk}/"' not in html  # another team's record: not this manager's to audit
    client.force_login(researcher)
    assert client.get(f"/history/users/{manager.pk}/").status_code == 403
    client.force_login(outsider)
    assert client.get(f"/history/users/{manager.pk}/").status_code == 404


def test_a_researcher_sees_their_own_changes_and_nobody_elses(
    client, team, other_team, lifsi, researcher, manager, outsider
):  # type: ignore[no-untyped-def]
    mine = recipes.create_recipe(team=team, name="Mine", actor=researcher)
    by_manager = recipes.create_recipe(team=team, name="Managers", actor=manager)
    elsewhere = recipes.create_recipe(team=other_team, name="Elsewhere", actor=outsider)
    client.force_login(researcher)
    home = client.get("/").content.decode()
    assert f'href="/history/users/{researcher.pk}/"' in home  # the name in the header opens "my changes"
    page = client.get(f"/history/users/{researcher.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'href="/recipes/{mine.pk}/"' in html
    assert f'href="/recipes/{by_manager.pk}/"' not in html and f'href="/recipes/{elsewhere.pk}/"' not in html
    assert client.get(f"/history/users/{manager.pk}/").status_code == 403  # a team mate's: managers only
    assert client.get("/history/").status_code == 403  # the team's trail stays with managers


def test_the_audit_trail_is_for_managers_and_staff(client, team, researcher, manager, staff_user, lifsi):  # type: ignore[no-untyped-def]
    recipes.create_recipe(team=team, name="Audited", actor=researcher)
    client.force_login(researcher)
    assert client.get("/history/").status_code == 403
    assert 'href="/history/"' not in client.get("/").content.decode()
    for user in (manager, staff_user):
        client.force_login(user)
        page = client.get("/history/")
        assert page.status_code == 200 and "Audited" in page.content.decode()
    client.force_login(manager)
    assert 'href="/history/"' in client.get("/").content.decode()
    filtered = client.get("/history/", {"kind": "formulations.stocklot"}).content.decode()
    assert "Audited" not in filtered


def test_the_history_pages_run_as_many_queries_with_20_changes_as_with_2(
    client, team, lifsi, researcher, manager
):  # type: ignore[no-untyped-def]
    lot = _lot(lifsi, researcher)
    recipe = recipes.create_recipe(team=team, name="Counted", actor=researcher)
    client.force_login(manager)
    urls = [
        f"/history/formulations.stocklot/{lot.pk}/",
        f"/history/formulations.recipe/{recipe.pk}/",
        f"/history/users/{researcher.pk}/",
        "/history/",
    ]

    def counts() -> list[int]:
        out = []
        for url in urls:
            client.get(url)
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            out.append(len(ctx.captured_queries))
        return out

    before = counts()
    for i in range(10):
        inventory.consume_from_lot(lot=lot, amount="0.1 g", actor=researcher, purpose=f"test {i}")
        with acting_as(researcher, reason=f"rename {i}"):
            recipes.update_recipe(recipe=recipe, actor=researcher, name=f"Counted {i}")
    assert counts() == before


def test_history_rows_are_read_in_a_fixed_number_of_queries_and_diffed(team, researcher, manager):  # type: ignore[no-untyped-def]
    recipe = Recipe.objects.create(team=team, name="A", created_by=researcher)
    for name in ("B", "C"):
        recipe.name = name
        recipe._change_reason = f"to {name}"  # type: ignore[attr-defined]
        recipe.save()
    spec = history.Filter(
        labels=["formulations.recipe"], object_filter={"formulations.recipe": Q(id=recipe.pk)}
    )
    index = history.index_queryset(manager, spec)
    assert index is not None
    with CaptureQueriesContext(connection) as ctx:
        rows = history.load_rows(list(index))
    assert len(ctx.captured_queries) <= 3  # index, rows with predecessors, users
    assert [r.action for r in rows] == ["changed", "changed", "created"]
    assert [(c.field, c.old, c.new) for c in rows[0].changes] == [("Name", "B", "C")]
    assert rows[0].reason == "to C"


def test_computed_fields_such_as_the_quantity_on_hand_are_in_the_diff(client, lifsi, researcher, manager):  # type: ignore[no-untyped-def]
    """quantity_on_hand is not editable (only the ledger changes it), so diff_against alone would hide it."""
    lot = _lot(lifsi, researcher)
    inventory.consume_from_lot(lot=lot, amount="1.5 g", actor=researcher, purpose="a batch")
    client.force_login(manager)
    html = client.get(f"/history/formulations.stocklot/{lot.pk}/").content.decode()
    assert (
        '<span class="field">Quantity on hand (g)</span>: <del>25</del> → <ins>23.5</ins>' in html
    )  # the lot's unit


def test_logging_in_leaves_no_empty_history_row(client, manager):  # type: ignore[no-untyped-def]
    """A login saves last_login only, which the trail excludes: no row that would record nothing."""
    before = manager.history.count()
    assert client.login(username=manager.username, password="pw-" + manager.username)
    manager.refresh_from_db()
    assert manager.last_login is not None and manager.history.count() == before
