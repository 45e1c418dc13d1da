"""Core pages: the dashboard, login, and the health check."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from lims import dashboard


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "lims/home.html", dashboard.build(request.user))


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """``/favicon.ico``, which browsers and feed readers ask for whatever the page says: the static SVG icon."""
    from django.templatetags.static import static

    return HttpResponseRedirect(static("lims/favicon.svg"))


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """Liveness of the database and, when a broker is configured, of a Celery worker (the ``lims.ping`` task)."""
    from django.conf import settings

    checks: dict[str, Any] = {}
    ok = True
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # report, never raise, from a health check
        checks["database"] = f"error: {exc}"
        ok = False
    if settings.CELERY_TASK_ALWAYS_EAGER:
        checks["worker"] = "in-process (no broker configured)"
    elif request.GET.get("worker") == "1":
        from lims.celery import ping

        try:
            checks["worker"] = ping.apply_async().get(timeout=5)
        except Exception as exc:
            checks["worker"] = f"error: {exc}"
            ok = False
    return JsonResponse({"status": "ok" if ok else "error", "checks": checks}, status=200 if ok else 503)


@login_required
def search_view(request: HttpRequest) -> HttpResponse:
    from django.shortcuts import redirect

    from lims.search import search

    q = request.GET.get("q", "")
    hits = search(request.user, q)
    if len(hits) == 1 and request.GET.get("go", "1") == "1":
        return redirect(hits[0].url)
    return render(request, "lims/search.html", {"q": q, "hits": hits})
