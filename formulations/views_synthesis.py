"""Pages of the synthesis part: recipes (editor with live composition), the guided "log a synthesis" page,
batches, moulds, membranes, pellets and electrodes (forms showing the derived values as you type).

Views are thin: forms parse text, services write, selectors read. Service errors are shown next to the form.
Live previews are small JSON endpoints (``*_preview``) called by static/formulations/synthesis.js.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from formulations import domain
from formulations import forms_synthesis as fs
from formulations import selectors_synthesis as sel
from formulations.filters_synthesis import (
    BatchFilter,
    ElectrodeFilter,
    MembraneFilter,
    PelletFilter,
    RecipeFilter,
)
from formulations.models import Batch, Chemical, LotStatus, Mould, RecipeVersion, StockLot
from formulations.services import synthesis as svc
from formulations.wording import in_lab_words
from lims.edit_guard import FIELD, loaded_version_field, unchanged_since_loaded
from lims.errors import DomainError
from lims.listing import Sorting
from lims.models import Attachment
from lims.units import UnitError, parse_c_rate, parse_quantity


def add_service_error(form: forms.Form, exc: DomainError) -> None:
    """Show a service's refusal on the form: on the field it names ("cast mass: ..."), else on top."""
    message = str(exc)
    for name in form.fields:
        label = name.replace("_", " ")
        if message.startswith(f"{label}:"):
            form.add_error(name, message)
            return
    form.add_error(None, message)


def _require_writer(request: HttpRequest, team_id: int | None = None) -> None:
    """Forms that write need the researcher role (in the record's team, or in some team for a new record):
    a viewer is refused the form itself, not only its submission (the services check again)."""
    from django.core.exceptions import PermissionDenied

    from lims.models import Role
    from lims.permissions import has_role, team_ids_for

    user = request.user
    allowed = (
        has_role(user, team_id, Role.RESEARCHER)
        if team_id is not None
        else bool(user.is_staff or team_ids_for(user, Role.RESEARCHER))
    )
    if not allowed:
        raise PermissionDenied("You need the researcher role in this team to record this.")


def _page(request: HttpRequest, qs: QuerySet[Any], size: int = 50) -> Any:
    from django.core.paginator import Paginator

    return Paginator(qs, size).get_page(request.GET.get("page"))


def _fmt(value: float | None, digits: int = 4, unit: str = "") -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}g}{(' ' + unit) if unit else ''}"


# ------------------------------------------------------------------------------------------------ recipes


@login_required
def recipe_list(request: HttpRequest) -> HttpResponse:
    filterset = RecipeFilter(request.GET, request=request, queryset=sel.recipes_for(request.user))
    sorting = Sorting(
        request,
        {"name": "name", "team": "team__name", "versions": "version_count", "batches": "batch_count"},
        "name",
    )
    page = _page(request, sorting.apply(filterset.qs))
    rows = [
        {
            "url": reverse("formulations:recipe-detail", args=[r.pk]),
            "cells": [r.name, r.team.name, r.version_count, r.batch_count, r.description[:80]],
        }
        for r in page
    ]
    return render(
        request,
        "formulations/synthesis/list.html",
        {
            "title": "Recipes",
            "filter": filterset,
            "headers": sorting.headers(
                [
                    ("name", "Recipe"),
                    ("team", "Team"),
                    ("versions", "Versions"),
                    ("batches", "Batches"),
                    (None, "Description"),
                ]
            ),
            "sorting": sorting,
            "rows": rows,
            "page": page,
            "actions": [
                ("New recipe", reverse("formulations:recipe-create")),
                ("Log a synthesis", reverse("formulations:batch-log")),
            ],
        },
    )


def _recipe_editor(
    request: HttpRequest, *, version: RecipeVersion | None, initial: tuple[list[Any], list[Any]] = ([], [])
) -> HttpResponse:
    _require_writer(request, version.recipe.team_id if version is not None else None)
    user = request.user
    data = request.POST if request.method == "POST" else None
    recipe_form = fs.RecipeForm(data, user=user, prefix="recipe") if version is None else None
    components = fs.ComponentFormSet(data, prefix="components", initial=initial[0] or None)
    steps = fs.StepFormSet(data, prefix="steps", initial=initial[1] or None)
    notes_form = forms.Form(data)
    notes_form.fields["notes"] = forms.CharField(required=False, label="Version notes (what changed)")
    notes_form.fields[FIELD] = loaded_version_field(version)
    if version is not None and data is None:
        notes_form.initial = {"notes": ""}
    if request.method == "POST":
        valid = components.is_valid() & steps.is_valid() & notes_form.is_valid()
        if recipe_form is not None:
            valid = recipe_form.is_valid() & valid
        if valid:
            try:
                if version is None:
                    assert recipe_form is not None
                    recipe = svc.create_recipe(
                        team=recipe_form.cleaned_data["team"],
                        name=recipe_form.cleaned_data["name"],
                        description=recipe_form.cleaned_data["description"],
                        notes=notes_form.cleaned_data["notes"],
                        components=fs.formset_lines(components),
                        steps=fs.formset_lines(steps),
                        actor=user,
                    )
                    saved = recipe.versions.get(number=1)
                else:
                    with unchanged_since_loaded(version, notes_form.cleaned_data.get(FIELD) or ""):
                        saved = svc.revise_recipe(
                            version=version,
                            actor=user,
                            components=fs.formset_lines(components),
                            steps=fs.formset_lines(steps),
                            notes=notes_form.cleaned_data["notes"] or None,
                        )
                    if saved.pk != version.pk:
                        messages.info(request, f"{version} is frozen, so your edit was saved as {saved}.")
                return redirect("formulations:version-detail", pk=saved.pk)
            except DomainError as exc:
                notes_form.add_error(None, str(exc))
    return render(
        request,
        "formulations/synthesis/recipe_edit.html",
        {
            "version": version,
            "recipe_form": recipe_form,
            "components": components,
            "steps": steps,
            "notes_form": notes_form,
            "preview_url": reverse("formulations:composition-preview"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def recipe_create(request: HttpRequest) -> HttpResponse:
    return _recipe_editor(request, version=None)


@login_required
def recipe_detail(request: HttpRequest, pk: int) -> HttpResponse:
    recipe = get_object_or_404(sel.recipes_for(request.user), pk=pk)
    versions = list(sel.versions_for(request.user).filter(recipe=recipe))
    return render(
        request,
        "formulations/synthesis/recipe_detail.html",
        {"recipe": recipe, "versions": [(v, sel.version_composition(v)) for v in versions]},
    )


@login_required
@require_http_methods(["GET", "POST"])
def version_detail(request: HttpRequest, pk: int) -> HttpResponse:
    version = get_object_or_404(sel.versions_for(request.user), pk=pk)
    add_form = fs.AddComponentForm(prefix="add")
    series_form = fs.FillerSeriesForm(prefix="series")
    if request.method == "POST":
        if "add-amount" in request.POST:
            add_form = fs.AddComponentForm(request.POST, prefix="add")
            if add_form.is_valid():
                try:
                    svc.add_component(
                        version=version,
                        chemical=add_form.cleaned_data["chemical"],
                        amount=add_form.cleaned_data["amount"],
                        role=add_form.cleaned_data["role"],
                        order=add_form.cleaned_data["order"],
                        actor=request.user,
                    )
                    return redirect("formulations:version-detail", pk=version.pk)
                except DomainError as exc:
                    add_form.add_error(None, str(exc))
        elif "series-filler" in request.POST:
            series_form = fs.FillerSeriesForm(request.POST, prefix="series")
            if series_form.is_valid():
                try:
                    made = svc.filler_series(
                        base=version,
                        filler=series_form.cleaned_data["filler"],
                        fractions=series_form.cleaned_data["fractions"],
                        recipe_name=series_form.cleaned_data["recipe_name"] or None,
                        actor=request.user,
                    )
                    messages.success(request, f"Filler series: {', '.join(str(v) for v in made)}")
                    return redirect("formulations:recipe-detail", pk=made[0].recipe_id)
                except DomainError as exc:
                    series_form.add_error(None, str(exc))
    batches = sel.batches_for(request.user).filter(recipe_version=version)[:50]
    comp = sel.version_composition(version)
    return render(
        request,
        "formulations/synthesis/version_detail.html",
        {
            "version": version,
            "composition": comp,
            "composition_lines": composition_lines(comp) if comp["ok"] else [],
            "add_form": add_form,
            "series_form": series_form,
            "batches": batches,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def version_edit(request: HttpRequest, pk: int) -> HttpResponse:
    version = get_object_or_404(sel.versions_for(request.user), pk=pk)
    return _recipe_editor(request, version=version, initial=fs.initial_lines(version))


@login_required
@require_GET
def composition_preview(request: HttpRequest) -> JsonResponse:
    """Live composition of the rows of the recipe editor (components-N-chemical / -amount / -role / -DELETE)."""
    rows = []
    total = int(request.GET.get("components-TOTAL_FORMS", "0") or 0)
    for i in range(min(total, 100)):
        chem_id = request.GET.get(f"components-{i}-chemical")
        amount = (request.GET.get(f"components-{i}-amount") or "").strip()
        if not chem_id or not amount or request.GET.get(f"components-{i}-DELETE"):
            continue
        rows.append((i, chem_id, amount, request.GET.get(f"components-{i}-role") or ""))
    chemicals = Chemical.objects.in_bulk([int(r[1]) for r in rows if r[1].isdigit()])
    fields: dict[str, dict[str, Any]] = {}
    lines_in: list[tuple[Chemical, str, svc.ParsedAmount]] = []
    for i, chem_id, amount, role in rows:
        chemical = chemicals.get(int(chem_id)) if chem_id.isdigit() else None
        if chemical is None:
            continue
        try:
            parsed = svc.parse_amount(amount)
        except DomainError as exc:
            fields[f"components-{i}-amount"] = {"text": str(exc), "bad": True}
            continue
        lines_in.append((chemical, role or chemical.role, parsed))
    names = sel.unique_names([c for c, _, _ in lines_in])
    try:
        components = [
            sel.as_domain_component(name=n, role=r, chemical=c, amount_kind=p.kind, amount=p.value)
            for n, (c, r, p) in zip(names, lines_in, strict=True)
        ]
    except domain.CompositionError as exc:
        return JsonResponse({"ok": False, "error": in_lab_words(str(exc)), "fields": fields})
    comp = sel.composition(components)
    if not comp["ok"]:
        return JsonResponse({"ok": False, "error": in_lab_words(comp["error"]), "fields": fields})
    lines = [in_lab_words(line) for line in composition_lines(comp)]
    return JsonResponse({"ok": True, "lines": lines, "fields": fields})


def composition_lines(comp: dict[str, Any]) -> list[str]:
    """A composition as short human lines (shared by the preview and the version page)."""
    lines = [f"total mass {_fmt(comp['total_mass_g'], 5, 'g')}"]
    for row in comp["components"]:
        mmol = f", {_fmt(row['amount_mmol'], 4, 'mmol')}" if row["amount_mmol"] is not None else ""
        lines.append(
            f"{row['name']}: {_fmt(row['mass_g'], 4, 'g')} ({row['mass_fraction'] * 100:.2f} wt%){mmol}"
        )
    if comp["monomer_mole_ratios"]:
        names = list(comp["monomer_mole_ratios"])
        ratio = ":".join(f"{comp['monomer_mole_ratios'][n]:.2f}" for n in names)
        lines.append(f"monomers {':'.join(names)} = {ratio}")
    if comp["salt_molality_mol_per_kg"] is not None:
        lines.append(f"salt molality {_fmt(comp['salt_molality_mol_per_kg'], 4, 'mol/kg')}")
    if comp["salt_to_solvent_molar_ratio"] is not None:
        lines.append(f"salt:solvent molar ratio {_fmt(comp['salt_to_solvent_molar_ratio'], 3)}")
    if comp["initiator_mol_percent_of_monomers"] is not None:
        lines.append(
            f"initiator {comp['initiator_mass_fraction_of_monomers'] * 100:.3g} wt% / "
            f"{comp['initiator_mol_percent_of_monomers']:.3g} mol% of monomers"
        )
    if comp["filler_weight_fraction"] is not None:
        lines.append(
            f"filler {comp['filler_weight_fraction'] * 100:.2f} wt% = m_filler / (m_filler + m_precursor)"
        )
    if comp["estimated_density_g_per_mL"] is not None:
        lines.append(
            f"density (estimate, ideal mixing) {_fmt(comp['estimated_density_g_per_mL'], 4, 'g/mL')}"
        )
    lines.extend(f"note: {n}" for n in comp["notes"])
    return lines


# ------------------------------------------------------------------------------------------------ batches


@login_required
def batch_list(request: HttpRequest) -> HttpResponse:
    filterset = BatchFilter(request.GET, request=request, queryset=sel.batches_for(request.user))
    sorting = Sorting(
        request,
        {
            "code": "code",
            "recipe": ("recipe_version__recipe__name", "recipe_version__number"),
            "operator": "operator__username",
            "started": "started_at",
            "status": "status",
            "scale": "scale_factor",
            "flagged": "flagged_count",
            "membranes": "membrane_count",
        },
        "-started",
    )
    page = _page(request, sorting.apply(filterset.qs))
    rows = [
        {
            "url": reverse("formulations:batch-detail", args=[b.pk]),
            "cells": [
                b.code,
                str(b.recipe_version),
                b.operator.username,
                f"{b.started_at:%Y-%m-%d %H:%M}",
                b.get_status_display(),
                f"{b.scale_factor:.3g}",
                b.flagged_count or "",
                b.membrane_count,
            ],
        }
        for b in page
    ]
    return render(
        request,
        "formulations/synthesis/list.html",
        {
            "title": "Synthesis batches",
            "filter": filterset,
            "headers": sorting.headers(
                [
                    ("code", "Batch"),
                    ("recipe", "Recipe"),
                    ("operator", "Operator"),
                    ("started", "Started"),
                    ("status", "Status"),
                    ("scale", "Scale"),
                    ("flagged", "Flagged"),
                    ("membranes", "Membranes"),
                ]
            ),
            "sorting": sorting,
            "rows": rows,
            "page": page,
            "actions": [("Log a synthesis", reverse("formulations:batch-log"))],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def batch_log(request: HttpRequest) -> HttpResponse:
    """Pick a recipe version and batch size -> the scaled amounts appear -> enter what was weighed, from which lot."""
    _require_writer(request)
    versions = sel.versions_for(request.user)
    size_form = fs.BatchSizeForm(request.GET or None, versions=versions)
    context: dict[str, Any] = {"size_form": size_form, "form": None}
    if size_form.is_bound and size_form.is_valid():
        version: RecipeVersion = size_form.cleaned_data["version"]
        try:
            k = svc.scale_factor_for(version, target_mass=size_form.cleaned_data["target_mass"] or None)
        except DomainError as exc:
            add_service_error(size_form, exc)
            return render(request, "formulations/synthesis/batch_log.html", context, status=400)
        lines = sel.scaled_amounts(version, k)
        lots = sel.usable_lots_by_chemical(line.component.chemical_id for line in lines)
        form = fs.LogSynthesisForm(
            request.POST if request.method == "POST" else None,
            lines=lines,
            lots=lots,
            initial={"scale_factor": k},
        )
        if request.method == "POST" and form.is_valid():
            try:
                batch = svc.record_batch(
                    version=version,
                    actor=request.user,
                    draws=form.draws(),
                    scale_factor=form.cleaned_data["scale_factor"],
                    tolerance=form.cleaned_data["tolerance_percent"] / 100.0,
                    started_at=form.cleaned_data["started_at"],
                    ended_at=form.cleaned_data["ended_at"],
                    conditions=form.cleaned_data["conditions"],
                    notes=form.cleaned_data["notes"],
                )
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                flagged = batch.components.filter(flagged=True).count()
                note = f" {flagged} component(s) deviate more than the tolerance." if flagged else ""
                messages.success(request, f"Batch {batch.code} recorded; the lots were drawn.{note}")
                return redirect("formulations:batch-detail", pk=batch.pk)
        comp = sel.composition(sel.recipe_components_as_domain([line.component for line in lines], k))
        context.update(
            {
                "form": form,
                "version": version,
                "scale_factor": k,
                "composition": comp,
                "composition_lines": composition_lines(comp) if comp["ok"] else [],
                "preview_url": reverse("formulations:batch-preview", args=[version.pk]),
            }
        )
        if request.method == "POST":
            return render(request, "formulations/synthesis/batch_log.html", context, status=400)
    return render(request, "formulations/synthesis/batch_log.html", context)


@login_required
@require_GET
def batch_preview(request: HttpRequest, pk: int) -> JsonResponse:
    """Live deviation check of the log-a-synthesis rows: actual (any unit) vs planned, flagged above tolerance."""
    version = get_object_or_404(sel.versions_for(request.user), pk=pk)
    try:
        k = float(request.GET.get("scale_factor") or 1.0)
        tolerance = float(request.GET.get("tolerance_percent") or 2.0) / 100.0
    except ValueError:
        return JsonResponse({"ok": False, "error": "scale factor and tolerance must be numbers"})
    fields: dict[str, dict[str, Any]] = {}
    for component in version.components.all():
        name = f"c{component.pk}_amount"
        text = (request.GET.get(name) or "").strip()
        if not text:
            continue
        try:
            _, actual, check = svc.check_actual_amount(
                component=component, amount=text, scale_factor=k, tolerance=tolerance
            )
        except DomainError as exc:
            fields[name] = {"text": str(exc), "bad": True}
            continue
        unit = sel.AMOUNT_UNITS[component.amount_kind]
        verdict = "outside tolerance" if check.flagged else "ok"
        fields[name] = {
            "text": f"= {actual:.4g} {unit}, {check.relative_deviation * 100:+.2f}% vs {check.planned:.4g} {unit}: {verdict}",
            "bad": check.flagged,
        }
    return JsonResponse({"ok": True, "lines": [], "fields": fields})


@login_required
@require_http_methods(["GET", "POST"])
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(sel.batch_detail_queryset(request.user), pk=pk)
    cancel_form = fs.CancelBatchForm(prefix="cancel")
    file_form = fs.AttachmentForm(prefix="file")
    status = 200
    if request.method == "POST":
        try:
            if "cancel-reason" in request.POST:
                cancel_form = fs.CancelBatchForm(request.POST, prefix="cancel")
                if cancel_form.is_valid():
                    svc.cancel_batch(
                        batch=batch, actor=request.user, reason=cancel_form.cleaned_data["reason"]
                    )
                    messages.success(request, f"Batch {batch.code} cancelled.")
                    return redirect("formulations:batch-detail", pk=batch.pk)
            else:
                file_form = fs.AttachmentForm(request.POST, request.FILES, prefix="file")
                if file_form.is_valid():
                    svc.attach_batch_file(
                        batch=batch,
                        file=file_form.cleaned_data["file"],
                        caption=file_form.cleaned_data["caption"],
                        actor=request.user,
                    )
                    return redirect("formulations:batch-detail", pk=batch.pk)
        except DomainError as exc:
            cancel_form.add_error(None, str(exc))
        status = 400
    files = Attachment.objects.filter(
        content_type=ContentType.objects.get_for_model(Batch), object_id=batch.pk
    )
    return render(
        request,
        "formulations/synthesis/batch_detail.html",
        {"batch": batch, "cancel_form": cancel_form, "file_form": file_form, "files": files},
        status=status,
    )


@login_required
def batch_file(request: HttpRequest, pk: int, file_pk: int) -> FileResponse:
    """A file of a batch, served only to the batch's team (files live outside the web root)."""
    batch = get_object_or_404(sel.batches_for(request.user), pk=pk)
    attachment = get_object_or_404(
        Attachment, pk=file_pk, content_type=ContentType.objects.get_for_model(Batch), object_id=batch.pk
    )
    if not attachment.file:
        raise Http404
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=(attachment.file.name or "file").rsplit("/", 1)[-1],
    )


# ------------------------------------------------------------------------------------------------ moulds, membranes


@login_required
@require_http_methods(["GET", "POST"])
def mould_list(request: HttpRequest) -> HttpResponse:
    form = fs.MouldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            svc.create_mould(actor=request.user, **form.cleaned_data)
            return redirect("formulations:mould-list")
        except DomainError as exc:
            add_service_error(form, exc)
    sorting = Sorting(
        request, {"name": "name", "shape": "shape", "area": "area", "material": "material"}, "name"
    )
    page = _page(request, sorting.apply(sel.moulds_all()))
    rows = [
        {"url": "", "cells": [m.name, m.get_shape_display(), f"{m.area:g} cm²", m.material, m.membrane_count]}
        for m in page
    ]
    return render(
        request,
        "formulations/synthesis/list.html",
        {
            "title": "Moulds",
            "headers": sorting.headers(
                [
                    ("name", "Mould"),
                    ("shape", "Shape"),
                    ("area", "Area"),
                    ("material", "Material"),
                    (None, "Membranes"),
                ]
            ),
            "sorting": sorting,
            "rows": rows,
            "page": page,
            "create_form": form,
            "create_title": "New mould",
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def membrane_list(request: HttpRequest) -> HttpResponse:
    filterset = MembraneFilter(request.GET, request=request, queryset=sel.membranes_for(request.user))
    sorting = Sorting(
        request,
        {
            "code": "code",
            "batch": "batch__code",
            "recipe": ("batch__recipe_version__recipe__name", "batch__recipe_version__number"),
            "mould": "mould__name",
            "thickness": "thickness_from_mass",
            "filler": "filler_fraction",
            "cured": "cured_at",
        },
        "-cured",
    )
    page = _page(request, sorting.apply(filterset.qs))
    rows = [
        {
            "url": reverse("formulations:membrane-detail", args=[m.pk]),
            "cells": [
                m.code,
                m.batch.code,
                str(m.batch.recipe_version),
                m.mould.name,
                f"{m.thickness_um:.0f} µm ({m.thickness_source})",
                "—" if m.filler_fraction is None else f"{m.filler_fraction * 100:.0f} wt%",
                f"{m.cured_at:%Y-%m-%d}",
            ],
        }
        for m in page
    ]
    return render(
        request,
        "formulations/synthesis/list.html",
        {
            "title": "Membranes",
            "filter": filterset,
            "headers": sorting.headers(
                [
                    ("code", "Membrane"),
                    ("batch", "Batch"),
                    ("recipe", "Recipe"),
                    ("mould", "Mould"),
                    ("thickness", "Thickness"),
                    ("filler", "Filler"),
                    ("cured", "Cured"),
                ]
            ),
            "sorting": sorting,
            "rows": rows,
            "page": page,
            "actions": [
                ("Cast a membrane", reverse("formulations:membrane-create")),
                ("Moulds", reverse("formulations:mould-list")),
            ],
        },
    )


def _product_form(
    request: HttpRequest, *, form: forms.Form, title: str, preview_url: str, save: Any
) -> HttpResponse:
    _require_writer(request)
    if request.method == "POST" and form.is_valid():
        try:
            obj = save(form.cleaned_data)
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            return redirect(obj.get_absolute_url() if hasattr(obj, "get_absolute_url") else obj._detail_url)
    return render(
        request,
        "formulations/synthesis/form.html",
        {"form": form, "title": title, "preview_url": preview_url},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def membrane_create(request: HttpRequest) -> HttpResponse:
    batches = sel.batches_for(request.user).exclude(status="cancelled")
    form = fs.MembraneForm(request.POST or None, batches=batches, initial={"batch": request.GET.get("batch")})

    def save(data: dict[str, Any]) -> Any:
        membrane = svc.cast_membrane(actor=request.user, **data)
        membrane._detail_url = reverse("formulations:membrane-detail", args=[membrane.pk])  # type: ignore[attr-defined]
        return membrane

    return _product_form(
        request,
        form=form,
        title="Cast a membrane",
        preview_url=reverse("formulations:membrane-preview"),
        save=save,
    )


@login_required
@require_GET
def membrane_preview(request: HttpRequest) -> JsonResponse:
    """t = m / (rho A) as you type; the density estimated from the batch when none is given (labelled)."""
    g = request.GET
    try:
        mass = parse_quantity(g.get("cast_mass", ""), dimension="mass", unit="g").magnitude
        mould = Mould.objects.filter(pk=g.get("mould") or 0).first()
        if mould is None:
            return JsonResponse({"ok": False, "error": "choose a mould"})
        if (g.get("slurry_density") or "").strip():
            rho = parse_quantity(g["slurry_density"], dimension="density", unit="g/mL").magnitude
            source = "measured density"
        else:
            batch = sel.batches_for(request.user).filter(pk=g.get("batch") or 0).first()
            if batch is None:
                return JsonResponse({"ok": False, "error": "choose a batch or enter the slurry density"})
            rho = svc.estimate_batch_density(batch)
            source = "ESTIMATED density (ideal mixing of the batch's components)"
        t = domain.thickness_from_cast_mass_um(mass, rho, mould.area)
    except (UnitError, DomainError, domain.CompositionError) as exc:
        return JsonResponse({"ok": False, "error": str(exc)})
    lines = [
        f"thickness from cast mass: {t:.1f} µm = {mass:g} g / ({rho:.4g} g/mL × {mould.area:g} cm²)",
        f"slurry density: {rho:.4g} g/mL ({source})",
    ]
    measured = (g.get("thickness_measured") or "").strip()
    if measured:
        try:
            tm = parse_quantity(measured, dimension="length", unit="um").magnitude
            lines.append(
                f"measured {tm:.1f} µm: {domain.thickness_discrepancy(tm, t) * 100:+.1f}% vs derived"
            )
        except (UnitError, domain.CompositionError) as exc:
            lines.append(str(exc))
    return JsonResponse({"ok": True, "lines": lines})


@login_required
@require_http_methods(["GET", "POST"])
def membrane_detail(request: HttpRequest, pk: int) -> HttpResponse:
    membrane = get_object_or_404(sel.membranes_for(request.user), pk=pk)
    form = fs.MembraneUpdateForm(
        request.POST or None,
        initial={"thickness_measured": membrane.thickness_measured, "appearance": membrane.appearance},
    )
    if request.method == "POST" and form.is_valid():
        try:
            svc.update_membrane(membrane=membrane, actor=request.user, **form.cleaned_data)
            return redirect("formulations:membrane-detail", pk=membrane.pk)
        except DomainError as exc:
            add_service_error(form, exc)
    d = sel.membrane_derived(membrane)
    props = [
        ("Batch", membrane.batch.code, reverse("formulations:batch-detail", args=[membrane.batch_id])),
        ("Recipe", str(membrane.batch.recipe_version), ""),
        ("Mould", fs.mould_choice_label(membrane.mould), ""),  # the area once, also when the name gives it
        ("Cast mass", f"{membrane.cast_mass:g} g", ""),
        ("Slurry density", f"{membrane.slurry_density:.4g} g/mL ({d['slurry_density_source']})", ""),
        ("Thickness from cast mass", f"{membrane.thickness_from_mass:.1f} µm", ""),
        ("Measured thickness", _fmt(membrane.thickness_measured, 4, "µm"), ""),
        (
            "Discrepancy (measured vs derived)",
            "—" if d["thickness_discrepancy"] is None else f"{d['thickness_discrepancy'] * 100:+.1f}%",
            "",
        ),
        (
            "Filler",
            "—" if membrane.filler_fraction is None else f"{membrane.filler_fraction * 100:.1f} wt%",
            "",
        ),
        (
            "Cure",
            " · ".join(
                x
                for x in (
                    _fmt(membrane.cure_wavelength, 4, "nm") if membrane.cure_wavelength else "",
                    f"{membrane.cure_duration / 3600:g} h" if membrane.cure_duration else "",
                    f"{membrane.cure_temperature:g} °C" if membrane.cure_temperature is not None else "",
                    membrane.cure_atmosphere,
                )
                if x
            ),
            "",
        ),
        ("Appearance", membrane.appearance or "—", ""),
        ("Notes", membrane.notes or "—", ""),
    ]
    return render(
        request,
        "formulations/synthesis/detail.html",
        {
            "title": f"Membrane {membrane.code}",
            "record": membrane,
            "actions": [
                (
                    "Assemble a cell with this membrane",
                    reverse("cells:cell-assemble") + f"?membrane={membrane.pk}",
                ),
                ("Where used", reverse("cells:where-used") + f"?membrane={membrane.pk}"),
            ],
            "props": props,
            "form": form,
            "form_title": "Measured thickness",
        },
        status=400 if request.method == "POST" else 200,
    )


# ------------------------------------------------------------------------------------------------ pellets


@login_required
def pellet_list(request: HttpRequest) -> HttpResponse:
    filterset = PelletFilter(request.GET, request=request, queryset=sel.pellets_for(request.user))
    sorting = Sorting(
        request,
        {
            "code": "code",
            "lot": "lot__code",
            "pressing": "press_pressure",
            "sintering": "sinter_temperature",
            "made": "made_at",
        },
        "-made",
    )
    page = _page(request, sorting.apply(filterset.qs))
    rows = [
        {
            "url": reverse("formulations:pellet-detail", args=[p.pk]),
            "cells": [
                p.code,
                p.lot.code,
                f"{p.press_pressure:g} MPa {p.press_mode}",
                f"{p.sinter_temperature:g} °C, {p.sinter_dwell / 3600:g} h",
                f"{p.geometric_density:.3f} g/cm³",
                "—" if p.relative_density is None else f"{p.relative_density * 100:.1f}%",
            ],
        }
        for p in page
    ]
    return render(
        request,
        "formulations/synthesis/list.html",
        {
            "title": "Pellets",
            "filter": filterset,
            "headers": sorting.headers(
                [
                    ("code", "Pellet"),
                    ("lot", "Powder lot"),
                    ("pressing", "Pressing"),
                    ("sintering", "Sintering"),
                    (None, "Density"),
                    (None, "Relative density"),
                ]
            ),
            "sorting": sorting,
            "rows": rows,
            "page": page,
            "actions": [("Make a pellet", reverse("formulations:pellet-create"))],
        },
    )


def _powder_lots() -> QuerySet[StockLot]:
    return StockLot.objects.filter(status=LotStatus.AVAILABLE, quantity_on_hand__gt=0).select_related(
        "chemical"
    )


@login_required
@require_http_methods(["GET", "POST"])
def pellet_create(request: HttpRequest) -> HttpResponse:
    form = fs.PelletForm(request.POST or None, user=request.user, lots=_powder_lots())

    def save(data: dict[str, Any]) -> Any:
        pellet = svc.make_pellet(actor=request.user, **data)
        pellet._detail_url = reverse("formulations:pellet-detail", args=[pellet.pk])  # type: ignore[attr-defined]
        return pellet

    return _product_form(
        request,
        form=form,
        title="Make a sintered pellet",
        preview_url=reverse("formulations:pellet-preview"),
        save=save,
    )


@login_required
@require_GET
def pellet_preview(request: HttpRequest) -> JsonResponse:
    """rho = m / (pi (d/2)^2 t) and rho / rho_theoretical as you type."""
    g = request.GET
    try:
        m = parse_quantity(g.get("final_mass", ""), dimension="mass", unit="g").magnitude
        d = parse_quantity(g.get("final_diameter", ""), dimension="length", unit="mm").magnitude
        t = parse_quantity(g.get("final_thickness", ""), dimension="length", unit="mm").magnitude
        rho = domain.geometric_density_g_per_cm3(m, d, t)
    except (UnitError, domain.CompositionError) as exc:
        return JsonResponse({"ok": False, "error": str(exc)})
    lines = [f"geometric density {rho:.4g} g/cm³ = {m:g} g / (π × ({d:g}/2 mm)² × {t:g} mm)"]
    lot = StockLot.objects.select_related("chemical").filter(pk=g.get("lot") or 0).first()
    if lot is not None and lot.chemical.theoretical_density:
        rel = domain.relative_density(rho, lot.chemical.theoretical_density)
        lines.append(f"relative density {rel * 100:.1f}% of {lot.chemical.theoretical_density:g} g/cm³")
    elif lot is not None:
        lines.append(f"{lot.chemical.name} has no theoretical density recorded: no relative density")
    return JsonResponse({"ok": True, "lines": lines})


@login_required
def pellet_detail(request: HttpRequest, pk: int) -> HttpResponse:
    p = get_object_or_404(sel.pellets_for(request.user), pk=pk)
    d = sel.pellet_derived(p)
    props = [
        ("Powder lot", f"{p.lot.code} · {p.lot.chemical.name}", ""),
        ("Powder mass", f"{p.powder_mass:g} g", ""),
        ("Pressing", f"{p.press_pressure:g} MPa, {p.press_mode}", ""),
        (
            "Sintering",
            f"{p.sinter_temperature:g} °C, ramp {_fmt(p.sinter_ramp, 3, 'K/min')}, dwell "
            f"{p.sinter_dwell / 3600:g} h, {p.sinter_atmosphere}"
            f"{', mother powder' if p.mother_powder else ''}",
            "",
        ),
        ("Sanding", p.sanding_grits or "—", ""),
        (
            "Green",
            f"{_fmt(p.green_diameter, 4, 'mm')} × {_fmt(p.green_thickness, 4, 'mm')}, "
            f"density {_fmt(d['green_density_g_per_cm3'], 4, 'g/cm³')}",
            "",
        ),
        ("Final", f"{p.final_diameter:g} mm × {p.final_thickness:g} mm, {p.final_mass:g} g", ""),
        ("Geometric density", f"{p.geometric_density:.4g} g/cm³", ""),
        (
            "Relative density",
            "—"
            if p.relative_density is None
            else f"{p.relative_density * 100:.1f}%"
            + (
                f" of {d['theoretical_density_g_per_cm3']:g} g/cm³"
                if d["theoretical_density_g_per_cm3"]
                else " (computed at creation; the theoretical density of the powder is no longer recorded)"
            ),
            "",
        ),
        (
            "Linear shrinkage",
            "—" if d["linear_shrinkage"] is None else f"{d['linear_shrinkage'] * 100:.1f}%",
            "",
        ),
        ("Notes", p.notes or "—", ""),
    ]
    return render(
        request,
        "formulations/synthesis/detail.html",
        {
            "title": f"Pellet {p.code}",
            "record": p,
            "props": props,
            "actions": [("Where used", reverse("cells:where-used") + f"?pellet={p.pk}")],
        },
    )


# ------------------------------------------------------------------------------------------------ electrodes


@login_required
def electrode_list(request: HttpRequest) -> HttpResponse:
    filterset = ElectrodeFilter(request.GET, request=request, queryset=sel.electrodes_for(request.user))
    sorting = Sorting(
        request,
        {"code": "code", "active": "active_lot__chemical__name", "area": "area", "made": "made_at"},
        "-made",
    )
    page = _page(request, sorting.apply(filterset.qs))
    rows = []
    for e in page:
        d = sel.electrode_derived(e)
        rows.append(
            {
                "url": reverse("formulations:electrode-detail", args=[e.pk]),
                "cells": [
                    e.code,
                    e.active_lot.chemical.name,
                    f"{e.area:.4g} cm²",
                    f"{d['active_mass_mg']:.4g} mg",
                    _fmt(d["one_c_current_mA"], 4, "mA"),
                ],
            }
        )
    return render(
        request,
        "formulations/synthesis/list.html",
        {
            "title": "Electrodes",
            "filter": filterset,
            "headers": sorting.headers(
                [
                    ("code", "Electrode"),
                    ("active", "Active material"),
                    ("area", "Area"),
                    (None, "Active mass"),
                    (None, "1 C current"),
                ]
            ),
            "sorting": sorting,
            "rows": rows,
            "page": page,
            "actions": [("Make an electrode", reverse("formulations:electrode-create"))],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def electrode_create(request: HttpRequest) -> HttpResponse:
    form = fs.ElectrodeForm(request.POST or None, user=request.user, lots=_powder_lots())

    def save(data: dict[str, Any]) -> Any:
        electrode = svc.make_electrode(actor=request.user, **data)
        electrode._detail_url = reverse("formulations:electrode-detail", args=[electrode.pk])  # type: ignore[attr-defined]
        return electrode

    return _product_form(
        request,
        form=form,
        title="Make an electrode",
        preview_url=reverse("formulations:electrode-preview"),
        save=save,
    )


@login_required
@require_GET
def electrode_preview(request: HttpRequest) -> JsonResponse:
    """Active mass (loading x area or coating x fraction) and the 1 C current as you type."""
    g = request.GET
    try:
        if (g.get("area") or "").strip():
            area = parse_quantity(g["area"], dimension="area", unit="cm**2").magnitude
        else:
            area = domain.disc_area_cm2(
                parse_quantity(g.get("diameter", ""), dimension="length", unit="mm").magnitude
            )
        if (g.get("loading") or "").strip():
            loading = parse_quantity(g["loading"], dimension="areal_mass", unit="mg/cm**2").magnitude
            m = domain.active_mass_from_loading_g(loading, area)
        else:
            coating = parse_quantity(g.get("coating_mass", ""), dimension="mass", unit="g").magnitude
            m = domain.active_mass_from_weighed_electrode_g(
                coating, 0.0, float(g.get("active_fraction") or 0)
            )
    except (UnitError, ValueError, domain.CompositionError) as exc:
        return JsonResponse({"ok": False, "error": str(exc)})
    lines = [f"area {area:.4g} cm²", f"active mass {m * 1000:.4g} mg"]
    lot = StockLot.objects.select_related("chemical").filter(pk=g.get("active_lot") or 0).first()
    if lot is not None and lot.chemical.specific_capacity and m > 0:
        one_c = domain.one_c_current_A(m, lot.chemical.specific_capacity) * 1000
        lines.append(f"1 C = {one_c:.4g} mA ({m * 1000:.4g} mg × {lot.chemical.specific_capacity:g} mAh/g)")
    return JsonResponse({"ok": True, "lines": lines})


@login_required
def electrode_detail(request: HttpRequest, pk: int) -> HttpResponse:
    e = get_object_or_404(sel.electrodes_for(request.user), pk=pk)
    form = fs.CRateForm(request.GET or None)
    c_rate = None
    if form.is_bound and form.is_valid() and form.cleaned_data["c_rate"]:
        try:
            c_rate = parse_c_rate(form.cleaned_data["c_rate"]).rate_per_h
        except UnitError as exc:
            form.add_error("c_rate", str(exc))
    d = sel.electrode_derived(e, c_rate)
    props = [
        ("Active material", f"{e.active_lot.chemical.name} (lot {e.active_lot.code})", ""),
        (
            "Composition",
            f"active {e.active_fraction:g} / conductive {e.conductive_fraction:g} / binder "
            f"{e.binder_fraction:g}",
            "",
        ),
        ("Area", f"{e.area:.4g} cm²", ""),
        ("Active loading", _fmt(d["active_loading_mg_per_cm2"], 4, "mg/cm²"), ""),
        ("Active mass", f"{d['active_mass_mg']:.4g} mg", ""),
        ("Specific capacity", _fmt(d["specific_capacity_mAh_per_g"], 4, "mAh/g"), ""),
        ("1 C current", _fmt(d["one_c_current_mA"], 4, "mA"), ""),
    ]
    if c_rate is not None:
        props.append(
            (f"Current at {form.cleaned_data['c_rate']}", _fmt(d["current_at_c_rate_mA"], 4, "mA"), "")
        )
    return render(
        request,
        "formulations/synthesis/detail.html",
        {
            "title": f"Electrode {e.code}",
            "record": e,
            "actions": [("Where used", reverse("cells:where-used") + f"?electrode={e.pk}")],
            "props": props,
            "form": form,
            "form_title": "Current for a C-rate",
            "form_method": "get",
        },
    )
