"""Pages of the cells app: list, detail (composition, lineage, state buttons), assembly forms, provenance graph,
printable label, lookup by code. Thin: every write goes through cells.services, every read through selectors."""

from __future__ import annotations

from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from cells import selectors, services
from cells.filters import CellFilter
from cells.forms import (
    POSTMORTEM_DRAWING,
    AssembleForm,
    BulkAssembleForm,
    LookupForm,
    PostmortemForm,
    StateChangeForm,
)
from cells.models import TRANSITIONS, Cell, CellState
from lims.api.base import resolve_team
from lims.authentication import reads_with_session
from lims.errors import DomainError
from lims.filtering import drawn_filter
from lims.listing import PresentedRows, Sorting
from lims.models import Role
from lims.permissions import has_role, team_ids_for
from lims.plans import run_on_generic_plans


def _can_write(user: Any, team_id: int | None = None) -> bool:
    if team_id is None:
        return bool(user.is_staff or team_ids_for(user, Role.RESEARCHER))
    return has_role(user, team_id, Role.RESEARCHER)


def _cell_or_404(request: HttpRequest, pk: int) -> Cell:
    return get_object_or_404(selectors.cell_list(user=request.user), pk=pk)


@login_required
def cell_list(request: HttpRequest) -> HttpResponse:
    sorting = Sorting(request, CELL_SORTS, "-assembled")
    filterset: Any
    listing: Any
    rows = None
    if not request.GET:
        # the page as most people first open it: the filter form drawn ahead (lims.filtering.drawn_filter)
        filterset = drawn_filter(CellFilter, request.user)
    else:
        rows = selectors.cell_rows_for_page(user=request.user)
        filterset = CellFilter(request.GET, queryset=rows, request=request)
    if sorting.is_default and not filterset.is_filtered:
        # unfiltered in the default order: statements compiled once, the count and the rows together
        listing = selectors.cell_page_listing(
            user=request.user,
            per_page=50,
            page_text=request.GET.get("page"),
            also=filterset.choice_statements(),  # the form's choice lists in the same round trip
        )
    else:
        if rows is None:
            rows = selectors.cell_rows_for_page(user=request.user)
        qs = filterset.qs if filterset.is_valid() else rows
        listing = PresentedRows(
            sorting.apply(qs).values_list(*selectors.CELL_PAGE_COLUMNS), selectors.cell_page_rows
        )
    page = Paginator(listing, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "cells/cell_list.html",
        {
            "filter": filterset,
            "page": page,
            "query": sorting.query,
            "sorting": sorting,
            "can_write": _can_write(request.user),
        },
        using="jinja2",
    )


CELL_SORTS = {
    "code": "code",
    "configuration": "configuration",
    "format": "cell_format",
    "electrolyte": ("membrane__code", "pellet__code"),
    "recipe": ("membrane__batch__recipe_version__recipe__name", "membrane__batch__recipe_version__number"),
    "filler": "membrane__filler_fraction",
    "area": "active_area",
    "state": "state",
    # then by code, as the (team, -assembled_at, code) index holds them: cells assembled together (a bulk
    # assembly) share the time, and a tie broken by key alone sorted all of them for every page
    "assembled": ("assembled_at", "-code"),
    "operator": "operator__username",
    "team": "team__name",
}


def _cell_page_reads(requester: Any, pk: int) -> Any:
    return selectors.cell_page_reads(user=requester, pk=pk)


@reads_with_session(_cell_page_reads, run=run_on_generic_plans)  # the page's reads with the session's
@login_required
def cell_detail(request: HttpRequest, pk: int) -> HttpResponse:
    page = selectors.cell_page(user=request.user, pk=pk, read=getattr(request, "session_reads", None))
    if page is None:
        raise Http404("No cell matches the given query.")
    cell = page.cell
    can_write = _can_write(request.user, cell.team_id)
    transitions = [
        {"state": s, "label": CellState(s).label, "destructive": s in _DESTRUCTIVE}
        for s in TRANSITIONS[CellState(cell.state)]
    ]
    # the walk takes the records the page has read (the cell, its parts, electrolyte, electrodes, draws, lots):
    # it reads nothing more unless a record was not among them
    graph = selectors.provenance_up(
        cells=[cell.pk], team_ids=selectors.visible_team_ids(request.user), known=page.known
    )
    lineage = _lineage_rows(graph)
    from measurements.selectors_derived import headline_texts

    return render(
        request,
        "cells/cell_detail.html",
        {
            "cell": cell,
            "components": selectors.component_texts(cell.components.all()),
            "state_changes": selectors.state_change_texts(cell.state_changes.all()),
            "transitions": transitions,
            "can_write": can_write,
            "lineage": lineage,
            "attachments": page.attachments,
            # printed for a writer of a disassembled cell only: the form's fields drawn, not the form built
            "postmortem_form": (
                POSTMORTEM_DRAWING.fields(
                    {
                        "version": cell.version,
                        "notes": cell.postmortem_notes,
                        "dendrites_observed": cell.dendrites_observed,
                        "delamination_observed": cell.delamination_observed,
                    }
                )
                if can_write and cell.state == CellState.DISASSEMBLED
                else None
            ),
            "is_disassembled": cell.state == CellState.DISASSEMBLED,
            "results": headline_texts(page.results),
            "measurements": selectors.measurement_link_texts(page.measurements),
        },
        using="jinja2",
    )


_DESTRUCTIVE = {CellState.SHORTED, CellState.FAILED, CellState.DISASSEMBLED}


def _lineage_rows(graph: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The lineage as a readable list grouped by kind (the graph page draws it)."""
    order = [
        "membrane",
        "pellet",
        "electrode",
        "batch",
        "recipe_version",
        "recipe",
        "lot",
        "chemical",
        "supplier",
    ]
    titles = {
        "membrane": "Membrane",
        "pellet": "Pellet",
        "electrode": "Cathode electrode",
        "batch": "Batch",
        "recipe_version": "Recipe version",
        "recipe": "Recipe",
        "lot": "Lots",
        "chemical": "Chemicals",
        "supplier": "Suppliers",
    }
    rows: list[dict[str, Any]] = []
    for kind in order:
        nodes = [n for n in graph["nodes"] if n["kind"] == kind]
        if nodes:
            rows.append({"title": titles[kind], "nodes": sorted(nodes, key=lambda n: n["label"])})
    return rows


@login_required
@require_POST
def cell_change_state(request: HttpRequest, pk: int) -> HttpResponse:
    cell = _cell_or_404(request, pk)
    if not _can_write(request.user, cell.team_id):
        raise PermissionDenied("You need the researcher role in this cell's team")
    form = StateChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The state change was incomplete; reload the page and try again.")
        return redirect("cells:cell-detail", pk=pk)
    try:
        services.change_state(
            cell=cell,
            to_state=form.cleaned_data["to_state"],
            actor=request.user,
            reason=form.cleaned_data.get("reason", ""),
            version=form.cleaned_data["version"],
        )
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{cell.code} is now {CellState(form.cleaned_data['to_state']).label}.")
    return redirect("cells:cell-detail", pk=pk)


@login_required
@require_POST
def cell_postmortem(request: HttpRequest, pk: int) -> HttpResponse:
    cell = _cell_or_404(request, pk)
    if not _can_write(request.user, cell.team_id):
        raise PermissionDenied("You need the researcher role in this cell's team")
    form = PostmortemForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(
            request, "; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items())
        )
        return redirect("cells:cell-detail", pk=pk)
    d = form.cleaned_data
    files = (
        [
            services.PostmortemFile(
                file=d["file"], kind=d["file_kind"], caption=d.get("caption") or d["file"].name
            )
        ]
        if d.get("file")
        else []
    )
    try:
        services.record_postmortem(
            cell=cell,
            actor=request.user,
            notes=d.get("notes", ""),
            dendrites_observed=d.get("dendrites_observed"),
            delamination_observed=d.get("delamination_observed"),
            files=files,
            version=d["version"],
        )
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Post-mortem recorded.")
    return redirect("cells:cell-detail", pk=pk)


@login_required
def cell_attachment(request: HttpRequest, pk: int, attachment_id: int) -> FileResponse:
    """A post-mortem file, served only to people who may see the cell."""
    cell = _cell_or_404(request, pk)
    attachment = selectors.attachments_of(cell).filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404("No such file")
    response = FileResponse(attachment.file.open("rb"), as_attachment=True)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _assemble_page(request: HttpRequest, *, bulk: bool) -> HttpResponse:
    if not _can_write(request.user):
        raise PermissionDenied("You need the researcher role to assemble cells")
    form_class = BulkAssembleForm if bulk else AssembleForm
    # "Assemble a cell with this membrane" links preselect the electrolyte (and configuration)
    initial = {k: request.GET[k] for k in ("membrane", "pellet", "configuration") if request.GET.get(k)}
    form = form_class(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            team = resolve_team(request.user, form.chosen_team())
            if bulk:
                cells = services.bulk_assemble(
                    team=team,
                    actor=request.user,
                    spec=form.to_spec(),
                    count=form.cleaned_data["count"],
                    code_base=form.cleaned_data.get("code_base", ""),
                    cathodes=list(form.cleaned_data.get("cathodes") or []),
                )
                messages.success(
                    request, f"{len(cells)} cells assembled: {cells[0].code} to {cells[-1].code}."
                )
                return redirect(reverse("cells:cell-list") + f"?code={cells[0].code.rsplit('-', 1)[0]}")
            cell = services.assemble_cell(
                team=team, actor=request.user, spec=form.to_spec(), code=form.cleaned_data.get("code", "")
            )
            messages.success(request, f"Cell {cell.code} assembled.")
            return redirect("cells:cell-detail", pk=cell.pk)
        except DomainError as exc:
            form.add_error(None, str(exc))
        except Exception as exc:  # DRF's "choose the team" error from resolve_team
            from rest_framework.exceptions import APIException, ValidationError

            if isinstance(exc, ValidationError):
                form.add_error("team", "Choose the team these cells belong to.")
            elif isinstance(exc, APIException):
                raise PermissionDenied(str(exc.detail)) from None
            else:
                raise
    return render(request, "cells/cell_assemble.html", {"form": form, "bulk": bulk})


@login_required
def cell_assemble(request: HttpRequest) -> HttpResponse:
    return _assemble_page(request, bulk=False)


@login_required
def cell_bulk_assemble(request: HttpRequest) -> HttpResponse:
    return _assemble_page(request, bulk=True)


@login_required
def cell_provenance(request: HttpRequest, pk: int) -> HttpResponse:
    cell = _cell_or_404(request, pk)
    graph = selectors.provenance_up(cells=[cell.pk], team_ids=selectors.visible_team_ids(request.user))
    return render(
        request,
        "cells/provenance.html",
        {
            "title": f"Provenance of cell {cell.code}",
            "subject": cell,
            "layout": selectors.layered_layout(graph),
            "graph": graph,
            "json_url": reverse("cell-provenance", args=[cell.pk]),
        },
    )


_WHERE_USED_PARAMS = {
    "lot": "lots",
    "batch": "batches",
    "membrane": "membranes",
    "pellet": "pellets",
    "electrode": "electrodes",
}


@login_required
def where_used(request: HttpRequest) -> HttpResponse:
    args: dict[str, list[int]] = {}
    for param, name in _WHERE_USED_PARAMS.items():
        try:
            args[name] = [int(v) for v in request.GET.getlist(param) if v.strip()]
        except ValueError:
            raise Http404("record ids are numbers") from None
    if not any(args.values()):
        raise Http404("Give a lot, batch, membrane, pellet or electrode")
    graph = selectors.where_used(**args, team_ids=selectors.visible_team_ids(request.user))
    start = next((n for n in graph["nodes"] if n["kind"] in _WHERE_USED_PARAMS), None)
    return render(
        request,
        "cells/provenance.html",
        {
            "title": f"Where {start['label'] if start else 'it'} was used",
            "layout": selectors.layered_layout(graph),
            "graph": graph,
            "cells": selectors.cells_in_graph(graph),
            "json_url": reverse("provenance-where-used") + "?" + request.GET.urlencode(),
            "where_used": True,
        },
    )


@login_required
def cell_label(request: HttpRequest, pk: int) -> HttpResponse:
    """A printable label: code, configuration, electrolyte, date and a QR code of the code."""
    cell = _cell_or_404(request, pk)
    qr = segno.make(cell.code, error="m")
    svg = qr.svg_inline(scale=4, title=f"QR code of {cell.code}")
    return render(request, "cells/cell_label.html", {"cell": cell, "qr_svg": mark_safe(svg)})  # noqa: S308


@login_required
def cell_lookup(request: HttpRequest) -> HttpResponse:
    form = LookupForm(request.GET or None)
    if form.is_valid():
        cell = selectors.find_cell_by_code(user=request.user, code=form.cleaned_data["code"])
        if cell is not None:
            return redirect("cells:cell-detail", pk=cell.pk)
        form.add_error("code", f"No cell with code {form.cleaned_data['code']!r} that you may see.")
    return render(request, "cells/cell_lookup.html", {"form": form}, status=404 if form.errors else 200)


@login_required
def cell_by_code(request: HttpRequest, code: str) -> HttpResponse:
    cell = selectors.find_cell_by_code(user=request.user, code=code)
    if cell is None:
        raise Http404(f"No cell with code {code}")
    return redirect("cells:cell-detail", pk=cell.pk)
