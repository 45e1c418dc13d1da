"""Every detail endpoint and detail page runs as many SQL queries for a record with many parts as for one with
few (a lot with 1 ledger row or 17, a cell with 1 measurement or 4, a recipe with 1 version or 4...).

Discovered from the URL conf like the list cases (tests/test_query_counts.py): every API route with path
parameters and a GET action, and every page with path parameters. A discovered URL without an entry in
``CASES`` fails ``test_every_detail_url_has_a_query_count_case``: add the entry (or a skip with a written reason).

The records come from the large-lab generator, twice, in the requesting researcher's team: a tiny lab
(``Counts.uniform(3)``: about one part per record), then a dense one (``DENSE``: a few parents with many parts
each). The "few" record is the one of the first run with the fewest parts, the "many" record the one of either
run with the most; the test checks that the second really has more parts, then that the query counts are equal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, reverse

from lims.management.commands.generate_lab import Counts, generate_lab
from tests.test_query_counts import _walk

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

#: a few parents with many parts each (every count is per team: the test lab has one)
DENSE = Counts(
    teams=1,
    users=4,
    suppliers=2,
    chemicals=7,
    lots=20,
    recipes=1,
    recipe_versions=4,
    components_per_version=4,
    batches=8,
    membranes=16,
    pellets=6,
    electrodes=2,
    cells=48,
    instruments=1,
    measurements=96,
    cycles_per_cycling_measurement=8,
    derived=400,
)

NO_FILES = (
    "reads the stored file (raw bytes or Parquet data), which the generator does not write; the view looks up "
    "one record through the same scoped selector as the detail case of that record, then streams the file"
)
POST_ONLY = "answers POST only (GET is 405): there is no page to count"


@dataclass(frozen=True)
class Case:
    """``model`` (app_label.Model) of the record the URL shows; ``parts``: its reverse relations that grow;
    ``kwargs(obj)``: the URL parameters (default ``{"pk": obj.pk}``); ``query``: a query string it needs;
    ``role``: the requester's role in the team; ``seed(team, user)`` makes records the generator does not;
    ``alike(obj)``: a key both records must share (a cell on a pellet has a shorter provenance graph than one on
    a membrane: same shape, different part counts is what the test compares)."""

    model: str = ""
    parts: tuple[str, ...] = ()
    kwargs: Callable[[Any], dict[str, Any]] | None = None
    query: str = ""
    role: str = "researcher"
    seed: Callable[[Any, Any], None] | None = None
    skip: str = ""
    alike: Callable[[Any], Any] | None = None
    status: int = 200


def _cell_shape(cell: Any) -> tuple[bool, bool]:
    return (cell.pellet_id is None, cell.cathode_id is None)


def _lot_shape(lot: Any) -> bool:
    """Whether the lot was drawn by a batch (the page then links the batches the user may open: one query)."""
    return lot.transactions.filter(batch__isnull=False).exists()


def _by_code(obj: Any) -> dict[str, Any]:
    return {"code": obj.code}


def _history(obj: Any) -> dict[str, Any]:
    return {"label": obj._meta.label_lower, "pk": obj.pk}


def _seed_tokens(team: Any, user: Any) -> None:
    from lims.models import ApiToken

    for i in range(3):
        ApiToken.issue(user=user, name=f"script {ApiToken.objects.count() + i}")


def _seed_location_lots(team: Any, user: Any) -> None:
    """Eight lots on one shelf (the generator spreads its lots over 27 shelves per building)."""
    from formulations.models import StockLot, StorageLocation

    shelf = StorageLocation.objects.filter(kind="shelf").order_by("-id").first()
    ids = list(StockLot.objects.order_by("-id").values_list("id", flat=True)[:8])
    StockLot.objects.filter(id__in=ids).update(location=shelf)


def _seed_cell_history(team: Any, user: Any) -> None:
    """History rows for the first and the last cell: a generated record has none, and no history is a 404."""
    from cells.models import Cell

    for cell in (Cell.objects.filter(team=team).order_by("pk").first(), Cell.objects.order_by("-pk").first()):
        assert cell is not None
        cell.notes = "checked"
        cell.save()


def _seed_series(team: Any, user: Any) -> None:
    """Series of 1 and of 6 members (the generator makes no series)."""
    from measurements.models import Measurement, MeasurementSeries, SeriesMember

    measurements = list(Measurement.objects.filter(team=team).order_by("id")[:6])
    for size in (1, 6):
        series = MeasurementSeries.objects.create(
            team=team, name=f"Arrhenius {MeasurementSeries.objects.count()}", kind="arrhenius"
        )
        for order, m in enumerate(measurements[:size]):
            SeriesMember.objects.create(series=series, measurement=m, order=order)


def _seed_instrument_tokens(team: Any, user: Any) -> None:
    from lims.models import ApiToken, TokenScope
    from measurements.models import Instrument

    instrument = Instrument.objects.filter(team=team).order_by("-id").first()
    assert instrument is not None
    for i in range(4):
        ApiToken.issue(user=instrument.service_user, name=f"cycler {i}", scope=TokenScope.INSTRUMENT)


CASES: dict[str, Case] = {
    # ---- API: retrieve and the GET actions of one record
    "team-detail": Case("lims.Team"),  # one team in the test lab: nothing to compare but two requests
    "token-detail": Case("lims.ApiToken", seed=_seed_tokens),
    "chemical-detail": Case("formulations.Chemical", parts=("lots",)),
    "supplier-detail": Case("formulations.Supplier", parts=("lots",)),
    "location-detail": Case("formulations.StorageLocation", parts=("lots",), seed=_seed_location_lots),
    "location-lots": Case("formulations.StorageLocation", parts=("lots",), seed=_seed_location_lots),
    "lot-by-code": Case("formulations.StockLot", parts=("transactions",), alike=_lot_shape, kwargs=_by_code),
    "lot-detail": Case("formulations.StockLot", parts=("transactions",), alike=_lot_shape),
    "lot-convert": Case(
        "formulations.StockLot", parts=("transactions",), alike=_lot_shape, query="amount=1 g"
    ),
    "lot-transactions": Case("formulations.StockLot", parts=("transactions",), alike=_lot_shape),
    "stock-transaction-detail": Case("formulations.StockTransaction"),
    "recipe-detail": Case("formulations.Recipe", parts=("versions",)),
    "recipe-version-detail": Case("formulations.RecipeVersion", parts=("batches",)),
    "recipe-version-scaled": Case("formulations.RecipeVersion", parts=("batches",), query="total_mass=2 g"),
    "recipe-component-detail": Case("formulations.RecipeComponent"),
    "process-step-detail": Case("formulations.ProcessStep"),
    "batch-detail": Case("formulations.Batch", parts=("membranes",)),
    "mould-detail": Case("formulations.Mould", parts=("membranes",)),
    "membrane-detail": Case("formulations.Membrane", parts=("cells",)),
    "pellet-detail": Case("formulations.Pellet", parts=("cells",)),
    "electrode-detail": Case("formulations.Electrode", parts=("cells",)),
    "cell-by-code": Case("cells.Cell", parts=("measurements",), kwargs=_by_code, alike=_cell_shape),
    "cell-detail": Case("cells.Cell", parts=("measurements", "derived_properties"), alike=_cell_shape),
    "cell-provenance": Case("cells.Cell", parts=("measurements", "derived_properties"), alike=_cell_shape),
    "measurement-data-csv": Case(skip=NO_FILES),
    "measurement-data-parquet": Case(skip=NO_FILES),
    "measurement-figure": Case(skip=NO_FILES),
    "measurement-figure-csv": Case(skip=NO_FILES),
    "measurement-data": Case(skip=NO_FILES),
    "upload-raw": Case(skip=NO_FILES),
    "upload-detail": Case("measurements.Upload"),
    "instrument-detail": Case("measurements.Instrument", parts=("uploads",)),
    "instrument-tokens": Case("measurements.Instrument", role="manager", seed=_seed_instrument_tokens),
    "measurement-detail": Case("measurements.Measurement", parts=("cycles", "derived_properties")),
    "measurement-cycles": Case("measurements.Measurement", parts=("cycles",)),
    "derived-property-detail": Case("measurements.DerivedProperty"),
    "measurement-series-detail": Case(
        "measurements.MeasurementSeries", parts=("memberships",), seed=_seed_series
    ),
    # ---- pages
    "user-history": Case("lims.User", role="manager"),
    "record-history": Case("cells.Cell", kwargs=_history, role="manager", seed=_seed_cell_history),
    "formulations:lot-by-code": Case(
        "formulations.StockLot", parts=("transactions",), alike=_lot_shape, kwargs=_by_code, status=302
    ),  # redirects to the lot page
    "formulations:lot-detail": Case("formulations.StockLot", parts=("transactions",), alike=_lot_shape),
    "formulations:lot-label": Case("formulations.StockLot", parts=("transactions",), alike=_lot_shape),
    "formulations:lot-edit": Case("formulations.StockLot", parts=("transactions",), alike=_lot_shape),
    "formulations:lot-consume": Case("formulations.StockLot", parts=("transactions",), alike=_lot_shape),
    "formulations:lot-return": Case("formulations.StockLot", parts=("transactions",), alike=_lot_shape),
    "formulations:lot-adjust": Case("formulations.StockLot", parts=("transactions",), alike=_lot_shape),
    "formulations:lot-dispose": Case("formulations.StockLot", parts=("transactions",), alike=_lot_shape),
    "formulations:lot-quarantine": Case("formulations.StockLot", parts=("transactions",), alike=_lot_shape),
    "formulations:lot-release": Case(
        "formulations.StockLot", parts=("transactions",), alike=_lot_shape, role="manager"
    ),
    "formulations:chemical-detail": Case("formulations.Chemical", parts=("lots",)),
    "formulations:chemical-edit": Case("formulations.Chemical", parts=("lots",)),
    "formulations:supplier-edit": Case("formulations.Supplier", parts=("lots",)),
    "formulations:location-detail": Case(
        "formulations.StorageLocation", parts=("lots",), seed=_seed_location_lots
    ),
    "formulations:location-edit": Case(
        "formulations.StorageLocation", parts=("lots",), seed=_seed_location_lots
    ),
    "formulations:recipe-detail": Case("formulations.Recipe", parts=("versions",)),
    "formulations:version-detail": Case("formulations.RecipeVersion", parts=("batches",)),
    "formulations:version-edit": Case("formulations.RecipeVersion", parts=("batches",)),
    "formulations:batch-preview": Case("formulations.RecipeVersion", parts=("batches",)),
    "formulations:batch-detail": Case("formulations.Batch", parts=("membranes",)),
    "formulations:batch-file": Case(skip=NO_FILES),
    "formulations:membrane-detail": Case("formulations.Membrane", parts=("cells",)),
    "formulations:pellet-detail": Case("formulations.Pellet", parts=("cells",)),
    "formulations:electrode-detail": Case("formulations.Electrode", parts=("cells",)),
    "cells:cell-by-code": Case(
        "cells.Cell", parts=("measurements",), kwargs=_by_code, alike=_cell_shape, status=302
    ),  # redirects to the cell page
    "cells:cell-detail": Case("cells.Cell", parts=("measurements", "derived_properties"), alike=_cell_shape),
    "cells:cell-change-state": Case(skip=POST_ONLY),
    "cells:cell-postmortem": Case(skip=POST_ONLY),
    "cells:cell-attachment": Case(skip=NO_FILES),
    "cells:cell-provenance": Case(
        "cells.Cell", parts=("measurements", "derived_properties"), alike=_cell_shape
    ),
    "cells:cell-label": Case("cells.Cell", parts=("measurements",), alike=_cell_shape),
    "measurements:upload-detail": Case("measurements.Upload"),
    "measurements:upload-retry": Case(skip=POST_ONLY),
    "measurements:measurement-detail": Case(
        "measurements.Measurement", parts=("cycles", "derived_properties")
    ),
    "measurements:derived-detail": Case("measurements.DerivedProperty"),
    "measurements:series-detail": Case(
        "measurements.MeasurementSeries", parts=("memberships",), seed=_seed_series
    ),
    "measurements:series-compute": Case(skip=POST_ONLY),
    "measurements:series-arrhenius": Case(skip=NO_FILES),
    "measurements:series-arrhenius-csv": Case(skip=NO_FILES),
    "measurements:nyquist-fit": Case(skip=NO_FILES),
    "measurements:nyquist-fit-csv": Case(skip=NO_FILES),
}


def discovered_detail_urls() -> dict[str, str]:
    """URL name -> "api" or "page", for every GET route of one record (a URL with path parameters)."""
    found: dict[str, str] = {}
    for name, pattern in _walk(get_resolver().url_patterns):
        if name.startswith("admin:") or not pattern.pattern.regex.groupindex:
            continue
        actions = getattr(pattern.callback, "actions", None)
        if actions is not None:
            if "get" in actions:
                found[name] = "api"
        else:
            found[name] = "page"
    return found


DISCOVERED = discovered_detail_urls()


def test_every_detail_url_has_a_query_count_case() -> None:
    missing = sorted(set(DISCOVERED) - set(CASES))
    assert not missing, (
        f"detail endpoints/pages without a query-count case: {missing}; add them to CASES in {__file__} "
        "(the model of the record and the parts that grow, or a skip with a written reason)"
    )


def test_every_detail_case_names_a_url_that_exists() -> None:
    stale = sorted(set(CASES) - set(DISCOVERED))
    assert not stale, f"CASES names URLs that no longer exist: {stale}"


def _parts(obj: Model, case: Case) -> int:
    return sum(getattr(obj, rel).count() for rel in case.parts)


def _scoped(model: type[Model], team: Any) -> Any:
    qs = model._default_manager.all()
    names = {f.name for f in model._meta.get_fields()}
    if "team" in names:
        qs = qs.filter(team=team)
    elif model._meta.label == "formulations.RecipeVersion":
        qs = qs.filter(recipe__team=team)
    elif model._meta.label in {"formulations.RecipeComponent", "formulations.ProcessStep"}:
        qs = qs.filter(version__recipe__team=team)
    elif model._meta.label == "lims.ApiToken":
        qs = qs.filter(user__memberships__team=team)
    elif model._meta.label == "lims.User":
        # other people's pages: the requester's own page ("my changes") is reached without the manager check,
        # one query fewer, so comparing it with someone else's would compare two different pages
        qs = qs.filter(memberships__team=team).exclude(username="rita")
    return qs.order_by("pk")


def _few_and_many(case: Case, team: Any, first_run_last_pk: int) -> tuple[Any, Any]:
    model = apps.get_model(case.model)
    rows = list(_scoped(model, team))
    assert rows, f"no {case.model} in the test lab"
    if not case.parts:
        return rows[0], rows[-1]
    sized = [(_parts(obj, case), obj) for obj in rows]
    many = max(sized, key=lambda t: t[0])
    if case.alike is not None:
        key = case.alike(many[1])
        sized = [(n, obj) for n, obj in sized if case.alike(obj) == key]
    first = [(n, obj) for n, obj in sized if obj.pk <= first_run_last_pk] or sized
    few = min(first, key=lambda t: (t[0] == 0, t[0]))  # the fewest parts, but at least one where any has
    assert many[0] > few[0], f"{case.model}: the dense lab did not give a record more {case.parts} ({few[0]})"
    return few[1], many[1]


def _measure(client: Client, url: str, kind: str, status: int = 200) -> tuple[int, list[str]]:
    accept = "application/json" if kind == "api" else "text/html"
    client.get(
        url, HTTP_ACCEPT=accept
    )  # warm per-process caches (content types, permissions) outside the count
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, HTTP_ACCEPT=accept)
    assert response.status_code == status, f"{url}: {response.status_code} {response.content[:300]!r}"
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize("name", sorted(DISCOVERED))
def test_a_detail_runs_as_many_queries_for_a_record_with_many_parts_as_with_few(  # type: ignore[no-untyped-def]
    name: str, team, researcher
) -> None:
    case = CASES.get(name)
    if case is None:
        pytest.fail(f"{name} has no query-count case (see test_every_detail_url_has_a_query_count_case)")
    if case.skip:
        pytest.skip(case.skip)
    from lims.models import Membership

    if case.role != "researcher":
        Membership.objects.filter(user=researcher, team=team).update(role=case.role)
    generate_lab(Counts.uniform(3), seed=3, tag="A", teams=[team], members=[researcher])
    model = apps.get_model(case.model)
    first_run_last_pk = model._default_manager.order_by("-pk").values_list("pk", flat=True).first() or 0
    generate_lab(DENSE, seed=5, tag="B", teams=[team], members=[researcher])
    if case.seed is not None:
        case.seed(team, researcher)
    few, many = _few_and_many(case, team, first_run_last_pk)
    client = Client()
    client.force_login(researcher)
    kind = DISCOVERED[name]
    urls = []
    for obj in (few, many):
        kwargs = case.kwargs(obj) if case.kwargs else {"pk": obj.pk}
        url = reverse(name, kwargs=kwargs)
        urls.append(f"{url}?{case.query}" if case.query else url)
    n_few, sql_few = _measure(client, urls[0], kind, case.status)
    n_many, sql_many = _measure(client, urls[1], kind, case.status)
    if n_few != n_many:
        listed = "\n".join(f"{a[:160]}  ||  {b[:160]}" for a, b in zip(sql_few, sql_many, strict=False))
        pytest.fail(
            f"{name}: {n_few} queries for {urls[0]} ({_parts(few, case)} parts) but {n_many} for {urls[1]} "
            f"({_parts(many, case)} parts); queries:\n{listed}"
        )
