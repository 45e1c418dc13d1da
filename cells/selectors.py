"""Every non-trivial read of the cells app: cell lists and details, and the provenance graph in both directions.

The provenance graph is walked kind by kind in a fixed order, one query per kind (and per relation), each with
an ``__in`` list of all the ids found at the previous levels, so the number of queries does not depend on how
many cells, membranes, batches or lots the graph holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import get_language

from cells.models import (
    Cell,
    CellComponent,
    CellFormat,
    CellState,
    CellStateChange,
    ComponentKind,
    Configuration,
)
from formulations.models import (
    Batch,
    BatchComponent,
    Electrode,
    Membrane,
    Pellet,
    StockLot,
    recipe_version_label,
)
from lims.api.rows import id_url, id_urls
from lims.compiled import (
    CompiledByIds,
    CompiledCount,
    CompiledQuery,
    CompiledValues,
    Statement,
    attach_children,
    run_each,
)
from lims.listing import CompiledRows, Sorting
from lims.models import user_label
from lims.permissions import (
    ScopedQuery,
    in_team_scope,
    scope_kinds,
    scope_to_teams,
    team_ids_for,
    team_scope,
)
from lims.presentation import choice_label, fixed, labels, minute_text, percent_text
from lims.queries import without_bookkeeping

# ------------------------------------------------------------------------------------------------ cells


def cell_list(*, user: Any) -> QuerySet[Cell]:
    """The cells a user may see, with everything a list row shows (no query per row)."""
    return scope_to_teams(_cell_rows(), user)


def _cell_rows() -> QuerySet[Cell]:
    """``cell_list`` before the team scope."""
    qs = Cell.objects.select_related(
        "team",
        "operator",
        "membrane__batch__recipe_version__recipe",
        "pellet",
        "cathode",
    )
    return without_bookkeeping(
        qs,
        "team",
        "operator",
        "membrane",
        "membrane__batch",
        "membrane__batch__recipe_version",
        "membrane__batch__recipe_version__recipe",
        "pellet",
        "cathode",
    )


#: of the records a row of cells joins, what the lists show: the operator's names, the membrane's code and filler,
#: its recipe's name and version number, the pellet's code
_JOINED_SHOWN = (
    "operator__username",
    "operator__first_name",
    "operator__last_name",
    "membrane__code",
    "membrane__filler_fraction",
    "membrane__batch__recipe_version__number",
    "membrane__batch__recipe_version__recipe__name",
    "pellet__code",
)


def cell_rows_for_page(*, user: Any) -> QuerySet[Cell]:
    """The cell list page: what its rows show (codes, the recipe's name and version, the filler, the operator's
    and the team's names) and nothing else of the seven joined records: ~35 columns instead of ~190."""
    own = [f.name for f in Cell._meta.concrete_fields if f.name not in ("notes", "postmortem_notes")]
    qs = Cell.objects.select_related(
        "team", "operator", "membrane__batch__recipe_version__recipe", "pellet"
    ).only(*own, "team__name", *_JOINED_SHOWN)
    return scope_to_teams(qs, user)


#: what a row of the cell list page shows, as columns (``cell_page_rows`` makes its texts)
CELL_PAGE_COLUMNS = (
    "id",
    "code",
    "configuration",
    "cell_format",
    "format_detail",
    "membrane_id",
    "membrane__code",
    "pellet__code",
    "membrane__batch__recipe_version__recipe__name",
    "membrane__batch__recipe_version__number",
    "membrane__filler_fraction",
    "active_area",
    "state",
    "assembled_at",
    "operator__username",
    "operator__first_name",
    "operator__last_name",
    "team__name",
)
_CONFIGURATIONS = labels(Configuration.choices)
_FORMATS = labels(CellFormat.choices)
_STATES = labels(CellState.choices)


def cell_page_rows(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The texts of the cell list page's rows, from ``CELL_PAGE_COLUMNS`` (what the template printed from the
    cell and its records: ``get_configuration_display``, ``str(recipe_version)``, ``str(operator)``...)."""
    # read once for the page, not per row (each a look-up in asgiref's Local)
    zone, language, cell_url = timezone.get_current_timezone(), get_language(), id_urls("cells:cell-detail")
    out = []
    for (
        pk,
        code,
        configuration,
        cell_format,
        format_detail,
        membrane_id,
        membrane_code,
        pellet_code,
        recipe_name,
        version_number,
        filler_fraction,
        active_area,
        state,
        assembled_at,
        username,
        first_name,
        last_name,
        team_name,
    ) in rows:
        shape = str(choice_label(_FORMATS, cell_format))
        has_membrane = membrane_id is not None
        out.append(
            {
                "url": cell_url(pk),
                "code": code,
                "configuration": choice_label(_CONFIGURATIONS, configuration),
                "format": f"{shape} {format_detail}" if format_detail else shape,
                "electrolyte": membrane_code if has_membrane else f"{pellet_code or ''} (pellet)",
                "recipe": recipe_version_label(recipe_name, version_number) if has_membrane else None,
                "filler": percent_text(filler_fraction),
                "area": fixed(active_area, 3, language),
                "state": state,
                "state_label": choice_label(_STATES, state),
                "assembled": minute_text(assembled_at, zone),
                "operator": user_label(username, first_name, last_name),
                "team": team_name,
            }
        )
    return out


def _page_rows_base() -> QuerySet[Cell]:
    return Cell.objects.all()


#: the cell list page in its default order, without filters: compiled once (the page most people open first)
_CELL_PAGE_DEFAULT_ORDER = ("assembled_at", "-code")


def _listing(scope: str) -> tuple[CompiledCount, CompiledValues]:
    def build(*teams: Any) -> QuerySet[Cell]:
        return in_team_scope(_page_rows_base(), scope, teams[0] if teams else None)

    kinds = scope_kinds(scope)
    order = Sorting.ordering(Cell, _CELL_PAGE_DEFAULT_ORDER, True)
    return (
        CompiledCount(build, *kinds),
        CompiledValues(lambda *t: build(*t).order_by(*order).values_list(*CELL_PAGE_COLUMNS), *kinds),
    )


_LISTINGS = {scope: _listing(scope) for scope in ("one", "many", "")}


def cell_page_listing(*, user: Any, per_page: int, page_text: str | None, also: Any = None) -> CompiledRows:
    """The cell list page unfiltered, in its default order (``-assembled``), as ``cell_page_rows``: the count and
    the page's rows in one round trip, through statements compiled once (one team compared with ``=``, so that
    the ``(team, -assembled_at, code)`` index serves the page)."""
    scope, args = team_scope(None if user.is_staff else team_ids_for(user))
    count, values = _LISTINGS[scope]
    return CompiledRows(
        lambda: count.statement(*args),
        lambda low, high: values.statement(*args, low=low, high=high),
        cell_page_rows,
        per_page=per_page,
        page_text=page_text,
        also=also,
        # as the page was before it read compiled rows (lims/plans.py): the team's cells by an array of teams
        # looked dearer on a generic plan than they are, and were re-planned on every run
        generic_plans=True,
    )


def cell_rows_for_api(*, user: Any) -> QuerySet[Cell]:
    """The API's cell list (CellSerializer): the cell's own columns and, of the joined records, only the codes,
    names and numbers the serializer prints (a page of 50 then reads ~40 columns instead of ~190)."""
    return scope_to_teams(cell_api_rows(), user)


def cell_api_rows() -> QuerySet[Cell]:
    """``cell_rows_for_api`` before the team scope (for the compiled detail: cells.api.views)."""
    own = [f.name for f in Cell._meta.concrete_fields]
    return Cell.objects.select_related(
        "operator", "membrane__batch__recipe_version__recipe", "pellet", "cathode"
    ).only(*own, *_JOINED_SHOWN, "cathode__code")


def cell_detail_for_api(*, user: Any) -> QuerySet[Cell]:
    """The API's cell detail (CellDetailSerializer): the list's columns, and of the parts and state changes only
    what the serializer prints (the page's cell_detail also joins suppliers, electrode lots and whole users:
    compiling and loading those was most of the request)."""
    return cell_rows_for_api(user=user).prefetch_related(*cell_detail_prefetch_for_api())


def cell_detail_prefetch_for_api() -> list[Prefetch]:
    """The parts and state changes of ``cell_detail_for_api``, as prefetches (new querysets on every call)."""
    return [
        Prefetch("components", queryset=_api_components()),
        Prefetch("state_changes", queryset=_api_changes()),
    ]


def api_components() -> QuerySet[CellComponent]:
    """A cell's parts as the API's cell detail prints them (before the filter by cell)."""
    return _api_components()


def api_state_changes() -> QuerySet[CellStateChange]:
    """A cell's state changes as the API's cell detail prints them (before the filter by cell)."""
    return _api_changes()


def _api_components() -> QuerySet[CellComponent]:
    own = [f.name for f in CellComponent._meta.concrete_fields]
    return CellComponent.objects.select_related("lot__chemical", "electrode").only(
        *own, "lot__code", "lot__chemical__name", "electrode__code"
    )


def _api_changes() -> QuerySet[CellStateChange]:
    own = [f.name for f in CellStateChange._meta.concrete_fields]
    return CellStateChange.objects.select_related("actor").only(
        *own, "actor__username", "actor__first_name", "actor__last_name"
    )


#: the prefetches of ``cell_detail_for_api`` for one cell, compiled once per process (the API's compiled detail)
CELL_API_CHILDREN: dict[str, CompiledQuery[Any]] = {
    "components": CompiledQuery(lambda cell_id: _api_components().filter(cell_id=cell_id), int),
    "state_changes": CompiledQuery(lambda cell_id: _api_changes().filter(cell_id=cell_id), int),
}


def cell_detail(*, user: Any) -> QuerySet[Cell]:
    """Cells with their composition and state history prefetched, for a detail page or API response."""
    return cell_list(user=user).prefetch_related(
        Prefetch("components", queryset=_detail_components()),
        Prefetch("state_changes", queryset=_detail_changes()),
    )


def _detail_components() -> QuerySet[CellComponent]:
    joined = ("lot__chemical", "lot__supplier", "electrode__active_lot__chemical")
    return without_bookkeeping(
        CellComponent.objects.select_related(*joined),
        "lot",
        "lot__chemical",
        "lot__supplier",
        "electrode",
        "electrode__active_lot",
        "electrode__active_lot__chemical",
    )


def _detail_changes() -> QuerySet[CellStateChange]:
    return without_bookkeeping(CellStateChange.objects.select_related("actor"), "actor")


_PAGE_CELL: ScopedQuery[Cell] = ScopedQuery(_cell_rows, lambda qs, pk: qs.filter(pk=pk), int)
_PAGE_COMPONENTS: CompiledQuery[CellComponent] = CompiledQuery(
    lambda cell_id: _detail_components().filter(cell_id=cell_id), int
)
_PAGE_CHANGES: CompiledQuery[CellStateChange] = CompiledQuery(
    lambda cell_id: _detail_changes().filter(cell_id=cell_id), int
)


def cell_for_page(*, user: Any, pk: int) -> Cell | None:
    """``cell_detail(user=user)``'s cell ``pk`` (None if the user may not see it), through queries compiled once
    per process: the cell, its parts and its state changes (three queries, none compiled per request)."""
    cell = _PAGE_CELL.one(user, pk)
    if cell is not None:
        attach_children(cell, "components", _PAGE_COMPONENTS.all(cell.pk))
        attach_children(cell, "state_changes", _PAGE_CHANGES.all(cell.pk))
    return cell


@dataclass
class CellPage:
    """What the cell page shows of a cell, and what its provenance walk may take of it (``known``)."""

    cell: Cell
    attachments: list[Any]
    results: list[Any]
    measurements: list[Any]
    known: Known


def cell_page_reads(*, user: Any, pk: int) -> list[Statement | None] | None:
    """The statements of ``cell_page`` (to run with ``run_each`` on generic plans, or with the session's read:
    ``lims.authentication.reads_with_session``); None when the user may see no cell at all."""
    from django.contrib.contenttypes.models import ContentType

    from measurements import selectors_derived, selectors_ingest  # measurements imports cells

    cell_read = _PAGE_CELL.statement(user, pk)
    if cell_read is None:
        return None
    return [
        cell_read,
        _PAGE_COMPONENTS.statement(pk),
        _PAGE_CHANGES.statement(pk),
        _ATTACHMENTS.statement(ContentType.objects.get_for_model(Cell).pk, pk),
        selectors_derived.headline_statement(user, pk),
        selectors_ingest.latest_measurements_statement(user, pk),
        _PAGE_DRAWS.statement(pk),
        _PAGE_LOTS.statement(*[pk] * 9),
    ]


def cell_page(*, user: Any, pk: int, read: list[Any] | None = None) -> CellPage | None:
    """The cell page's reads of cell ``pk`` (``cell_page_reads``): the cell with its parts and state changes
    (``cell_for_page``), its attachments (``attachment_rows``), headline results (``cell_headline``), latest
    measurements (``latest_measurements_of_cell``), and for its provenance walk the draws of its membrane's batch
    and every lot its lineage can reach; all in one round trip, on generic plans (each is a look-up by key), the
    switch and its reset in the same round trip (``run_each`` with ``lims.plans.run_on_generic_plans``). None if
    the user may not see the cell (then the other reads are left unused). ``read``: their results when they were
    read already, for this user, with the session (``lims.authentication.reads_with_session``).

    ``known`` holds what the walk would read of the cell (``known_of_cell``), the draws and the lots: the walk
    takes of those only the records it reaches through what the user may see (``Known.take``), so the lots
    read beyond those (through another team's membrane, say) are never shown."""
    from lims.plans import run_on_generic_plans
    from measurements import selectors_derived  # measurements imports cells

    if read is None:
        statements = cell_page_reads(user=user, pk=pk)
        if statements is None:
            return None
        read = run_each(statements, run=run_on_generic_plans)
    found, components, changes, attachments, results, measurements, draws, lots = read
    if len(found) != 1:
        return None
    cell = found[0]
    attach_children(cell, "components", components)
    attach_children(cell, "state_changes", changes)
    known = known_of_cell(cell)
    if cell.membrane_id and cell.membrane is not None:
        known.add("batch_components", cell.membrane.batch_id, list(draws))
    for lot in lots:
        known.add("lot", lot.pk, lot)
    return CellPage(cell, attachments, selectors_derived.headline_order(results), measurements, known)


def component_texts(components: Iterable[CellComponent]) -> list[dict[str, Any]]:
    """The cell page's composition table, one dict per part (the page's template prints them): what the template
    wrote from the part: its kind's label, ``position|default:"—"``, its lot and chemical or its electrode and the
    electrode's active material, ``area|floatformat:4``, ``mass_used|floatformat:5``. The labels are looked up in
    one table (``get_kind_display`` builds a table of every choice on each call)."""
    kinds = labels(CellComponent._meta.get_field("kind").flatchoices)
    language = get_language()
    out = []
    for c in components:
        lot, electrode = (c.lot if c.lot_id else None), (c.electrode if c.electrode_id else None)
        out.append(
            {
                "kind": choice_label(kinds, c.kind),
                "position": c.position or "—",
                "lot_code": lot.code if lot is not None else None,
                "lot_chemical": lot.chemical.name if lot is not None else None,
                "electrode_code": electrode.code if electrode is not None else None,
                "electrode_chemical": electrode.active_lot.chemical.name if electrode is not None else None,
                "area": None if c.area is None else fixed(c.area, 4, language),
                "mass_used": None if c.mass_used is None else fixed(c.mass_used, 5, language),
            }
        )
    return out


def state_change_texts(changes: Iterable[CellStateChange]) -> list[dict[str, Any]]:
    """The cell page's state changes, one dict per change (the page's template prints them):
    ``at|date:"Y-m-d H:i"``, the states' labels, ``actor|default:"—"``, ``reason|default:"—"``."""
    zone = timezone.get_current_timezone()
    states = labels(CellStateChange._meta.get_field("to_state").flatchoices)
    return [
        {
            "at": minute_text(s.at, zone),
            "from": choice_label(states, s.from_state),
            "to": choice_label(states, s.to_state),
            "actor": "—" if s.actor is None else str(s.actor),
            "reason": s.reason or "—",
        }
        for s in changes
    ]


def measurement_link_texts(measurements: Iterable[Any]) -> list[dict[str, Any]]:
    """The cell page's links to its latest measurements (the page's template prints them): the page of each, its
    technique's label, ``temperature|floatformat:"-1"`` and the uploaded file's name."""
    measurements = list(measurements)
    if not measurements:
        return []
    techniques = labels(type(measurements[0])._meta.get_field("technique").flatchoices)
    language, measurement_url = get_language(), id_urls("measurements:measurement-detail")
    return [
        {
            "url": measurement_url(m.pk),
            "pk": m.pk,
            "technique": choice_label(techniques, m.technique),
            "temperature": None if m.temperature is None else fixed(m.temperature, -1, language),
            "original_name": m.upload.original_name,
        }
        for m in measurements
    ]


def cells_on_test(*, user: Any, limit: int = 10) -> list[Cell]:
    return list(cell_list(user=user).filter(state=CellState.ON_TEST).order_by("state_changed_at")[:limit])


def find_cell_by_code(*, user: Any, code: str) -> Cell | None:
    return cell_list(user=user).filter(code__iexact=code.strip()).first()


def attachments_of(cell: Cell) -> QuerySet[Any]:
    from django.contrib.contenttypes.models import ContentType

    return _attachments(ContentType.objects.get_for_model(Cell).pk, cell.pk)


def attachment_rows(cell: Cell) -> list[Any]:
    """``list(attachments_of(cell))`` through a query compiled once per process (the cell page)."""
    from django.contrib.contenttypes.models import ContentType

    return _ATTACHMENTS.all(ContentType.objects.get_for_model(Cell).pk, cell.pk)


def _attachments(content_type_id: int, object_id: int) -> QuerySet[Any]:
    from lims.models import Attachment

    return Attachment.objects.filter(content_type_id=content_type_id, object_id=object_id).order_by(
        "created_at"
    )


_ATTACHMENTS: CompiledQuery[Any] = CompiledQuery(_attachments, int, int)


# ------------------------------------------------------------------------------------------------ provenance

#: Where each kind of record is shown: candidate URL names (the first that resolves wins), else a fixed path.
_URLS: dict[str, tuple[tuple[str, ...], str]] = {
    "cell": (("cells:cell-detail",), "/cells/{id}/"),
    "membrane": (("formulations:membrane-detail",), "/membranes/{id}/"),
    "pellet": (("formulations:pellet-detail",), "/pellets/{id}/"),
    "electrode": (("formulations:electrode-detail",), "/electrodes/{id}/"),
    "batch": (("formulations:batch-detail",), "/batches/{id}/"),
    "recipe": (("formulations:recipe-detail",), "/recipes/{id}/"),
    "recipe_version": (("formulations:version-detail",), "/recipes/versions/{id}/"),
    "lot": (("formulations:lot-detail",), "/inventory/lots/{id}/"),
    "chemical": (("formulations:chemical-detail",), "/inventory/chemicals/{id}/"),
    "supplier": (("formulations:supplier-detail",), "/inventory/suppliers/"),
    "measurement": (("measurements:measurement-detail",), "/measurements/{id}/"),
    "series": (("measurements:series-detail",), "/series/{id}/"),
    "derived": (("measurements:derived-detail",), "/derived/{id}/"),
}
_resolved: dict[str, str | None] = {}


def record_url(kind: str, pk: int, **extra: Any) -> str:
    """The page of a record. URL names are tried once per process; pages not (yet) named use a fixed path."""
    names, fallback = _URLS[kind]
    if kind not in _resolved:
        _resolved[kind] = None
        for name in names:
            try:
                reverse(name, args=[0])
            except NoReverseMatch:
                continue
            _resolved[kind] = name
            break
    resolved = _resolved[kind]
    if resolved is not None:
        return id_url(resolved, pk)
    return fallback.format(id=pk, **extra)


@dataclass
class Graph:
    """Nodes and edges of a provenance graph; an edge points from what was used to what was made from it."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: dict[tuple[str, str, str], None] = field(default_factory=dict)

    def node(self, kind: str, pk: int, label: str, url: str = "", **extra: Any) -> str:
        key = f"{kind}:{pk}"
        if key not in self.nodes:
            self.nodes[key] = {
                "id": key,
                "kind": kind,
                "label": label,
                "url": url or record_url(kind, pk),
                **extra,
            }
        return key

    def edge(self, source: str, target: str, relation: str) -> None:
        self.edges[(source, target, relation)] = None

    def as_dict(self) -> dict[str, list[dict[str, Any]]]:
        present = self.nodes.keys()
        return {
            "nodes": list(self.nodes.values()),
            "edges": [
                {"source": s, "target": t, "relation": r}
                for (s, t, r) in self.edges
                if s in present and t in present  # records the user may not see are left out
            ],
        }


def _team_filter(qs: QuerySet[Any], team_ids: list[int] | None, field_name: str = "team_id") -> QuerySet[Any]:
    return qs if team_ids is None else qs.filter(**{f"{field_name}__in": team_ids})


def visible_team_ids(user: Any) -> list[int] | None:
    """None (no restriction) for staff, else the ids of the user's teams."""
    if user is not None and user.is_authenticated and user.is_staff:
        return None
    return team_ids_for(user)


# --- node helpers (labels from rows already loaded: never a query) -----------------------------------------


def _cell_node(g: Graph, c: Cell) -> str:
    return g.node("cell", c.pk, c.code, detail=f"{c.get_configuration_display()}, {c.get_state_display()}")


def _membrane_node(g: Graph, m: Membrane) -> str:
    detail = f"{m.thickness_um:.0f} um"
    if m.filler_fraction is not None:
        detail += f", {m.filler_fraction * 100:g} wt% filler"
    return g.node("membrane", m.pk, m.code, detail=detail)


def _pellet_node(g: Graph, p: Pellet) -> str:
    return g.node("pellet", p.pk, p.code, detail=f"{p.final_thickness:g} mm thick")


def _electrode_node(g: Graph, e: Electrode) -> str:
    return g.node("electrode", e.pk, e.code, detail=f"active mass {e.active_mass * 1000:.3g} mg")


def _batch_node(g: Graph, b: Batch) -> str:
    return g.node("batch", b.pk, b.code, detail=b.get_status_display())


def _lot_node(g: Graph, lot: StockLot) -> str:
    return g.node("lot", lot.pk, f"{lot.code} · {lot.chemical.name}", detail=lot.supplier_lot_number)


def _measurement_node(g: Graph, m: Any) -> str:
    temperature = f" at {m.temperature:g} degC" if m.temperature is not None else ""
    return g.node("measurement", m.pk, f"{m.get_technique_display()} #{m.pk}{temperature}")


def _derived_node(g: Graph, d: Any) -> str:
    return g.node("derived", d.pk, f"{d.name} = {d.value:.4g} {d.unit}", detail=d.method)


# --- upward: from results to the lots and suppliers behind them ---------------------------------------------


def _measurements_model(name: str) -> Any:
    from measurements import models  # measurements imports cells: not at module level

    return getattr(models, name)


def _draw_rows() -> QuerySet[BatchComponent]:
    return BatchComponent.objects.only("batch_id", "lot_id")


def _lot_rows() -> QuerySet[StockLot]:
    return StockLot.objects.select_related("chemical", "supplier").only(
        "id",
        "code",
        "supplier_lot_number",
        "chemical__id",
        "chemical__name",
        "chemical__abbreviation",
        "supplier__id",
        "supplier__name",
    )


#: the queries of ``provenance_up``, compiled once per process (lims/compiled.py): the same querysets as before,
#: by ``__any`` instead of ``__in``
#: what the graph's nodes and edges read of each kind (the node helpers above and the walk below): the walk reads
#: those columns only (whole rows were ~190 columns of timestamps and notes for a cell's dozen records)
_MEASUREMENT_COLUMNS = ("id", "team_id", "technique", "temperature", "cell_id", "membrane_id", "pellet_id")
_UP: dict[str, CompiledByIds[Any]] = {
    "derived": CompiledByIds(
        lambda: _measurements_model("DerivedProperty").objects.only(
            "id",
            "team_id",
            "name",
            "value",
            "unit",
            "method",
            "measurement_id",
            "series_id",
            "cell_id",
            "membrane_id",
            "pellet_id",
        )
    ),
    "series": CompiledByIds(
        lambda: _measurements_model("MeasurementSeries").objects.only(
            "id", "team_id", "name", "kind", "cell_id"
        )
    ),
    "series_members": CompiledByIds(
        lambda: _measurements_model("SeriesMember").objects.only("series_id", "measurement_id"),
        field="series_id",
        team_field=None,
    ),
    "measurement": CompiledByIds(
        lambda: _measurements_model("Measurement").objects.only(*_MEASUREMENT_COLUMNS)
    ),
    "cell": CompiledByIds(
        lambda: Cell.objects.only(
            "id", "team_id", "code", "configuration", "state", "membrane_id", "pellet_id", "cathode_id"
        )
    ),
    "cell_components": CompiledByIds(
        lambda: CellComponent.objects.only("cell_id", "kind", "lot_id", "electrode_id"),
        field="cell_id",
        team_field=None,
    ),
    "electrode": CompiledByIds(
        lambda: Electrode.objects.only(
            "id", "team_id", "code", "active_mass", "active_lot_id", "conductive_lot_id", "binder_lot_id"
        )
    ),
    "membrane": CompiledByIds(
        lambda: Membrane.objects.only(
            "id",
            "team_id",
            "code",
            "thickness_measured",
            "thickness_from_mass",
            "filler_fraction",
            "batch_id",
        )
    ),
    "pellet": CompiledByIds(
        lambda: Pellet.objects.only("id", "team_id", "code", "final_thickness", "lot_id")
    ),
    "batch": CompiledByIds(
        lambda: Batch.objects.select_related("recipe_version__recipe").only(
            "id",
            "team_id",
            "code",
            "status",
            "recipe_version__id",
            "recipe_version__number",
            "recipe_version__filler_fraction",
            "recipe_version__recipe__id",
            "recipe_version__recipe__name",
        )
    ),
    "batch_components": CompiledByIds(_draw_rows, field="batch_id", team_field=None),
    "lot": CompiledByIds(_lot_rows, team_field=None),
}


def _draws_of_cell(cell_id: int) -> QuerySet[BatchComponent]:
    """The draws of the batch a cell's membrane was cast from, as the walk reads a batch's draws."""
    return _draw_rows().filter(batch__membranes__cells__id=cell_id)


def _lots_of_cell(*cell_id: int) -> QuerySet[StockLot]:
    """Every lot a cell's lineage can reach, as the walk reads lots: its parts' lots, the lots of its parts'
    electrodes and of its cathode, its pellet's powder and its membrane's batch's draws. ``cell_id``: the cell's
    id nine times (a compiled query binds each argument in one place)."""
    ids = iter(cell_id)
    part_electrodes = [
        Electrode.objects.filter(
            id__in=CellComponent.objects.filter(cell_id=next(ids)).values("electrode_id")
        )
        for _ in range(3)
    ]
    cathodes = [Electrode.objects.filter(cells__id=next(ids)) for _ in range(3)]
    columns = ("active_lot_id", "conductive_lot_id", "binder_lot_id")
    sources: list[QuerySet[Any]] = [
        *(e.values(column) for e, column in zip(part_electrodes, columns, strict=True)),
        *(e.values(column) for e, column in zip(cathodes, columns, strict=True)),
        Pellet.objects.filter(cells__id=next(ids)).values("lot_id"),
        _draws_of_cell(next(ids)).values("lot_id"),
    ]
    parts = CellComponent.objects.filter(cell_id=next(ids), lot_id__isnull=False).values("lot_id").order_by()
    return _lot_rows().filter(id__in=parts.union(*(q.order_by() for q in sources), all=True))


_PAGE_DRAWS: CompiledQuery[BatchComponent] = CompiledQuery(_draws_of_cell, int)
_PAGE_LOTS: CompiledQuery[StockLot] = CompiledQuery(_lots_of_cell, *[int] * 9)


class Known:
    """Records a caller of ``provenance_up`` has read already, by the walk's kinds: for a kind read by id
    (``cell``, ``membrane``...) the records by id; for a kind read by its parent (``cell_components``,
    ``batch_components``) the parent's full list of children, by parent id. Each record must hold the columns the
    walk's own query reads of it (``_UP``), i.e. be the record itself or a fuller read of it."""

    def __init__(self) -> None:
        self._by_kind: dict[str, dict[int, Any]] = defaultdict(dict)

    def add(self, kind: str, key: int, value: Any) -> None:
        """``value``: the record with id ``key``, or (a kind read by parent) the list of parent ``key``'s children."""
        if kind not in _UP:
            raise KeyError(f"the provenance walk reads no {kind!r}")
        self._by_kind[kind][key] = value

    def take(self, kind: str, ids: Iterable[int], team_ids: list[int] | None) -> tuple[list[Any], set[int]]:
        """The known records of ``ids`` that ``_UP[kind].rows(ids, team_ids)`` would return, and the ids not
        known (to read). By-parent kinds are not scoped (as their query is not); the others keep a record when
        there is no restriction (None) or its team is one of ``team_ids``, as the query's ``team_id__any``."""
        have = self._by_kind.get(kind, {})
        query = _UP[kind]
        by_parent = query.field != "id"
        team_field = query.team_field if team_ids is not None else None
        rows: list[Any] = []
        missing: set[int] = set()
        for i in ids:
            if i not in have:
                missing.add(i)
            elif by_parent:
                rows.extend(have[i])
            elif team_field is None or getattr(have[i], team_field) in team_ids:  # type: ignore[operator]
                rows.append(have[i])
        return rows, missing

    def read(self, asks: list[tuple[str, set[int], list[int] | None]]) -> list[list[Any]]:
        """For each ``(kind, ids, team_ids)``: the known records, and the others read, the reads in one round
        trip (as ``run_each`` of the walk's statements)."""
        taken = [self.take(kind, ids, team_ids) for kind, ids, team_ids in asks]
        statements = [
            _UP[kind].statement(missing, team_ids if _UP[kind].team_field is not None else None)
            for (kind, _, team_ids), (_, missing) in zip(asks, taken, strict=True)
        ]
        read = run_each(statements)
        return [rows + list(more) for (rows, _), more in zip(taken, read, strict=True)]


def known_of_cell(cell: Cell) -> Known:
    """What the cell page has read of ``cell`` (``cell_page``: the cell with its electrolyte's chain, pellet and
    cathode; its parts with their electrodes), for its provenance walk."""
    known = Known()
    known.add("cell", cell.pk, cell)
    components = list(cell.components.all())
    known.add("cell_components", cell.pk, components)
    electrodes = [c.electrode for c in components if c.electrode_id] + (
        [cell.cathode] if cell.cathode_id else []
    )
    for electrode in electrodes:
        if electrode is not None:
            known.add("electrode", electrode.pk, electrode)
    if cell.pellet_id and cell.pellet is not None:
        known.add("pellet", cell.pellet.pk, cell.pellet)
    membrane = cell.membrane if cell.membrane_id else None
    if membrane is not None:
        known.add("membrane", membrane.pk, membrane)
        known.add("batch", membrane.batch.pk, membrane.batch)
    return known


def provenance_up(
    *,
    cells: Iterable[int] = (),
    measurements: Iterable[int] = (),
    derived: Iterable[int] = (),
    team_ids: list[int] | None = None,
    known: Known | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Everything the given cells / measurements / derived properties were made from, up to the suppliers.

    derived property -> measurement / series -> cell -> electrolyte (membrane -> batch -> recipe version ->
    recipe; batch components -> lots; pellet -> powder lot), cathode electrode -> its lots, cell components ->
    lots; lots -> chemical and supplier. About a dozen queries whatever the size of the graph.

    ``known``: records the caller has read already (``known_of_cell``: the cell page holds the cell, its parts,
    electrolyte and electrodes); the walk takes them instead of reading them again, keeping those the team
    scope allows as its queries would (``Known.take``), and reads only the rest.
    """
    known = known or Known()
    g = Graph()
    pending: dict[str, set[int]] = defaultdict(set)
    pending["cell"].update(cells)
    pending["measurement"].update(measurements)
    pending["derived"].update(derived)

    if pending["derived"]:
        for d in _UP["derived"].rows(pending["derived"], team_ids):
            key = _derived_node(g, d)
            for kind, pk in (
                ("measurement", d.measurement_id),
                ("series", d.series_id),
                ("cell", d.cell_id),
                ("membrane", d.membrane_id),
                ("pellet", d.pellet_id),
            ):
                if pk:
                    pending[kind].add(pk)
                    g.edge(f"{kind}:{pk}", key, "computed from")
    if pending["series"]:
        # the series and their members in one round trip; the members of a series not shown are left out
        series_rows, members = run_each(
            [
                _UP["series"].statement(pending["series"], team_ids),
                _UP["series_members"].statement(pending["series"]),
            ]
        )
        pending["series"] = {s.pk for s in series_rows}
        for s in series_rows:
            key = g.node("series", s.pk, s.name, detail=s.get_kind_display())
            if s.cell_id:
                pending["cell"].add(s.cell_id)
                g.edge(f"cell:{s.cell_id}", key, "series on")
        for member in members:
            if member.series_id not in pending["series"]:
                continue
            pending["measurement"].add(member.measurement_id)
            g.edge(f"measurement:{member.measurement_id}", f"series:{member.series_id}", "member of")
    if pending["measurement"]:
        for m in _UP["measurement"].rows(pending["measurement"], team_ids):
            key = _measurement_node(g, m)
            for kind, pk in (("cell", m.cell_id), ("membrane", m.membrane_id), ("pellet", m.pellet_id)):
                if pk:
                    pending[kind].add(pk)
                    g.edge(f"{kind}:{pk}", key, "measured on")
    if pending["cell"]:
        # the cells and their parts in one round trip; the parts of a cell not shown are left out
        cell_rows, components = known.read(
            [("cell", pending["cell"], team_ids), ("cell_components", pending["cell"], None)]
        )
        pending["cell"] = {c.pk for c in cell_rows}  # only what the user may see is walked further
        for c in cell_rows:
            key = _cell_node(g, c)
            if c.membrane_id:
                pending["membrane"].add(c.membrane_id)
                g.edge(f"membrane:{c.membrane_id}", key, "electrolyte of")
            if c.pellet_id:
                pending["pellet"].add(c.pellet_id)
                g.edge(f"pellet:{c.pellet_id}", key, "electrolyte of")
            if c.cathode_id:
                pending["electrode"].add(c.cathode_id)
                g.edge(f"electrode:{c.cathode_id}", key, "cathode of")
        for comp in components:
            if comp.cell_id not in pending["cell"]:
                continue
            if comp.lot_id:
                pending["lot"].add(comp.lot_id)
                g.edge(f"lot:{comp.lot_id}", f"cell:{comp.cell_id}", ComponentKind(comp.kind).label)
            if comp.electrode_id and comp.kind != ComponentKind.CATHODE:
                pending["electrode"].add(comp.electrode_id)
                g.edge(f"electrode:{comp.electrode_id}", f"cell:{comp.cell_id}", "electrode of")
    # the electrodes, membranes and pellets in one round trip
    electrodes, membranes, pellets = known.read(
        [
            ("electrode", pending["electrode"], team_ids),
            ("membrane", pending["membrane"], team_ids),
            ("pellet", pending["pellet"], team_ids),
        ]
    )
    for e in electrodes:
        key = _electrode_node(g, e)
        for lot_id, relation in (
            (e.active_lot_id, "active material of"),
            (e.conductive_lot_id, "conductive additive of"),
            (e.binder_lot_id, "binder of"),
        ):
            if lot_id:
                pending["lot"].add(lot_id)
                g.edge(f"lot:{lot_id}", key, relation)
    for m in membranes:
        key = _membrane_node(g, m)
        pending["batch"].add(m.batch_id)
        g.edge(f"batch:{m.batch_id}", key, "cast into")
    for p in pellets:
        key = _pellet_node(g, p)
        pending["lot"].add(p.lot_id)
        g.edge(f"lot:{p.lot_id}", key, "pressed into")
    if pending["batch"]:
        # the batches and their draws in one round trip; the draws of a batch not shown are left out
        batches, draws = known.read(
            [("batch", pending["batch"], team_ids), ("batch_components", pending["batch"], None)]
        )
        pending["batch"] = {b.pk for b in batches}
        for b in batches:
            key = _batch_node(g, b)
            version = b.recipe_version
            recipe = version.recipe
            vkey = g.node(
                "recipe_version",
                version.pk,
                f"{recipe.name} v{version.number}",
                detail=(
                    f"{version.filler_fraction * 100:g} wt% filler"
                    if version.filler_fraction is not None
                    else ""
                ),
            )
            rkey = g.node("recipe", recipe.pk, recipe.name)
            g.edge(vkey, key, "recipe of")
            g.edge(rkey, vkey, "version of")
        for bc in draws:
            if bc.batch_id not in pending["batch"]:
                continue
            pending["lot"].add(bc.lot_id)
            g.edge(f"lot:{bc.lot_id}", f"batch:{bc.batch_id}", "drawn into")
    if pending["lot"]:
        for lot in known.read([("lot", pending["lot"], None)])[0]:
            key = _lot_node(g, lot)
            ckey = g.node("chemical", lot.chemical_id, str(lot.chemical))
            g.edge(ckey, key, "lot of")
            if lot.supplier_id:
                skey = g.node("supplier", lot.supplier_id, lot.supplier.name)  # type: ignore[union-attr]
                g.edge(skey, key, "supplied")
    return g.as_dict()


# --- downward: where a lot, batch, membrane, pellet or electrode was used -------------------------------------


def where_used(
    *,
    lots: Iterable[int] = (),
    batches: Iterable[int] = (),
    membranes: Iterable[int] = (),
    pellets: Iterable[int] = (),
    electrodes: Iterable[int] = (),
    team_ids: list[int] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Everything made from the given records, down to cells, measurements and derived properties.

    "Which cells used LiFSI lot X" (for a recall): lot -> batches (draws) -> membranes -> cells -> measurements
    -> derived properties; lot -> pellets, electrodes and cell components (Li foil) as well. One query per
    relation, each with all the ids found so far, whatever the size of the graph.
    """
    from measurements.models import DerivedProperty, Measurement

    g = Graph()
    lot_ids, batch_ids = set(lots), set(batches)
    membrane_ids, pellet_ids, electrode_ids = set(membranes), set(pellets), set(electrodes)
    cell_ids: set[int] = set()
    measurement_ids: set[int] = set()

    # the starting records themselves
    if lot_ids:
        for lot in StockLot.objects.filter(id__in=lot_ids).select_related("chemical"):
            _lot_node(g, lot)
        for bc in BatchComponent.objects.filter(lot_id__in=lot_ids).select_related("batch"):
            if team_ids is None or bc.batch.team_id in team_ids:
                batch_ids.add(bc.batch_id)
                _batch_node(g, bc.batch)
                g.edge(f"lot:{bc.lot_id}", f"batch:{bc.batch_id}", "drawn into")
        for p in _team_filter(Pellet.objects.filter(lot_id__in=lot_ids), team_ids):
            pellet_ids.add(p.pk)
            _pellet_node(g, p)
            g.edge(f"lot:{p.lot_id}", f"pellet:{p.pk}", "pressed into")
        for e in _team_filter(
            Electrode.objects.filter(
                Q(active_lot_id__in=lot_ids) | Q(conductive_lot_id__in=lot_ids) | Q(binder_lot_id__in=lot_ids)
            ),
            team_ids,
        ):
            electrode_ids.add(e.pk)
            _electrode_node(g, e)
            for lot_id, relation in (
                (e.active_lot_id, "active material of"),
                (e.conductive_lot_id, "conductive additive of"),
                (e.binder_lot_id, "binder of"),
            ):
                if lot_id in lot_ids:
                    g.edge(f"lot:{lot_id}", f"electrode:{e.pk}", relation)
        for comp in CellComponent.objects.filter(lot_id__in=lot_ids).select_related("cell"):
            if team_ids is None or comp.cell.team_id in team_ids:
                cell_ids.add(comp.cell_id)
                _cell_node(g, comp.cell)
                g.edge(f"lot:{comp.lot_id}", f"cell:{comp.cell_id}", ComponentKind(comp.kind).label)
    start_batches = set(batches) - {int(k.split(":")[1]) for k in g.nodes if k.startswith("batch:")}
    if start_batches:
        for b in _team_filter(Batch.objects.filter(id__in=start_batches), team_ids):
            _batch_node(g, b)
    if batch_ids:
        for m in _team_filter(Membrane.objects.filter(batch_id__in=batch_ids), team_ids):
            membrane_ids.add(m.pk)
            _membrane_node(g, m)
            g.edge(f"batch:{m.batch_id}", f"membrane:{m.pk}", "cast into")
    start: dict[str, tuple[Any, set[int], Any]] = {
        "membrane": (Membrane, set(membranes), _membrane_node),
        "pellet": (Pellet, set(pellets), _pellet_node),
        "electrode": (Electrode, set(electrodes), _electrode_node),
    }
    for kind, (model, ids, make) in start.items():
        missing = {pk for pk in ids if f"{kind}:{pk}" not in g.nodes}
        if missing:
            for row in _team_filter(model.objects.filter(id__in=missing), team_ids):
                make(g, row)
    if membrane_ids or pellet_ids or electrode_ids:
        cells_q = (
            Q(membrane_id__in=membrane_ids) | Q(pellet_id__in=pellet_ids) | Q(cathode_id__in=electrode_ids)
        )
        for c in _team_filter(Cell.objects.filter(cells_q), team_ids):
            cell_ids.add(c.pk)
            key = _cell_node(g, c)
            if c.membrane_id in membrane_ids:
                g.edge(f"membrane:{c.membrane_id}", key, "electrolyte of")
            if c.pellet_id in pellet_ids:
                g.edge(f"pellet:{c.pellet_id}", key, "electrolyte of")
            if c.cathode_id in electrode_ids:
                g.edge(f"electrode:{c.cathode_id}", key, "cathode of")
    if cell_ids or membrane_ids or pellet_ids:
        mq = Q(cell_id__in=cell_ids) | Q(membrane_id__in=membrane_ids) | Q(pellet_id__in=pellet_ids)
        for m in _team_filter(Measurement.objects.filter(mq), team_ids):
            measurement_ids.add(m.pk)
            key = _measurement_node(g, m)
            for kind, pk in (("cell", m.cell_id), ("membrane", m.membrane_id), ("pellet", m.pellet_id)):
                if pk:
                    g.edge(f"{kind}:{pk}", key, "measured on")
        dq = (
            Q(measurement_id__in=measurement_ids)
            | Q(cell_id__in=cell_ids)
            | Q(membrane_id__in=membrane_ids)
            | Q(pellet_id__in=pellet_ids)
        )
        for d in _team_filter(DerivedProperty.objects.filter(dq), team_ids):
            key = _derived_node(g, d)
            source = (
                f"measurement:{d.measurement_id}"
                if d.measurement_id
                else f"cell:{d.cell_id}"
                if d.cell_id
                else f"membrane:{d.membrane_id}"
                if d.membrane_id
                else f"pellet:{d.pellet_id}"
            )
            g.edge(source, key, "computed from")
    return g.as_dict()


def cells_in_graph(graph: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The cell nodes of a graph (the answer to "which cells used lot X")."""
    return [n for n in graph["nodes"] if n["kind"] == "cell"]


# ------------------------------------------------------------------------------------------------ graph layout

#: Left-to-right order of the layers of a drawn graph (upstream on the left).
LAYER_OF_KIND = {
    "supplier": 0,
    "chemical": 1,
    "recipe": 1,
    "lot": 2,
    "recipe_version": 2,
    "batch": 3,
    "pellet": 4,
    "electrode": 4,
    "membrane": 4,
    "cell": 5,
    "measurement": 6,
    "series": 7,
    "derived": 8,
}


def layered_layout(
    graph: dict[str, list[dict[str, Any]]],
    *,
    column_width: int = 210,
    row_height: int = 56,
    node_width: int = 180,
    node_height: int = 40,
) -> dict[str, Any]:
    """Positions for drawing a graph as SVG: one column per layer, nodes stacked in each column.

    Pure computation (no query): the page renders rectangles, links and cubic edges from these numbers.
    """
    used_layers = sorted({LAYER_OF_KIND.get(n["kind"], 9) for n in graph["nodes"]})
    column = {layer: i for i, layer in enumerate(used_layers)}
    rows: dict[int, int] = defaultdict(int)
    placed: dict[str, dict[str, Any]] = {}
    ordered = sorted(graph["nodes"], key=lambda n: (LAYER_OF_KIND.get(n["kind"], 9), n["kind"], n["label"]))
    for n in ordered:
        col = column[LAYER_OF_KIND.get(n["kind"], 9)]
        row = rows[col]
        rows[col] += 1
        x, y = 10 + col * column_width, 30 + row * row_height
        placed[n["id"]] = {**n, "x": x, "y": y, "w": node_width, "h": node_height, "tx": x + 8, "ty": y + 17}
    edges = []
    for e in graph["edges"]:
        s, t = placed.get(e["source"]), placed.get(e["target"])
        if s is None or t is None:
            continue
        x1, y1 = s["x"] + node_width, s["y"] + node_height // 2
        x2, y2 = t["x"], t["y"] + node_height // 2
        if x2 <= x1:  # same column: draw a loop on the right
            x2 = t["x"] + node_width
        mid = (x1 + x2) // 2
        edges.append({**e, "path": f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"})
    height = 40 + max(rows.values(), default=1) * row_height
    width = 20 + max(len(used_layers), 1) * column_width
    headings = [
        {"x": 10 + column[layer] * column_width, "label": _LAYER_TITLES.get(layer, "")}
        for layer in used_layers
    ]
    return {
        "nodes": list(placed.values()),
        "edges": edges,
        "width": width,
        "height": height,
        "headings": headings,
    }


_LAYER_TITLES = {
    0: "suppliers",
    1: "chemicals / recipes",
    2: "lots / versions",
    3: "batches",
    4: "membranes, pellets, electrodes",
    5: "cells",
    6: "measurements",
    7: "series",
    8: "derived properties",
}
