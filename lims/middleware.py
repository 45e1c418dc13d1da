"""A strict Content-Security-Policy: no inline scripts, nothing from other origins; files leave as inert downloads.

Any response sent as an attachment (raw instrument files, Parquet, CSV exports, photos and other attached files)
gets a sandboxing policy instead of the page policy, and a content type a browser would execute or render as a
document (HTML, SVG, XML, JavaScript: an uploaded file can be anything) is replaced by application/octet-stream.

``MessageMiddleware`` is Django's with the message storage made when a request first uses it (most API requests
never do: making it was 3% of an upload status's time).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.contrib.messages import middleware as messages_middleware
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty


class MessageMiddleware(messages_middleware.MessageMiddleware):
    """Django's; the storage is made on first use. A storage never used stores nothing, so the response is left
    alone then, as Django's ``update`` leaves it (nothing added, nothing read)."""

    def process_request(self, request: HttpRequest) -> None:
        request._messages = SimpleLazyObject(partial(default_storage, request))  # type: ignore[attr-defined]

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        storage = getattr(request, "_messages", None)
        if isinstance(storage, SimpleLazyObject) and storage._wrapped is empty:  # type: ignore[attr-defined]
            return response
        return super().process_response(request, response)


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; "
    "form-action 'self'"
)


#: the policy of a downloaded file: nothing may run or load, even if a browser were to display it
DOWNLOAD_CSP = "default-src 'none'; sandbox"
ACTIVE_CONTENT_TYPES = (
    "text/html",
    "application/xhtml",
    "image/svg",
    "text/xml",
    "application/xml",
    "javascript",
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.headers.get("Content-Disposition", "").startswith("attachment"):
            response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
            response.headers["X-Content-Type-Options"] = "nosniff"
            ctype = response.headers.get("Content-Type", "").lower()
            if any(t in ctype for t in ACTIVE_CONTENT_TYPES):
                response.headers["Content-Type"] = "application/octet-stream"
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response
