"""How the history pages print a change: JSON values as readable pairs, labels with units, no empty saves, pages.

The assertions are on the rendered HTML a manager reads (lims/_history_rows.html)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from formulations.models import Recipe
from formulations.services import inventory
from formulations.tests.test_inventory_fixtures import *  # noqa: F403  (fixtures: lifsi, shelf, aladdin)
from lims import history
from lims.audit import acting_as
from measurements.models import DerivedProperty

pytestmark = pytest.mark.django_db

PARAMETERS = {"circuit": "R0-CPE1", "r_bulk_ohm": 100.00120199993862, "sigma_S_per_m": 0.024999699503627314}
INPUTS = {
    "area_cm2": 2.0,
    "area_source": "cell BLK-261201-001: active area",
    "cell_id": 113,
    "measurement_ids": [309],
    "thickness_cm": 0.05,
    "thickness_source": "membrane M-C83KDH: measured 500 um",
}


def _rows(html: str) -> list[str]:
    """The table rows of a history page, newest first (each from its <tr> to the next)."""
    return re.split(r'<tr class="history-', html.split("<tbody>", 1)[1])[1:]


def _conductivity(team, user) -> DerivedProperty:  # type: ignore[no-untyped-def]
    with acting_as(user, reason="parse of upload #312"):
        return DerivedProperty.objects.create(
            team=team,
            subject_key="measurement:309",
            name="ionic_conductivity",
            value=0.249997,
            unit="mS/cm",
            uncertainty=5.40367e-05,
            method="eis_fit_conductivity",
            method_version="1.2.0",
            parameters=PARAMETERS,
            inputs=INPUTS,
        )


def _recompute(prop: DerivedProperty, user) -> None:  # type: ignore[no-untyped-def]
    """What a corrected thickness does: sigma, its uncertainty and the inputs that named the thickness change."""
    prop.value = 0.224997
    prop.uncertainty = 4.86331e-05
    prop.parameters = {**PARAMETERS, "sigma_S_per_m": 0.02249972955326458}
    prop.inputs = {**INPUTS, "thickness_cm": 0.045, "thickness_source": "membrane M-C83KDH: measured 450 um"}
    prop.computed_at = timezone.now()
    with acting_as(user, reason="membrane thickness changed: recompute"):
        prop.save()


def test_a_derived_propertys_json_is_shown_as_readable_pairs_and_a_change_lists_only_the_changed_keys(
    client, team, researcher, manager
):  # type: ignore[no-untyped-def]
    prop = _conductivity(team, researcher)
    _recompute(prop, researcher)
    client.force_login(manager)
    html = client.get(f"/history/measurements.derivedproperty/{prop.pk}/").content.decode()
    changed, created = _rows(html)

    # no raw JSON, no 17-digit floats: "key: value" pairs, keys with their units, 4 significant figures
    assert "&quot;circuit&quot;" not in html and "100.00120199993862" not in html
    assert "circuit: R0-CPE1; r bulk (Ω): 100; sigma (S/m): 0.025" in created
    # the change: one line per changed key, the unchanged keys (circuit, r bulk, area, ...) left out
    assert (
        '<span class="field">Parameters › sigma (S/m)</span>: <del>0.025</del> → <ins>0.0225</ins>' in changed
    )
    assert '<span class="field">Inputs › thickness (cm)</span>: <del>0.05</del> → <ins>0.045</ins>' in changed
    assert (
        '<span class="field">Inputs › thickness source</span>: <del>membrane M-C83KDH: measured 500 um</del>'
        " → <ins>membrane M-C83KDH: measured 450 um</ins>"
    ) in changed
    assert "circuit" not in changed and "r bulk" not in changed and "area" not in changed
    # a long JSON value is summarised, its full value (every digit) one click away
    inputs_line = next(
        li for li in created.split("<li>") if li.startswith('<span class="field">Inputs</span>')
    )
    assert (
        "… (+" in inputs_line
        and '<details class="full-value"><summary>full value</summary><pre>' in inputs_line
    )
    assert "&quot;thickness_source&quot;: &quot;membrane M-C83KDH: measured 500 um&quot;" in inputs_line


def test_labels_are_the_verbose_names_with_the_unit_of_the_stored_number(
    client, team, lifsi, researcher, manager
):  # type: ignore[no-untyped-def]
    prop = _conductivity(team, researcher)
    _recompute(prop, researcher)
    lot = inventory.receive_lot(chemical=lifsi, quantity="25 g", actor=researcher, water_content=50.0)
    inventory.consume_from_lot(lot=lot, amount="0.401 g", actor=researcher, purpose="a batch")
    client.force_login(manager)

    html = client.get(f"/history/measurements.derivedproperty/{prop.pk}/").content.decode()
    assert (
        "History of derived property ionic conductivity" in html
    )  # the property's label, not ionic_conductivity
    # the value's unit is the row's unit column
    assert '<span class="field">Value (mS/cm)</span>: <del>0.249997</del> → <ins>0.224997</ins>' in html
    assert (
        '<span class="field">Uncertainty (mS/cm)</span>: <del>5.40367e-5</del> → <ins>4.86331e-5</ins>'
        in html
    )
    assert "ionic conductivity (ionic_conductivity)" in html  # the created row's name: label and machine name

    html = client.get(f"/history/formulations.stocklot/{lot.pk}/").content.decode()
    # the lot's unit column, and a ledger entry's unit read from its lot (joined in the same query)
    assert '<span class="field">Quantity on hand (g)</span>: <del>25</del> → <ins>24.599</ins>' in html
    assert '<span class="field">Quantity (g)</span>: <ins>-0.401</ins>' in html
    assert '<span class="field">Balance after (g)</span>: <ins>24.599</ins>' in html
    # a quantity field: its declared canonical unit
    assert '<span class="field">Water content (ppm)</span>: <ins>50</ins>' in html
    assert "quantity_on_hand" not in html and "balance_after" not in html


def test_saves_that_changed_no_tracked_field_are_folded_into_one_line_per_run(
    client, team, researcher, manager
):  # type: ignore[no-untyped-def]
    """A save that only moves updated_at writes no row, unless it carries a reason (lims/audit.py); those rows,
    and the ones written before that rule, are counted as entries and listed as one muted line per run of such
    saves, not as a row of their own, in the same number of queries."""
    recipe = Recipe.objects.create(team=team, name="A", created_by=researcher)
    url = f"/history/formulations.recipe/{recipe.pk}/"
    client.force_login(manager)
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    queries = len(ctx.captured_queries)
    with acting_as(researcher, reason="opened and saved"):
        recipe.save()
        recipe.save()  # two empty saves in a row: one folded line
    recipe.name = "B"
    recipe.save()
    recipe.save()  # no reason, nothing changed: no row
    with acting_as(manager, reason="checked"):
        recipe.save()
    assert recipe.history.count() == 5
    with CaptureQueriesContext(connection) as ctx:
        html = client.get(url).content.decode()
    assert len(ctx.captured_queries) == queries
    rows = _rows(html)
    assert [r.split('"', 1)[0] for r in rows] == ["folded", "changed", "folded", "created"]
    assert "<summary>1 save that changed no tracked value</summary>" in rows[0] and "checked" in rows[0]
    assert "<summary>2 saves that changed no tracked value</summary>" in rows[2]
    assert rows[2].count("<li>") == 2 and "opened and saved" in rows[2] and researcher.username in rows[2]
    assert '<span class="field">Name</span>: <del>A</del> → <ins>B</ins>' in rows[1]
    assert (
        "5 entries, newest first. 3 saves on this page changed no tracked value: folded into one line."
        in html
    )
    assert "no tracked field changed" not in html  # the old full-height row that said so
    for page_url in ("/history/", f"/history/users/{researcher.pk}/"):
        other = client.get(page_url).content.decode()
        assert "<summary>2 saves that changed no tracked value</summary>" in other


def test_folding_keeps_every_other_row_and_its_order() -> None:
    def row(action: str, changed: bool) -> history.HistoryRow:
        r = history.HistoryRow(
            "formulations.recipe", "recipe", 1, 1, timezone.now(), action, None, "", "", "A"
        )
        if changed:
            r.changes = [history.Change("Name", "A", "B")]
        return r

    rows = [row("changed", False), row("changed", True), row("changed", False), row("changed", False)]
    rows += [row("deleted", False), row("created", False)]  # deletes and creates are never folded
    folded = history.fold_empty_saves(rows)
    assert [len(f.saves) if isinstance(f, history.FoldedSaves) else f.action for f in folded] == [
        1,
        "changed",
        2,
        "deleted",
        "created",
    ]


def test_a_long_history_is_paged_and_a_long_change_list_is_folded(client, team, researcher, manager):  # type: ignore[no-untyped-def]
    recipe = Recipe.objects.create(team=team, name="R", created_by=researcher)
    for i in range(history.PAGE_SIZE + 5):
        recipe.name = f"R{i}"
        recipe.save()
    prop = _conductivity(team, researcher)
    _recompute(prop, researcher)
    client.force_login(manager)

    url = f"/history/formulations.recipe/{recipe.pk}/"
    first = client.get(url).content.decode()
    assert history.PAGE_SIZE == 25 and len(_rows(first)) == 25
    total = history.PAGE_SIZE + 6
    assert f"Entries 1–25 of {total}, newest first" in first
    assert f"Page 1 of 2 ({total} in all)" in first and 'rel="next"' in first
    last = client.get(url, {"page": 2}).content.decode()
    assert len(_rows(last)) == 6 and f"Entries 26–{total} of {total}" in last

    # value, uncertainty, one key of the parameters, two of the inputs, the time computed: 5 shown, 1 folded
    html = client.get(f"/history/measurements.derivedproperty/{prop.pk}/").content.decode()
    changed = _rows(html)[0]
    shown, folded = changed.split('<details class="more-changes">', 1)
    assert shown.count("<li>") == history.CHANGES_SHOWN
    assert folded.startswith("<summary>1 more change</summary>")
    assert folded.count("<li>") == 1


def test_the_history_pages_link_their_stylesheet_and_have_no_inline_style(client, team, researcher, manager):  # type: ignore[no-untyped-def]
    prop = _conductivity(team, researcher)
    _recompute(prop, researcher)
    client.force_login(manager)
    for url in (
        "/history/",
        f"/history/measurements.derivedproperty/{prop.pk}/",
        f"/history/users/{researcher.pk}/",
    ):
        html = client.get(url).content.decode()
        assert 'href="/static/lims/history.css"' in html
        assert " style=" not in html and "<style" not in html


def test_json_keys_and_units_read_as_labels() -> None:
    """Pure helpers: a machine name's trailing unit goes in brackets; pint spellings are printed."""
    assert history.key_label("sigma_S_per_m") == "sigma (S/m)"
    assert history.key_label("r_bulk_ohm") == "r bulk (Ω)"
    assert history.key_label("area_cm2") == "area (cm²)"
    assert history.key_label("temperature_C") == "temperature (°C)"
    assert history.key_label("cell_id") == "cell id"  # "id" is no unit
    assert history.key_label("rate_per_h") == "rate per h"
    assert [history.unit_text(u) for u in ("um", "cm**2", "degC", "ohm", "dimensionless")] == [
        "µm",
        "cm²",
        "°C",
        "Ω",
        "",
    ]
    assert (
        history.number_text(100.00120199993862, 4) == "100"
        and history.number_text(5.40367e-05, 6) == "5.40367e-5"
    )


def test_a_long_text_is_cut_with_its_full_value_kept_and_a_json_object_after_a_whole_pair() -> None:
    note = "dried overnight; pressed at 300 MPa; " * 10
    text, full = history._show(Recipe, "description", note)
    assert len(text) <= history.SHORT_TEXT and text.endswith("…") and "more)" not in text and full == note
    obj = {f"key_{i}": "v" * 20 for i in range(10)}
    text, full = history._json_shown(obj)
    assert text.endswith("; … (+6 more)") and text.startswith("key 0: vvvv") and '"key_9"' in full
