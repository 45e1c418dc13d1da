"""Inventory pages: thin views over the same selectors, forms and services as the API.

Shared inventory: every logged-in person reads; writing needs the researcher role in some team (else 403).
"""

from __future__ import annotations

from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from formulations import selectors_inventory as selectors
from formulations.csv_import import COLUMNS, CsvImportError, receive_delivery
from formulations.filters_inventory import ChemicalFilter, StockLotFilter, SupplierFilter
from formulations.forms_inventory import (
    AdjustForm,
    BulkReceiveForm,
    ChemicalForm,
    ConsumeForm,
    LocationForm,
    LotEditForm,
    ReasonForm,
    ReceiveLotForm,
    ReturnForm,
    SupplierForm,
)
from formulations.models import Chemical, StockLot, StorageLocation, Supplier
from formulations.services import inventory as services
from lims.edit_guard import unchanged_since_loaded
from lims.errors import ConflictError, DomainError
from lims.listing import Sorting
from lims.models import Role
from lims.permissions import team_ids_for

PAGE_SIZE = 50


def _require_writer(request: HttpRequest) -> None:
    user = request.user
    if not (user.is_staff or team_ids_for(user, Role.RESEARCHER)):
        raise PermissionDenied("Changing the inventory needs the researcher role in a team.")


def _can_write(request: HttpRequest) -> bool:
    return bool(request.user.is_staff or team_ids_for(request.user, Role.RESEARCHER))


def _page(request: HttpRequest, qs: Any) -> Any:
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


# --------------------------------------------------------------------------------------------------- lots


LOT_SORTS = {
    "code": "code",
    "chemical": "chemical__name",
    "on_hand": "quantity_on_hand",
    "status": "status",
    "location": "location__name",
    "supplier": "supplier__name",
    "received": "received_on",
    "expires": "expires_on",
}


@login_required
def lot_list(request: HttpRequest) -> HttpResponse:
    filterset = StockLotFilter(request.GET or None, queryset=selectors.lot_list())
    qs = filterset.qs if filterset.is_bound and filterset.is_valid() else selectors.lot_list()
    sorting = Sorting(request, LOT_SORTS, "-received")
    page = _page(request, sorting.apply(qs))
    context = {
        "filter": filterset,
        "page": page,
        "query": sorting.query,
        "sorting": sorting,
        "can_write": _can_write(request),
    }
    return render(request, "formulations/inventory/lot_list.html", context)


@login_required
def lot_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lot = get_object_or_404(selectors.lot_list(), pk=pk)
    context = {
        "lot": lot,
        "ledger": selectors.ledger_as_seen_by(selectors.ledger_of(lot), request.user),
        "can_write": _can_write(request),
        "history": lot.history.select_related("history_user").order_by("-history_date")[:20],  # type: ignore[attr-defined]
    }
    return render(request, "formulations/inventory/lot_detail.html", context)


@login_required
def lot_by_code(request: HttpRequest, code: str = "") -> HttpResponse:
    """What a barcode scanner types: /inventory/lots/code/<code>/ or the lookup box (?code=)."""
    code = code or request.GET.get("code", "")
    if not code.strip():
        return render(request, "formulations/inventory/lot_lookup.html", {"code": ""})
    lot = selectors.lot_by_code(code)
    if lot is None:
        return render(
            request, "formulations/inventory/lot_lookup.html", {"code": code.strip().upper()}, status=404
        )
    return redirect("formulations:lot-detail", pk=lot.pk)


@login_required
def lot_label(request: HttpRequest, pk: int) -> HttpResponse:
    """A printable label: name, code, dates, hazard flags and the QR code of the code (inline SVG)."""
    lot = get_object_or_404(selectors.lot_list(), pk=pk)
    qr = segno.make(lot.code, error="m")
    svg = qr.svg_inline(scale=4, title=f"QR code of {lot.code}")
    return render(request, "formulations/inventory/lot_label.html", {"lot": lot, "qr_svg": mark_safe(svg)})


@login_required
@require_http_methods(["GET", "POST"])
def lot_receive(request: HttpRequest) -> HttpResponse:
    _require_writer(request)
    form = ReceiveLotForm(
        request.POST or None, request.FILES or None, initial={"chemical": request.GET.get("chemical")}
    )
    if request.method == "POST" and form.is_valid():
        data = form.service_kwargs()
        try:
            lot = services.receive_lot(
                chemical=data.pop("chemical"), quantity=data.pop("quantity"), actor=request.user, **data
            )
        except DomainError as exc:
            message = str(exc)
            field = "code" if "code" in message else "expires_on" if "expiry" in message else "quantity"
            form.add_error(field, message)
        else:
            messages.success(
                request, f"Received lot {lot.code}: {lot.quantity_on_hand:g} {lot.quantity_unit}"
            )
            return redirect("formulations:lot-detail", pk=lot.pk)
    return render(
        request,
        "formulations/inventory/form.html",
        {
            "form": form,
            "title": "Receive a lot",
            "submit": "Receive",
            "cancel": reverse("formulations:lot-list"),
            "multipart": True,
        },
    )


def _movement(
    request: HttpRequest,
    pk: int,
    form_class: type[Any],
    *,
    title: str,
    submit: str,
    run: Any,
    danger: bool = False,
    confirm: str = "",
) -> HttpResponse:
    """A lot action page: show the lot, validate the form, call the service, show its refusal next to the field."""
    _require_writer(request)
    lot = get_object_or_404(selectors.lot_list(), pk=pk)
    form = form_class(request.POST or None)
    for name in ("amount", "counted"):
        if name in form.fields:
            form.fields[name].widget.attrs["data-convert-url"] = reverse("lot-convert", args=[lot.pk])
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            result = run(lot, form.cleaned_data)
        except DomainError as exc:
            message = str(exc)
            overriding = "manager" in message or "expired" in message or "quarantine" in message
            field = "override_reason" if overriding and "override_reason" in form.fields else None
            if field is None:
                field = next((f for f in ("amount", "counted") if f in form.fields), None)
            form.add_error(field, message)
            status = 409 if isinstance(exc, ConflictError) else 400
        else:
            messages.success(request, result)
            return redirect("formulations:lot-detail", pk=lot.pk)
    context = {
        "form": form,
        "lot": lot,
        "title": f"{title}: {lot.code}",
        "submit": submit,
        "cancel": reverse("formulations:lot-detail", args=[lot.pk]),
        "danger": danger,
        "confirm": confirm,
    }
    return render(request, "formulations/inventory/form.html", context, status=status)


def _tx_message(tx: Any) -> str:
    return f"{tx.get_kind_display().capitalize()} {tx.quantity:+g} {tx.lot.quantity_unit}: {tx.balance_after:g} left"


@login_required
@require_http_methods(["GET", "POST"])
def lot_consume(request: HttpRequest, pk: int) -> HttpResponse:
    def run(lot: StockLot, data: dict[str, Any]) -> str:
        return _tx_message(services.consume_from_lot(lot=lot, actor=request.user, **data))

    return _movement(request, pk, ConsumeForm, title="Consume from", submit="Consume", run=run)


@login_required
@require_http_methods(["GET", "POST"])
def lot_return(request: HttpRequest, pk: int) -> HttpResponse:
    def run(lot: StockLot, data: dict[str, Any]) -> str:
        return _tx_message(services.return_to_lot(lot=lot, actor=request.user, **data))

    return _movement(
        request, pk, ReturnForm, title="Put unused material back into", submit="Put back", run=run
    )


@login_required
@require_http_methods(["GET", "POST"])
def lot_adjust(request: HttpRequest, pk: int) -> HttpResponse:
    def run(lot: StockLot, data: dict[str, Any]) -> str:
        return _tx_message(services.adjust_lot(lot=lot, actor=request.user, **data))

    return _movement(request, pk, AdjustForm, title="Adjust after a stock count", submit="Adjust", run=run)


@login_required
@require_http_methods(["GET", "POST"])
def lot_dispose(request: HttpRequest, pk: int) -> HttpResponse:
    def run(lot: StockLot, data: dict[str, Any]) -> str:
        services.dispose_lot(lot=lot, actor=request.user, **data)
        return f"Lot {lot.code} disposed"

    return _movement(
        request,
        pk,
        ReasonForm,
        title="Dispose of",
        submit="Dispose",
        run=run,
        danger=True,
        confirm="Dispose of everything left in this lot? This cannot be undone.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def lot_quarantine(request: HttpRequest, pk: int) -> HttpResponse:
    def run(lot: StockLot, data: dict[str, Any]) -> str:
        services.quarantine_lot(lot=lot, actor=request.user, **data)
        return f"Lot {lot.code} is in quarantine"

    return _movement(request, pk, ReasonForm, title="Quarantine", submit="Quarantine", run=run)


@login_required
@require_http_methods(["GET", "POST"])
def lot_release(request: HttpRequest, pk: int) -> HttpResponse:
    def run(lot: StockLot, data: dict[str, Any]) -> str:
        services.release_lot(lot=lot, actor=request.user, **data)
        return f"Lot {lot.code} released"

    return _movement(request, pk, ReasonForm, title="Release from quarantine", submit="Release", run=run)


@login_required
@require_http_methods(["GET", "POST"])
def lot_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_writer(request)
    lot = get_object_or_404(selectors.lot_list(), pk=pk)
    form = LotEditForm(request.POST or None, request.FILES or None, instance=lot)
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if k in services.LOT_EDITABLE_FIELDS}
        if not changes.get("certificate"):
            changes.pop("certificate", None)
        try:
            with unchanged_since_loaded(lot, form.loaded_version):
                services.update_lot(
                    lot=pk, actor=request.user, reason=form.cleaned_data.get("reason", ""), **changes
                )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Lot {lot.code} saved")
            return redirect("formulations:lot-detail", pk=pk)
    context = {
        "form": form,
        "lot": lot,
        "title": f"Edit lot {lot.code}",
        "submit": "Save",
        "cancel": reverse("formulations:lot-detail", args=[pk]),
        "multipart": True,
    }
    return render(request, "formulations/inventory/form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def lot_bulk_receive(request: HttpRequest) -> HttpResponse:
    """Upload a supplier delivery (CSV): all rows are received, or none, with the problems listed per row."""
    _require_writer(request)
    form = BulkReceiveForm(request.POST or None, request.FILES or None)
    errors: list[Any] = []
    received: list[StockLot] = []
    status = 200
    if request.method == "POST" and form.is_valid():
        raw = form.cleaned_data["file"].read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        try:
            received = receive_delivery(
                text=text, actor=request.user, default_supplier=form.cleaned_data["supplier"]
            )
        except CsvImportError as exc:
            errors = exc.errors
            status = 400
        else:
            messages.success(request, f"Received {len(received)} lot(s)")
    context = {"form": form, "errors": errors, "received": received, "columns": COLUMNS}
    return render(request, "formulations/inventory/bulk_receive.html", context, status=status)


# --------------------------------------------------------------------------------------------------- chemicals


@login_required
def chemical_list(request: HttpRequest) -> HttpResponse:
    filterset = ChemicalFilter(request.GET or None, queryset=selectors.chemical_list().order_by("name"))
    qs = (
        filterset.qs
        if filterset.is_bound and filterset.is_valid()
        else selectors.chemical_list().order_by("name")
    )
    sorting = Sorting(
        request,
        {
            "name": "name",
            "cas": "cas_number",
            "role": "role",
            "molar_mass": "molar_mass",
            "density": "density",
            "on_hand": "on_hand_g",
        },
        "name",
    )
    context = {
        "filter": filterset,
        "page": _page(request, sorting.apply(qs)),
        "query": sorting.query,
        "sorting": sorting,
        "can_write": _can_write(request),
    }
    return render(request, "formulations/inventory/chemical_list.html", context)


@login_required
def chemical_detail(request: HttpRequest, pk: int) -> HttpResponse:
    chemical = get_object_or_404(selectors.chemical_list(), pk=pk)
    context = {
        "chemical": chemical,
        "lots": selectors.lots_of_chemical(chemical),
        "can_write": _can_write(request),
    }
    return render(request, "formulations/inventory/chemical_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def chemical_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require_writer(request)
    chemical = get_object_or_404(Chemical, pk=pk) if pk is not None else None
    form = ChemicalForm(request.POST or None, instance=chemical)
    if request.method == "POST" and form.is_valid():
        data = form.service_kwargs()
        synonyms = data.pop("synonyms")
        try:
            if chemical is None:
                saved = services.create_chemical(actor=request.user, synonyms=synonyms, **data)
            else:
                with unchanged_since_loaded(chemical, form.loaded_version):
                    saved = services.update_chemical(
                        chemical=chemical, actor=request.user, synonyms=synonyms, **data
                    )
        except ConflictError as exc:
            form.add_error(None, str(exc))
        except DomainError as exc:
            form.add_error("synonyms" if "ynonym" in str(exc) else None, str(exc))
        else:
            messages.success(request, f"Saved {saved.name}")
            return redirect("formulations:chemical-detail", pk=saved.pk)
    cancel = (
        reverse("formulations:chemical-detail", args=[pk]) if pk else reverse("formulations:chemical-list")
    )
    title = f"Edit {chemical.name}" if chemical else "New chemical"
    return render(
        request,
        "formulations/inventory/form.html",
        {"form": form, "title": title, "submit": "Save", "cancel": cancel},
    )


# --------------------------------------------------------------------------------------------------- suppliers


@login_required
def supplier_list(request: HttpRequest) -> HttpResponse:
    filterset = SupplierFilter(request.GET or None, queryset=selectors.supplier_list())
    qs = filterset.qs if filterset.is_bound and filterset.is_valid() else selectors.supplier_list()
    sorting = Sorting(request, {"name": "name", "website": "website", "lots": "lot_count"}, "name")
    page = _page(request, sorting.apply(qs))
    context = {
        "suppliers": page.object_list,
        "page": page,
        "filter": filterset,
        "sorting": sorting,
        "query": sorting.query,
        "can_write": _can_write(request),
    }
    return render(request, "formulations/inventory/supplier_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def supplier_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require_writer(request)
    supplier = get_object_or_404(Supplier, pk=pk) if pk is not None else None
    form = SupplierForm(request.POST or None, instance=supplier)
    if request.method == "POST" and form.is_valid():
        try:
            if supplier is None:
                services.save_supplier(actor=request.user, supplier=None, **form.cleaned_data)
            else:
                with unchanged_since_loaded(supplier, form.loaded_version):
                    services.save_supplier(actor=request.user, supplier=supplier, **form.cleaned_data)
        except ConflictError as exc:
            form.add_error(None, str(exc))
        except DomainError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, "Supplier saved")
            return redirect("formulations:supplier-list")
    title = f"Edit {supplier.name}" if supplier else "New supplier"
    context = {
        "form": form,
        "title": title,
        "submit": "Save",
        "cancel": reverse("formulations:supplier-list"),
    }
    return render(request, "formulations/inventory/form.html", context)


# --------------------------------------------------------------------------------------------------- locations


@login_required
def location_tree(request: HttpRequest) -> HttpResponse:
    context = {"nodes": selectors.location_tree(), "can_write": _can_write(request)}
    return render(request, "formulations/inventory/location_tree.html", context)


@login_required
def location_detail(request: HttpRequest, pk: int) -> HttpResponse:
    location = get_object_or_404(StorageLocation.objects.select_related("parent__parent__parent"), pk=pk)
    sorting = Sorting(request, LOT_SORTS, "code")
    context = {
        "location": location,
        "children": location.children.order_by("name"),
        "page": _page(request, sorting.apply(selectors.lots_in_location(location))),
        "query": sorting.query,
        "sorting": sorting,
        "can_write": _can_write(request),
    }
    return render(request, "formulations/inventory/location_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def location_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require_writer(request)
    location = get_object_or_404(StorageLocation, pk=pk) if pk is not None else None
    form = LocationForm(
        request.POST or None, instance=location, initial={"parent": request.GET.get("parent")}
    )
    if request.method == "POST" and form.is_valid():
        try:
            if location is None:
                saved = services.save_location(actor=request.user, location=None, **form.cleaned_data)
            else:
                with unchanged_since_loaded(location, form.loaded_version):
                    saved = services.save_location(actor=request.user, location=location, **form.cleaned_data)
        except ConflictError as exc:
            form.add_error(None, str(exc))
        except DomainError as exc:
            form.add_error("parent" if "inside" in str(exc) else "name", str(exc))
        else:
            messages.success(request, f"Saved {saved.path}")
            return redirect("formulations:location-detail", pk=saved.pk)
    title = f"Edit {location.name}" if location else "New storage location"
    context = {
        "form": form,
        "title": title,
        "submit": "Save",
        "cancel": reverse("formulations:location-tree"),
    }
    return render(request, "formulations/inventory/form.html", context)


@login_required
def inventory_home(request: HttpRequest) -> HttpResponseRedirect:
    return redirect("formulations:lot-list")
