"""A researcher's day in a real browser (Chromium, headless) against the live server, one screenshot per step.

Receive a lot -> log a synthesis from a recipe, drawing from the lots -> cast a membrane -> assemble a blocking
SS|E|SS cell -> upload an impedance file -> see the ionic conductivity appear and the Nyquist plot with its fitted
circuit -> correct the membrane's measured thickness -> see sigma recomputed and the change in the audit trail.

The impedance file is synthetic (R0-CPE1, R0 = 100 ohm: a bulk resistance and a blocking-electrode tail), so the
conductivity the page must show is known: sigma = L / (R_b A) = 0.0500 cm / (100 ohm x 2.00 cm^2)
= 2.50e-4 S/cm = 0.250 mS/cm; after the thickness is corrected to 450 um, 0.225 mS/cm.

Celery runs in-process (eager), as on a machine without a broker; the on_commit callbacks that enqueue the parse
fire because live_server runs on a transactional database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PASSWORD = "pw-e2e-mara-2026"
R_BULK_OHM = 100.0
THICKNESS_UM = 500.0
AREA_CM2 = 2.0


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Run Celery tasks in-process for the test, whatever the environment's broker."""
    from lims.celery import app

    old = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = old


@pytest.fixture
def lab(transactional_db: Any) -> dict[str, Any]:
    """What a lab has before the day starts: a team with its manager, chemicals, one lot, a recipe, a mould."""
    from formulations.models import ChemicalRole
    from formulations.services import inventory, synthesis
    from lims.models import Membership, Team, User

    team = Team.objects.create(name="Solid-state group", slug="ssb")
    mara = User.objects.create_user(username="mara", password=PASSWORD, first_name="Mara", last_name="Okafor")
    Membership.objects.create(user=mara, team=team, role="manager")
    lifsi = inventory.create_chemical(
        actor=mara,
        name="Lithium bis(fluorosulfonyl)imide",
        abbreviation="LiFSI",
        cas_number="171611-11-3",
        role=ChemicalRole.SALT,
        molar_mass=187.07,
    )
    mma = inventory.create_chemical(
        actor=mara,
        name="Methyl methacrylate",
        abbreviation="MMA",
        cas_number="80-62-6",
        role=ChemicalRole.MONOMER,
        molar_mass=100.12,
        density=0.94,
    )
    supplier = inventory.save_supplier(actor=mara, name="Aladdin")
    glovebox = inventory.save_location(actor=mara, name="Glovebox 1", kind="glovebox")
    mma_lot = inventory.receive_lot(chemical=mma, quantity="100 mL", actor=mara, supplier=supplier)
    recipe = synthesis.create_recipe(
        team=team,
        name="PMA-LiFSI",
        actor=mara,
        components=[{"chemical": mma, "amount": "1 mL"}, {"chemical": lifsi, "amount": "0.4 g"}],
    )
    mould = synthesis.create_mould(actor=mara, name="PTFE disc 2 cm²", shape="disc", area=2.0)
    return {
        "team": team,
        "user": mara,
        "lifsi": lifsi,
        "mma": mma,
        "supplier": supplier,
        "glovebox": glovebox,
        "mma_lot": mma_lot,
        "version": recipe.versions.get(),
        "mould": mould,
    }


def _eis_file(folder: Path) -> Path:
    """A blocking-electrode spectrum: R0 (the bulk) in series with a CPE (the electrode tail), 1 MHz to 0.1 Hz."""
    from measurements.analysis.synthetic import eis_spectrum
    from measurements.parsers.synthetic_mpt import write_mpt

    spec = eis_spectrum("R0-CPE1", {"R0": R_BULK_OHM, "CPE1_0": 2e-6, "CPE1_1": 0.88}, noise=0.001, seed=3)
    n = spec.freq_Hz.size
    return write_mpt(
        folder / "M-E2E_PEIS_25C.mpt",
        "PEIS",
        {
            "time_s": np.arange(n, dtype=float) * 2.0,
            "freq_Hz": spec.freq_Hz,
            "z_re_ohm": spec.z_ohm.real,
            "z_im_ohm": spec.z_ohm.imag,
            "temperature_C": np.full(n, 25.0),
        },
    )


def _conductivity(page: Any) -> float:
    cell = page.locator('tr[data-property="ionic_conductivity"] td.num').first
    return float(cell.inner_text())


def test_a_researcher_goes_from_a_delivered_lot_to_a_conductivity_with_its_audit_trail(
    page: Any, live_server: Any, lab: dict[str, Any], eager_celery: None, tmp_path: Path
) -> None:
    from formulations.models import Batch, Membrane, StockLot
    from measurements.models import DerivedProperty

    shots = page.shots
    # ---- log in
    page.goto("/accounts/login/")
    shots("login-page")
    log_in(page, "mara", PASSWORD)
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    shots("dashboard")

    # ---- receive a lot (from the dashboard's quick action)
    page.get_by_role("link", name="Receive a lot").click()
    page.get_by_label("Chemical:", exact=True).select_option(str(lab["lifsi"].pk))
    page.get_by_label("Quantity:", exact=True).fill("25 g")
    page.get_by_label("Supplier:", exact=True).select_option(str(lab["supplier"].pk))
    page.get_by_label("Location:", exact=True).select_option(str(lab["glovebox"].pk))
    page.get_by_label("Water content:", exact=True).fill("30 ppm")
    expect(page.locator("#id_water_content + .unit-preview")).to_have_text("= 30 ppm")  # normalised as typed
    shots("receive-lot-form")
    page.get_by_role("button", name="Receive").click()
    page.wait_for_url(re.compile(r"/inventory/lots/\d+/$"))
    lot_code = page.locator("h1").inner_text().split()[1]
    lifsi_lot = StockLot.objects.get(code=lot_code)
    assert lifsi_lot.quantity_on_hand == pytest.approx(25.0) and lifsi_lot.water_content == pytest.approx(
        30.0
    )
    shots("lot-received")

    # ---- log a synthesis from the recipe, drawing from the lots
    page.goto("/")
    page.get_by_role("link", name="Log a synthesis").click()
    page.get_by_label("Recipe version").select_option(str(lab["version"].pk))
    page.get_by_role("button", name="Show the scaled amounts").click()
    components = {c.chemical_id: c for c in lab["version"].components.all()}
    mma_line, lifsi_line = components[lab["mma"].pk], components[lab["lifsi"].pk]
    page.locator(f"#id_c{mma_line.pk}_amount").fill("0.94 g")  # 1 mL of MMA, weighed
    page.locator(f"#id_c{mma_line.pk}_lot").select_option(str(lab["mma_lot"].pk))
    page.locator(f"#id_c{lifsi_line.pk}_amount").fill("0.401 g")
    page.locator(f"#id_c{lifsi_line.pk}_lot").select_option(str(lifsi_lot.pk))
    expect(page.locator(f'[data-preview-field="c{lifsi_line.pk}_amount"]')).to_contain_text("ok")
    shots("synthesis-form")
    page.get_by_role("button", name="Record the batch and draw the lots").click()
    page.wait_for_url(re.compile(r"/batches/\d+/$"))
    batch = Batch.objects.get()
    assert page.locator("h1").inner_text().startswith(f"Batch {batch.code}")
    lifsi_lot.refresh_from_db()
    assert lifsi_lot.quantity_on_hand == pytest.approx(25.0 - 0.401)  # the lot was drawn from
    shots("batch-recorded")

    # ---- cast a membrane from the batch
    page.get_by_role("link", name="Cast a membrane").first.click()
    page.get_by_label("Mould").select_option(str(lab["mould"].pk))
    page.get_by_label("Cast mass").fill("0.11 g")  # 0.11 g / (1.1 g/mL x 2 cm²) = 500 µm, as measured
    page.get_by_label("Slurry density").fill("1.1 g/mL")
    page.get_by_label("Measured thickness").fill(f"{THICKNESS_UM:g} um")
    expect(page.locator("#id_thickness_measured-preview")).to_have_text(f"= {THICKNESS_UM:g} µm")
    expect(page.locator("#preview")).to_contain_text("µm")  # the thickness derived from the cast mass
    shots("membrane-form")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/membranes/\d+/$"))
    membrane = Membrane.objects.get()
    assert membrane.batch_id == batch.pk and membrane.thickness_measured == pytest.approx(THICKNESS_UM)
    shots("membrane-cast")

    # ---- assemble a blocking cell with it
    page.get_by_role("link", name="Assemble a cell with this membrane").click()
    page.get_by_label("Configuration").select_option("blocking")
    assert page.get_by_label("Membrane").input_value() == str(membrane.pk)
    page.get_by_label("Stainless-steel electrode area").fill(f"{AREA_CM2:g} cm^2")
    expect(page.locator("#id_stainless_area-preview")).to_have_text(f"= {AREA_CM2:g} cm²")
    page.get_by_label("Format detail").fill("CR2032")
    shots("assemble-form")
    page.get_by_role("button", name="Assemble").click()
    page.wait_for_url(re.compile(r"/cells/\d+/$"))
    cell_code = page.locator("h1").inner_text().split()[1]
    shots("cell-assembled")

    # ---- upload an impedance file for the cell; the page follows its parse
    page.get_by_role("link", name=f"Upload data for {cell_code}").click()
    assert page.get_by_label("Cell (code or id)").input_value() == cell_code
    eis_file = _eis_file(tmp_path)
    page.locator("#id_files").set_input_files(str(eis_file))
    page.get_by_role("button", name="Upload").click()
    done = page.locator("#upload-progress .badge.done")
    done.wait_for()
    # the "Recent uploads" list below is fetched again once the file is done: it lists the new upload
    page.locator("#recent-uploads").get_by_text(eis_file.name).first.wait_for()
    shots("upload-done")
    page.locator("#upload-progress a").first.click()
    page.wait_for_url(re.compile(r"/measurements/\d+/$"))

    # ---- sigma appears, computed from the file, the membrane's thickness and the cell's area
    sigma = _conductivity(page)
    assert sigma == pytest.approx(THICKNESS_UM * 1e-4 / (R_BULK_OHM * AREA_CM2) * 1e3, rel=0.02)
    # ---- the Nyquist plot renders (Plotly's SVG) with the measured points and the fitted circuit
    nyquist = page.locator('.plot[data-figure-url*="/figures/nyquist.json"][data-rendered="true"]')
    nyquist.wait_for()
    assert nyquist.locator("svg.main-svg").count() >= 1
    assert nyquist.locator(".scatterlayer .trace").count() >= 2  # measured + fit
    assert "fit R0-CPE1" in (nyquist.locator(".legend").text_content() or "")
    downloads = page.locator(".plot-downloads").first
    assert [b.inner_text() for b in downloads.locator("button, a").all()] == ["PNG", "SVG", "CSV"]
    nyquist.scroll_into_view_if_needed()
    shots("conductivity-and-nyquist")

    # ---- correct the membrane's measured thickness: sigma is recomputed, and the change is audited
    page.goto(f"/membranes/{membrane.pk}/")
    page.get_by_label("Measured thickness").fill("450 um")
    page.get_by_label("Reason").fill("re-measured with the micrometer at 5 points")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(rf"/membranes/{membrane.pk}/$"))
    recomputed = DerivedProperty.objects.get(name="ionic_conductivity", cell__code=cell_code)
    assert recomputed.value == pytest.approx(450e-4 / (R_BULK_OHM * AREA_CM2) * 1e3, rel=0.02)
    page.get_by_role("link", name="History").click()
    page.wait_for_url(re.compile(rf"/history/formulations\.membrane/{membrane.pk}/$"))
    change = page.locator("table.history tbody tr").first
    thickness = change.locator("ul.diff li", has_text="Thickness measured")
    # the unit goes with the field's label, the numbers are bare
    assert thickness.locator(".field").inner_text() == "Thickness measured (µm)"
    assert thickness.locator("del").inner_text() == "500" and thickness.locator("ins").inner_text() == "450"
    assert "Mara Okafor" in change.inner_text() and "web page" in change.inner_text()
    assert "re-measured with the micrometer at 5 points" in change.inner_text()
    shots("audit-entry")

    # ---- the search box finds the cell by its code, and its page shows the new value
    page.get_by_role("searchbox", name="Search lots, chemicals, cells, batches").fill(cell_code)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/cells/\d+/$"))  # one hit: straight to the cell
    assert page.locator('tr[data-property="ionic_conductivity"] td.num').first.inner_text().startswith("0.22")
    cell_url = page.url
    shots("cell-results")

    # ---- the same pages, full of today's records, on a tablet held upright (820 px)
    measurement = DerivedProperty.objects.get(pk=recomputed.pk).measurement_id
    _assert_fit_a_tablet(
        page,
        [
            *MAIN_PAGES,
            cell_url,
            f"/measurements/{measurement}/",
            f"/membranes/{membrane.pk}/",
            f"/batches/{batch.pk}/",
        ],
    )
    assert page.js_errors == [], page.js_errors


MAIN_PAGES = [
    "/",
    "/inventory/lots/",
    "/inventory/chemicals/",
    "/recipes/",
    "/batches/",
    "/cells/",
    "/uploads/",
    "/measurements/",
    "/derived/",
    "/comparison/",
    "/history/",
]


def _assert_fit_a_tablet(page: Any, paths: list[str]) -> None:
    """No page scrolls sideways at 820 px (wide tables scroll inside their own box); a screenshot of each."""
    page.set_viewport_size({"width": 820, "height": 1180})
    too_wide = {}
    for path in paths:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        if width[0] > width[1]:
            too_wide[path] = width
        name = path.split("//", 1)[-1].split("/", 1)[-1] if "//" in path else path
        page.shots("tablet-" + (name.strip("/").replace("/", "-") or "dashboard"))
    assert too_wide == {}, f"pages wider than the 820 px viewport (scrollWidth, clientWidth): {too_wide}"
    page.set_viewport_size({"width": 1366, "height": 900})


def test_the_main_pages_fit_a_tablet_and_work_with_the_keyboard(
    page: Any, live_server: Any, lab: dict[str, Any]
) -> None:
    """At 820 px (a tablet held upright) no page scrolls sideways; Tab reaches a visible skip link first, and
    every focused control shows where the focus is."""
    log_in(page, "mara", PASSWORD)
    _assert_fit_a_tablet(
        page,
        [*MAIN_PAGES, f"/inventory/lots/{lab['mma_lot'].pk}/", f"/recipes/versions/{lab['version'].pk}/"],
    )
    page.set_viewport_size({"width": 820, "height": 1180})

    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    assert page.evaluate("document.activeElement.className") == "skip"
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0  # shown on screen while focused
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none"), "the focused link has no visible outline"
    page.shots("tablet-keyboard-focus")
    assert page.js_errors == [], page.js_errors
