"""The LIMS's URL conf plus the do-nothing views that bench/bench_floor.py measures (never mounted by the LIMS).

``upload_status_by_hand`` is a bench-only prototype, not a product path: the upload status answered by a plain
Django view with the token check, the team check and the baseline's own SQL through Django's connection and
``json.dumps``, i.e. the best an endpoint can do inside Django once DRF, the ORM and the serializers are left out.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from lims.models import ApiToken
from lims.urls import urlpatterns as lims_urlpatterns


def plain(request: HttpRequest) -> HttpResponse:
    """Django and its middleware, nothing else: no authentication, no query."""
    return HttpResponse(b"{}", content_type="application/json")


def one_query(request: HttpRequest) -> HttpResponse:
    """Django, its middleware and one trivial query through Django's connection."""
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
        cur.fetchone()
    return HttpResponse(b"{}", content_type="application/json")


class Authenticated(APIView):
    """A DRF view with the LIMS's default authentication (the API token: one query) and permission; answers {}."""

    def get(self, request: Any) -> Response:
        return Response({})


@login_required
def signed_in(request: HttpRequest) -> HttpResponse:
    """A page's session check (the session and the user: two queries), no template."""
    return HttpResponse(b"<!doctype html><title>x</title>", content_type="text/html")


@login_required
def empty_page(request: HttpRequest) -> HttpResponse:
    """The LIMS's page frame (base.html: navigation, search, the user's menu) with an empty body."""
    return render(request, "base.html", {})


_TOKEN_SQL = (
    "SELECT t.user_id FROM lims_apitoken t JOIN lims_user u ON u.id = t.user_id "
    "WHERE t.key_hash = %s AND t.revoked_at IS NULL AND u.is_active"
)
_UPLOAD_SQL = (
    "SELECT up.id, up.sha256, up.original_name, up.size_bytes, up.detected_format, up.technique, up.cell_id, "
    "c.code AS cell_code, up.temperature, up.stage, up.progress, up.error, up.instrument_id, up.enqueued_at, "
    "up.started_at, up.finished_at, up.attempts, ms.id AS measurement_id FROM measurements_upload up "
    "LEFT JOIN cells_cell c ON c.id = up.cell_id LEFT JOIN measurements_measurement ms ON ms.upload_id = up.id "
    "WHERE up.id = %s AND up.team_id IN (SELECT team_id FROM lims_membership WHERE user_id = %s)"
)


def upload_status_by_hand(request: HttpRequest, pk: int) -> HttpResponse:
    header = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(header) != 2 or header[0].lower() not in ("token", "bearer"):
        return JsonResponse({"detail": "Authentication credentials were not provided."}, status=401)
    with connection.cursor() as cur:
        cur.execute(_TOKEN_SQL, [ApiToken.hash_key(header[1])])
        user = cur.fetchone()
        if user is None:
            return JsonResponse({"detail": "Invalid token."}, status=401)
        cur.execute(_UPLOAD_SQL, [pk, user[0]])
        names = [c.name for c in cur.description or ()]
        row = cur.fetchone()
    if row is None:
        return JsonResponse({"detail": "Not found."}, status=404)
    body = json.dumps(dict(zip(names, row, strict=True)), default=str).encode()
    return HttpResponse(body, content_type="application/json")


urlpatterns = [
    path("floor/django/", plain),
    path("floor/django-query/", one_query),
    path("floor/drf/", Authenticated.as_view()),
    path("floor/signed-in/", signed_in),
    path("floor/page/", empty_page),
    path("floor/upload-by-hand/<int:pk>/", upload_status_by_hand),
    *lims_urlpatterns,
]
