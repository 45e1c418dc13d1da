"""lims.middleware.MessageMiddleware makes the message storage on first use: what passes from one request to the
next (cookies) must be what Django's middleware passes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib import messages
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.utils.functional import empty

from lims.authentication import SessionStore
from lims.middleware import MessageMiddleware

pytestmark = pytest.mark.django_db


def silent(request: HttpRequest) -> HttpResponse:
    return HttpResponse("nothing")


def adding(request: HttpRequest) -> HttpResponse:
    messages.success(request, "Saved <cell> 'A'")
    messages.error(request, "and one error")
    return HttpResponse("added")


def showing(request: HttpRequest) -> HttpResponse:
    return HttpResponse(" | ".join(f"{m.level_tag}: {m}" for m in messages.get_messages(request)))


def _run(middleware_class: type, view: Callable[[HttpRequest], HttpResponse], cookies: dict[str, str]) -> Any:
    request = RequestFactory().get("/")
    request.COOKIES.update(cookies)
    request.session = SessionStore()  # type: ignore[attr-defined]
    response = middleware_class(view)(request)
    return request, response


def _journey(middleware_class: type) -> list[tuple[bytes, str]]:
    """A page that shows nothing, one that adds two messages, the next that shows them, one more after it."""
    cookies: dict[str, str] = {}
    out = []
    for view in (silent, adding, showing, showing, silent):
        _, response = _run(middleware_class, view, cookies)
        out.append((response.content, response.cookies.output()))
        for name, morsel in response.cookies.items():
            if morsel["max-age"] == 0:
                cookies.pop(name, None)
            else:
                cookies[name] = morsel.value
    return out


def test_messages_pass_from_request_to_request_as_with_djangos_middleware() -> None:
    ours = _journey(MessageMiddleware)
    assert ours == _journey(DjangoMessageMiddleware)
    assert "messages=" in ours[1][1]  # carried by the cookie storage
    assert ours[2][0] == b"success: Saved <cell> 'A' | error: and one error"
    assert ours[3][0] == b""  # shown once


def test_a_request_that_uses_no_message_makes_no_storage() -> None:
    request, response = _run(MessageMiddleware, silent, {})
    assert request._messages._wrapped is empty
    assert not response.cookies
    request, _ = _run(MessageMiddleware, showing, {})
    assert request._messages._wrapped is not empty


def test_the_project_uses_it() -> None:
    from django.conf import settings

    assert "lims.middleware.MessageMiddleware" in settings.MIDDLEWARE
    assert "django.contrib.messages.middleware.MessageMiddleware" not in settings.MIDDLEWARE
