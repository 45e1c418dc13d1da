"""Pages of the ingest part: uploads (drag and drop, progress per file), upload status, measurements and plots.

The upload page posts each file to the API (/api/v1/uploads/) from static/measurements/upload.js and polls its
status URL; without JavaScript the same form posts here and calls the same service.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from lims.errors import DomainError
from lims.fields import QuantityFormField
from lims.listing import Sorting
from lims.models import Role
from lims.permissions import has_role, team_ids_for
from measurements import selectors_ingest as selectors
from measurements.filters_ingest import MeasurementFilter, UploadFilter
from measurements.models import Stage, Technique, Upload
from measurements.selectors_derived import HEADLINE_NAMES
from measurements.selectors_derived import label_of as derived_label
from measurements.services import ingest
from measurements.views_common import active_filters


class UploadForm(forms.Form):
    cell = forms.CharField(
        label="Cell (code or id)",
        max_length=60,
        widget=forms.TextInput(attrs={"list": "cell-codes", "autocomplete": "off"}),
    )
    technique = forms.ChoiceField(
        label="Technique (optional: detected from the file)",
        choices=[("", "detect from the file"), *Technique.choices],
        required=False,
    )
    temperature = QuantityFormField(
        label="Temperature", unit="degC", dimension="temperature", allow_negative=True, required=False
    )
    notes = forms.CharField(label="Notes", widget=forms.Textarea(attrs={"rows": 2}), required=False)
    mapping = forms.CharField(
        label="Column mapping (JSON, generic CSV/TSV only)",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        required=False,
        help_text='e.g. {"columns": {"time_s": ["test_time", "s"], "voltage_V": ["voltage", "V"], '
        '"current_A": ["current", "mA"]}}',
    )

    def clean_mapping(self) -> Any:
        text = self.cleaned_data.get("mapping") or ""
        if not text.strip():
            return None
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"not valid JSON: {exc}") from None
        try:
            ingest.mapping_from_options(value)
        except DomainError as exc:
            raise forms.ValidationError(str(exc)) from None
        return value


@csrf_exempt
@login_required
def upload_list(request: HttpRequest) -> HttpResponseBase:
    if request.method == "POST":
        # the size limit is enforced while the body streams in, so it is installed before the CSRF check reads it
        from measurements.api.ingest_views import SizeLimitUploadHandler

        request.upload_handlers.insert(0, SizeLimitUploadHandler(request))
    return _upload_list(request)


#: the query parameter that pre-fills the upload form's cell ("Upload data for <cell>" links); unlike the list's
#: ``cell_code`` filter it does not filter the list of recent uploads
FOR_CELL_PARAM = "for_cell"


def _cell_to_prefill(request: HttpRequest) -> str:
    """The cell the upload form starts with: ``?for_cell=``, else the cell the list is filtered to (a list of one
    cell's uploads is most often opened to upload for it; the page then says that the list is filtered)."""
    return (request.GET.get(FOR_CELL_PARAM) or request.GET.get("cell_code") or "").strip()


@csrf_protect
@require_http_methods(["GET", "POST"])
def _upload_list(request: HttpRequest) -> HttpResponse:
    prefill = _cell_to_prefill(request)
    form = UploadForm(initial={"cell": prefill})
    can_upload = bool(team_ids_for(request.user, Role.RESEARCHER)) or request.user.is_staff
    if request.method == "POST":
        from measurements.api.ingest_views import PayloadTooLarge

        if not can_upload:
            raise PermissionDenied("Uploading data needs the researcher role in a team.")

        try:
            form = UploadForm(request.POST)
            files = request.FILES.getlist("files")
        except PayloadTooLarge as exc:
            messages.error(request, str(exc.detail))
            return redirect("measurements:upload-list")
        if form.is_valid():
            stored = _store_files(request, form, files)
            if stored is not None:
                return redirect("measurements:upload-list")
    uploads = selectors.uploads_for(request.user)
    upload_filter = UploadFilter(request.GET, queryset=uploads)
    # the upload form and the filter form both have a "cell" and a "technique": distinct ids, so that each
    # label names its own input
    upload_filter.form.auto_id = "filter_%s"
    list_url = reverse("measurements:upload-list")
    sorting = Sorting(
        request,
        {
            "file": "original_name",
            "cell": ("cell__code", "membrane__code", "pellet__code"),
            "format": "detected_format",
            "technique": "technique",
            "stage": "stage",
            "size": "size_bytes",
            "received": "created_at",
            "by": "uploaded_by__username",
        },
        "-received",
    )
    page = Paginator(sorting.apply(upload_filter.qs), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "measurements/ingest/upload_list.html",
        {
            "form": form,
            "filter": upload_filter,
            "page": page,
            "sorting": sorting,
            "query": sorting.query,
            "cell_codes": selectors.cell_choices(request.user),
            "filters_set": active_filters(request, upload_filter.form),
            # clearing the list's filters keeps the cell the upload form was opened for
            "clear_url": list_url + (f"?{urlencode({FOR_CELL_PARAM: prefill})}" if prefill else ""),
            "reload_url": request.get_full_path(),
            "can_upload": can_upload,
            "max_bytes": ingest.max_upload_bytes(),
            "api_url": reverse("upload-list"),
        },
    )


def _store_files(request: HttpRequest, form: UploadForm, files: list[Any]) -> list[Upload] | None:
    if not files:
        form.add_error(None, "Choose at least one file.")
        return None
    cell = selectors.find_sample(request.user, kind="cell", reference=form.cleaned_data["cell"])
    if cell is None:
        form.add_error("cell", "No cell with this code or id that you can see.")
        return None
    if not has_role(request.user, cell.team_id, Role.RESEARCHER):
        form.add_error("cell", f"Uploading needs the researcher role in team '{cell.team}'.")
        return None
    out = []
    for f in files:
        try:
            stored = ingest.store_upload(
                file=f,
                filename=f.name,
                uploaded_by=request.user,
                team=cell.team,
                cell=cell,
                technique=form.cleaned_data.get("technique") or "",
                temperature_C=form.cleaned_data.get("temperature"),
                notes=form.cleaned_data.get("notes") or "",
                mapping=form.cleaned_data.get("mapping"),
            )
        except DomainError as exc:
            messages.error(request, f"{f.name}: {exc}")
            continue
        out.append(stored.upload)
        verb = "received" if stored.created else "was uploaded before (same bytes)"
        messages.success(request, f"{f.name} {verb}.")
    return out


@login_required
def upload_detail(request: HttpRequest, pk: int) -> HttpResponse:
    upload = selectors.uploads_for(request.user).filter(pk=pk).first()
    if upload is None:
        raise Http404("No such upload.")
    return render(
        request,
        "measurements/ingest/upload_detail.html",
        {
            "upload": upload,
            "measurement": getattr(upload, "measurement", None) if upload.stage == Stage.DONE else None,
            "in_progress": upload.stage in selectors.IN_PROGRESS,
            "status_url": reverse("upload-detail", args=[upload.pk]),
            "raw_url": reverse("upload-raw", args=[upload.pk]),
            "can_retry": upload.stage == Stage.FAILED
            and has_role(request.user, upload.team_id, Role.RESEARCHER),
        },
    )


@login_required
@require_POST
def upload_retry(request: HttpRequest, pk: int) -> HttpResponse:
    upload = selectors.uploads_for(request.user).filter(pk=pk).first()
    if upload is None:
        raise Http404("No such upload.")
    if not has_role(request.user, upload.team_id, Role.RESEARCHER):
        messages.error(request, "Retrying an upload needs the researcher role in its team.")
        return redirect("measurements:upload-detail", pk=pk)
    try:
        ingest.retry_upload(actor=request.user, upload=upload)
    except DomainError as exc:
        messages.error(request, str(exc))
    return redirect("measurements:upload-detail", pk=pk)


@login_required
def measurement_list(request: HttpRequest) -> HttpResponse:
    measurement_filter = MeasurementFilter(request.GET, queryset=selectors.measurements_for(request.user))
    qs = measurement_filter.qs
    text = request.GET.get("q", "").strip()
    if text:
        qs = qs.filter(
            Q(upload__original_name__icontains=text)
            | Q(cell__code__icontains=text)
            | Q(membrane__code__icontains=text)
            | Q(pellet__code__icontains=text)
        )
    sorting = Sorting(
        request,
        {
            "id": "id",
            "technique": "technique",
            "cell": ("cell__code", "membrane__code", "pellet__code"),
            "temperature": "temperature",
            "rows": "row_count",
            "format": "source_format",
            "file": "upload__original_name",
            "started": "started_at",
        },
        "-id",
    )
    page = Paginator(sorting.apply(qs), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "measurements/ingest/measurement_list.html",
        {
            "filter": measurement_filter,
            "page": page,
            "sorting": sorting,
            "query": sorting.query,
            "q": text,
            "filters_set": active_filters(request, measurement_filter.form, [("q", "Search")]),
        },
    )


@login_required
def measurement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    measurement = selectors.measurements_for(request.user).filter(pk=pk).first()
    if measurement is None:
        raise Http404("No such measurement.")
    cycles = [
        {
            **row,
            "start_time_h": row["start_time_s"] / 3600.0,
            "end_time_h": row["end_time_s"] / 3600.0,
            "charge_mAh": None if row["charge_capacity_Ah"] is None else row["charge_capacity_Ah"] * 1e3,
            "discharge_mAh": None
            if row["discharge_capacity_Ah"] is None
            else row["discharge_capacity_Ah"] * 1e3,
        }
        for row in selectors.cycle_rows(measurement).values()[:500]
    ]
    derived = list(measurement.derived_properties.order_by("name"))
    fitted = any(r.parameters.get("fitted") for r in derived)
    plots = []
    for kind in [*selectors.figure_kinds(measurement), *selectors.derived_figure_kinds(measurement)]:
        overlay = "?fit=1" if fitted and kind in ("nyquist", "bode") else ""
        plots.append(
            {
                "kind": kind,
                "title": selectors.FIGURE_TITLES[kind] + (" with the fitted circuit" if overlay else ""),
                "figure_url": reverse("measurement-figure", args=[measurement.pk, kind]) + overlay,
                "csv_url": reverse("measurement-figure-csv", args=[measurement.pk, kind]) + overlay,
            }
        )
    return render(
        request,
        "measurements/ingest/measurement_detail.html",
        {
            "measurement": measurement,
            "cycles": cycles,
            "cycle_count": measurement.cycles.count() if len(cycles) == 500 else len(cycles),
            "plots": plots,
            "derived": [(r, derived_label(r.name)) for r in derived],
            "headline": set(HEADLINE_NAMES),
            "csv_url": reverse("measurement-data-csv", args=[measurement.pk]),
            "parquet_url": reverse("measurement-data-parquet", args=[measurement.pk]),
            "metadata_json": json.dumps(measurement.metadata, indent=2, ensure_ascii=False)[:20000],
        },
    )
