"""Web security of every page and every download (check --deploy, login throttling and hashed tokens: lims/tests).

Generated from the permission matrix's routes (tests/test_permission_matrix.py), fetched as staff with the test
world (so every page has something to show):

- every HTML page carries the security headers (CSP without inline or remote scripts, nosniff, frame-ancestors /
  X-Frame-Options, Referrer-Policy), contains no inline script, no event-handler attribute and no javascript: URL,
  and every POST form in it carries the CSRF token;
- every template on disk is free of inline scripts too (pages the sweep cannot reach: error pages, partials);
- every response that is not a page or JSON is a download: ``Content-Disposition: attachment``, nosniff, a sandbox
  CSP, and never a content type a browser would run (HTML, SVG, XML, JavaScript) even for an uploaded .html file;
- raw uploads are stored outside the web root (static files) and no URL serves MEDIA_ROOT.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.test_permission_matrix import MATRIX, STAFF, discovered_routes

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

ROOT = Path(__file__).resolve().parents[1]
INLINE_SCRIPT = re.compile(rb"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(rb"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(rb"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)
POST_FORM = re.compile(rb"<form\b[^>]*method\s*=\s*[\"']?post[^>]*>(.*?)</form>", re.IGNORECASE | re.DOTALL)
ACTIVE_TYPES = ("text/html", "image/svg", "application/xhtml", "text/xml", "application/xml", "javascript")
#: routes that send files (checked to be downloads even if they answered something else)
DOWNLOAD_NAMES = re.compile(r"(raw|csv|parquet|file|attachment|export)$")


def _page_problems(url: str, response: object) -> list[str]:
    r = response
    csp = r.get("Content-Security-Policy", "")  # type: ignore[attr-defined]
    body = bytes(r.content)  # type: ignore[attr-defined]
    problems = []
    script_src = next((d for d in csp.split(";") if d.strip().startswith("script-src")), "")
    if "script-src 'self'" not in csp or "unsafe-inline" in script_src or "http" in script_src:
        problems.append(f"{url}: CSP {csp!r}")
    if "frame-ancestors 'none'" not in csp or r.get("X-Frame-Options") != "DENY":  # type: ignore[attr-defined]
        problems.append(f"{url}: framing allowed")
    if r.get("X-Content-Type-Options") != "nosniff":  # type: ignore[attr-defined]
        problems.append(f"{url}: no nosniff")
    if r.get("Referrer-Policy") != "same-origin":  # type: ignore[attr-defined]
        problems.append(f"{url}: Referrer-Policy {r.get('Referrer-Policy')!r}")  # type: ignore[attr-defined]
    for pattern, what in ((INLINE_SCRIPT, "an inline script"), (EVENT_HANDLER, "an event-handler attribute")):
        if m := pattern.search(body):
            problems.append(f"{url}: {what}: {m.group(0)[:120]!r}")
    if m := JAVASCRIPT_URL.search(body):
        problems.append(f"{url}: a javascript: URL: {m.group(0)!r}")
    for form in POST_FORM.finditer(body):
        if b"csrfmiddlewaretoken" not in form.group(1):
            problems.append(f"{url}: a POST form without the CSRF token: {form.group(0)[:160]!r}")
    return problems


def _download_problems(url: str, response: object) -> list[str]:
    r = response
    problems = []
    ctype = r.get("Content-Type", "")  # type: ignore[attr-defined]
    if not r.get("Content-Disposition", "").startswith("attachment"):  # type: ignore[attr-defined]
        problems.append(f"{url}: Content-Disposition {r.get('Content-Disposition')!r}")  # type: ignore[attr-defined]
    if r.get("X-Content-Type-Options") != "nosniff":  # type: ignore[attr-defined]
        problems.append(f"{url}: no nosniff")
    if any(t in ctype for t in ACTIVE_TYPES):
        problems.append(f"{url}: served as {ctype}, which a browser would run")
    if "sandbox" not in r.get("Content-Security-Policy", ""):  # type: ignore[attr-defined]
        problems.append(f"{url}: no sandbox CSP ({r.get('Content-Security-Policy')!r})")  # type: ignore[attr-defined]
    return problems


def test_every_page_has_the_security_headers_and_every_file_goes_out_as_a_safe_download(world, capsys):  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(world.people[STAFF])
    pages, downloads, problems = 0, 0, []
    for name, (_route, _api) in sorted(discovered_routes().items()):
        op = MATRIX[name].get("GET")
        if op is None or STAFF not in op.allowed:
            continue
        kwargs = op.kwargs(world) if op.kwargs else {}
        query = op.query(world) if callable(op.query) else op.query
        url = reverse(name, kwargs=kwargs) + (f"?{query}" if query else "")
        response = client.get(url)
        if response.status_code != 200:
            continue  # redirects (a lookup that found its record): their target is a route of its own
        ctype = response.get("Content-Type", "")
        if ctype.startswith("text/html") and not DOWNLOAD_NAMES.search(name):
            pages += 1
            problems += _page_problems(url, response)
        elif not ctype.startswith(
            ("application/json", "application/vnd.oai.openapi")
        ) or DOWNLOAD_NAMES.search(name):
            downloads += 1
            problems += _download_problems(url, response)
    with capsys.disabled():
        print(f"\nweb security: {pages} pages and {downloads} downloads checked, problems {len(problems)}")
    assert pages > 60 and downloads >= 10
    assert not problems, "\n".join(problems)


def test_no_template_holds_an_inline_script_or_an_event_handler() -> None:
    problems = []
    templates = sorted((ROOT / "templates").rglob("*.html"))
    for path in templates:
        text = path.read_bytes()
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, JAVASCRIPT_URL):
            if m := pattern.search(text):
                problems.append(f"{path.relative_to(ROOT)}: {m.group(0)[:120]!r}")
    assert len(templates) > 20
    assert not problems, "\n".join(problems)


def test_uploads_live_outside_the_web_root_and_no_url_serves_them(world) -> None:  # type: ignore[no-untyped-def]
    media = Path(settings.MEDIA_ROOT).resolve()
    web_roots = [
        Path(settings.STATIC_ROOT).resolve(),
        *(Path(p).resolve() for p in settings.STATICFILES_DIRS),
    ]
    assert not any(media == w or media.is_relative_to(w) or w.is_relative_to(media) for w in web_roots)
    raw = Path(settings.MEDIA_ROOT, str(world.upload.raw_file.name))
    assert raw.exists() and raw.stat().st_mode & 0o333 == 0  # read-only, never executable
    client = Client()
    client.force_login(world.people[STAFF])
    for url in (
        f"{settings.MEDIA_URL}{world.upload.raw_file.name}",
        f"{settings.MEDIA_URL}{world.cell_file.file.name}",
        f"{settings.STATIC_URL}../media/{world.upload.raw_file.name}",
    ):
        assert client.get(url).status_code == 404, url


def test_the_api_docs_work_under_the_csp_their_scripts_are_same_origin_files(client, researcher) -> None:  # type: ignore[no-untyped-def]
    client.force_login(researcher)
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200 and not INLINE_SCRIPT.search(page.content)
    sources = re.findall(rb'<script[^>]*\bsrc="([^"]+)"', page.content)
    assert len(sources) >= 3  # the bundle, the preset and the start-up script
    from django.contrib.staticfiles import finders

    for src in sources:
        url = src.decode().replace("&amp;", "&")
        assert url.startswith("/"), url  # same origin: allowed by script-src 'self'
        if url.startswith(settings.STATIC_URL):  # vendored (drf-spectacular-sidecar), served by whitenoise
            assert finders.find(url.removeprefix(settings.STATIC_URL)), url
            continue
        script = client.get(url)
        assert script.status_code == 200, url
        assert "javascript" in script["Content-Type"], (url, script["Content-Type"])
