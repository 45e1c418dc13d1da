"""Login with throttling: after LIMS_LOGIN_MAX_FAILURES failed attempts for a user name (or from an address),
further attempts are refused for LIMS_LOGIN_LOCKOUT_SECONDS, without even checking the password."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse


def _keys(request: HttpRequest) -> list[str]:
    username = (request.POST.get("username") or "").strip().lower()
    address = request.META.get("REMOTE_ADDR", "")
    return [
        "login-fail:user:" + hashlib.sha256(username.encode()).hexdigest(),
        "login-fail:addr:" + hashlib.sha256(address.encode()).hexdigest(),
    ]


def is_locked(request: HttpRequest) -> bool:
    return any((cache.get(k) or 0) >= settings.LIMS_LOGIN_MAX_FAILURES for k in _keys(request))


def record_failure(request: HttpRequest) -> None:
    for key in _keys(request):
        if not cache.add(key, 1, settings.LIMS_LOGIN_LOCKOUT_SECONDS):
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, settings.LIMS_LOGIN_LOCKOUT_SECONDS)


class ThrottledLoginView(auth_views.LoginView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if is_locked(request):
            form = self.get_form()
            form.add_error(None, "Too many failed log-in attempts. Try again in a few minutes.")
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        if self.request.method == "POST" and not is_locked(self.request):
            record_failure(self.request)
        return super().form_invalid(form)
