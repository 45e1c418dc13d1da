"""The audit pages for managers (and staff): a team's recent changes, a record's history, a person's changes.

Reads only (lims/history.py builds the rows in a fixed number of queries); who may see what is decided there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from lims import history
from lims.models import Membership, Role
from lims.permissions import team_ids_for


class DateInput(forms.DateInput):
    input_type = "date"


class AuditFilterForm(forms.Form):
    kind = forms.ChoiceField(label="Record kind", required=False)
    user = forms.TypedChoiceField(label="Changed by", required=False, coerce=int, empty_value=None)
    via = forms.ChoiceField(
        label="Channel",
        required=False,
        choices=[("", "any channel"), *history.CHANNELS.items(), ("api-token", "API token")],
    )
    since = forms.DateField(label="From (date)", required=False, widget=DateInput)
    until = forms.DateField(label="To (date, inclusive)", required=False, widget=DateInput)

    def __init__(
        self, *args: Any, viewer: Any, with_user: bool = True, own: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        kinds = history.kinds_for(viewer, own=own)
        self.fields["kind"].choices = [("", "every kind"), *kinds]  # type: ignore[attr-defined]
        if with_user:
            self.fields["user"].choices = [("", "anyone"), *_people(viewer)]  # type: ignore[attr-defined]
        else:
            del self.fields["user"]

    def spec(self, **fixed: Any) -> history.Filter:
        data = self.cleaned_data if self.is_valid() else {}
        tz = timezone.get_current_timezone()
        since = data.get("since")
        until = data.get("until")
        return history.Filter(
            labels=[data["kind"]] if data.get("kind") else None,
            user_id=fixed.get("user_id", data.get("user")),
            via=data.get("via") or "",
            since=dt.datetime.combine(since, dt.time.min, tzinfo=tz) if since else None,
            until=dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
            if until
            else None,
        )


def _people(viewer: Any) -> list[tuple[int, str]]:
    User = get_user_model()
    qs = User.objects.order_by("username")
    if not viewer.is_staff:
        qs = qs.filter(
            id__in=Membership.objects.filter(team_id__in=team_ids_for(viewer, Role.MANAGER)).values("user_id")
        )
    return [
        (u.pk, u.get_full_name() or u.username) for u in qs.only("id", "username", "first_name", "last_name")
    ]


def _query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _page_of_rows(request: HttpRequest, spec: history.Filter) -> tuple[Any, list[history.HistoryRow]]:
    index = history.index_queryset(request.user, spec)
    if index is None:
        return None, []
    page = Paginator(index, history.PAGE_SIZE).get_page(request.GET.get("page"))
    return page, history.load_rows(page.object_list)


def _listed(rows: list[history.HistoryRow]) -> dict[str, Any]:
    """The template's rows: saves that changed no tracked field folded into one line per run, and how many."""
    return {"rows": history.fold_empty_saves(rows), "empty_saves": sum(r.is_empty_save for r in rows)}


@login_required
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    """Recent changes in the teams the viewer manages (everything for staff), filterable."""
    if not history.is_auditor(request.user):
        raise PermissionDenied("The audit trail is for team managers and staff.")
    form = AuditFilterForm(request.GET or None, viewer=request.user)
    page, rows = _page_of_rows(request, form.spec() if form.is_bound else history.Filter())
    return render(
        request,
        "lims/audit_list.html",
        {"form": form, "page": page, **_listed(rows), "query": _query_without_page(request)},
    )


@login_required
@require_GET
def record_history(request: HttpRequest, label: str, pk: int) -> HttpResponse:
    """Every change of one record and of its parts (a lot's ledger, a cell's components, ...)."""
    status = history.access_to_record(request.user, label, pk)
    if status == 404:
        raise Http404("No such record.")
    if status == 403:
        raise PermissionDenied("The history of this record is for the managers of its team and staff.")
    spec = history.Filter(
        labels=list(history.record_filter(label, pk)), object_filter=history.record_filter(label, pk)
    )
    page, rows = _page_of_rows(request, spec)
    nouns = history.part_nouns(label)
    for row in rows:
        row.part_of = nouns.get(row.label, "")
    return render(
        request,
        "lims/record_history.html",
        {
            "kind": history.kind_label(label),
            "record": history.current_label(label, pk),
            "record_url": history.detail_url(label, pk),
            "page": page,
            **_listed(rows),
            "query": _query_without_page(request),
            "parts": sorted(set(nouns.values())),
        },
    )


@login_required
@require_GET
def user_history(request: HttpRequest, pk: int) -> HttpResponse:
    """Every change a person made, in the records the viewer may audit."""
    status = history.access_to_user(request.user, pk)
    if status == 404:
        raise Http404("No such person.")
    if status == 403:
        raise PermissionDenied("A person's changes are shown to the managers of their teams and staff.")
    own = pk == request.user.pk  # one's own changes, in every team one belongs to
    form = AuditFilterForm(request.GET or None, viewer=request.user, with_user=False, own=own)
    spec = form.spec(user_id=pk) if form.is_bound else history.Filter(user_id=pk)
    spec = dataclasses.replace(spec, own=own)
    page, rows = _page_of_rows(request, spec)
    return render(
        request,
        "lims/user_history.html",
        {
            "person": history.user_label(pk),
            "form": form,
            "page": page,
            **_listed(rows),
            "query": _query_without_page(request),
        },
    )
