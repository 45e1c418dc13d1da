"""The pages rendered with Jinja2 (lims/jinja.py) print what their Django templates printed.

The oracle of the cell page is its Django template as it was when the page moved to Jinja2, kept verbatim in
tests/oracles/cell_detail.html. Each page is rendered both ways with the same context and request, for several
kinds of cell and of requester, in a time zone with an offset, with hostile texts in the cell. The two outputs may
differ only where markupsafe writes an escape differently from Django (``&#39;`` for ``&#x27;``, ``&#34;`` for
``&quot;``: the same to a browser) and in the CSRF token's mask, which is new for every page.
"""

from __future__ import annotations

import datetime
import decimal
import re
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from django.contrib import messages
from django.contrib.messages import constants
from django.contrib.messages.storage import default_storage
from django.contrib.sessions.backends.db import SessionStore
from django.template import engines
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.safestring import mark_safe

from cells.models import Cell
from lims import jinja
from lims.management.commands.generate_lab import Counts, generate_lab

pytestmark = [pytest.mark.django_db]

ORACLES = Path(__file__).parent / "oracles"
ORACLE = (ORACLES / "cell_detail.html").read_text()
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[A-Za-z0-9]{64}"')


def _comparable(markup: str) -> str:
    """Markup with Django's spelling of the two escapes markupsafe writes differently, and the CSRF tokens' masks
    (new for every page) replaced by a mark; nothing else is rewritten."""
    markup = markup.replace("&#39;", "&#x27;").replace("&#34;", "&quot;")
    return _CSRF.sub('name="csrfmiddlewaretoken" value="(token)"', markup)


def _page_context(response: Any, name: str = "cells/cell_detail.html") -> dict[str, Any]:
    """The context the page's own template was rendered with (the form's widgets render templates too)."""
    names = [t.name for t in response.templates]
    return response.context[names.index(name)] if len(names) > 1 else response.context


def _django_oracle(context: dict[str, Any], request: Any, oracle: str = ORACLE) -> str:
    own = {k: v for k, v in context.items() if k not in jinja.REQUEST_KEYS}
    return engines["django"].from_string(oracle).render(own, request=request)


@pytest.fixture
def hostile_cells(world: Any, team: Any, researcher: Any) -> list[Cell]:
    """The world's cells (a blocking cell with a post-mortem file, one with none, a disassembled one) and a
    generated lab's membrane cells with hostile texts, glovebox readings and a stack pressure."""
    generate_lab(Counts.uniform(4), seed=11, tag="jp", teams=[team], members=[researcher])
    lab = list(Cell.objects.filter(team=team, membrane__isnull=False).order_by("id")[:3])
    texts = ['<b>"x"</b> & it\'s', "line one\nline <two>", ""]
    for i, cell in enumerate(lab):
        cell.format_detail = texts[i]
        cell.notes = texts[(i + 1) % 3]
        cell.glovebox_o2 = [0.1, None, 12.5][i]
        cell.glovebox_h2o = [None, 0.05, 3.0][i]
        cell.stack_pressure = [None, 2.5, 10][i]
        cell.save(update_fields=["format_detail", "notes", "glovebox_o2", "glovebox_h2o", "stack_pressure"])
    return [world.cell, world.spare_cell, world.done_cell, *lab]


@pytest.mark.parametrize("zone", ["UTC", "America/St_Johns"])
def test_the_cell_page_is_the_markup_its_django_template_wrote(
    hostile_cells: list[Cell], world: Any, settings: Any, zone: str
) -> None:
    settings.TIME_ZONE = zone
    seen_forms = 0
    for kind in ("researcher", "viewer", "manager", "staff"):
        client = Client()
        client.force_login(world.people[kind])
        for cell in hostile_cells:
            response = client.get(reverse("cells:cell-detail", args=[cell.pk]))
            assert response.status_code == 200, (kind, cell.code)
            got = response.content.decode()
            expected = _django_oracle(_page_context(response), response.wsgi_request)
            assert _comparable(got) == _comparable(expected), (kind, cell.code)
            seen_forms += "Save post-mortem" in got
    assert seen_forms  # the post-mortem form was printed (a writer on a disassembled cell)


def test_the_comparison_sees_a_difference(hostile_cells: list[Cell], world: Any) -> None:
    """The oracle comparison is not vacuous: a page whose template drops one character differs."""
    client = Client()
    client.force_login(world.people["researcher"])
    response = client.get(reverse("cells:cell-detail", args=[hostile_cells[-1].pk]))
    context = dict(_page_context(response))
    context["cell"].format_detail += "!"
    assert _comparable(response.content.decode()) != _comparable(
        _django_oracle(context, response.wsgi_request)
    )


def _list_pages_match(person: Any, route: str, template: str, oracle: str, queries: list[str]) -> set[str]:
    """Each query's page of a list equals its oracle's; the markers of what the pages showed (both pagers, a
    refused filter's errors, an empty result)."""
    source = (ORACLES / oracle).read_text()
    client = Client()
    client.force_login(person)
    seen: set[str] = set()
    for query in queries:
        response = client.get(reverse(route) + query)
        assert response.status_code == 200, query
        got = response.content.decode()
        expected = _django_oracle(_page_context(response, template), response.wsgi_request, source)
        assert _comparable(got) == _comparable(expected), query
        seen.update(
            k
            for k in ("Next →", "← Previous", "errorlist", "No derived property matches", "No cell matches")
            if k in got
        )
    return seen


DERIVED_QUERIES = [
    "",
    "?name=ionic_conductivity",
    "?page=2",
    "?page=999",
    "?q=%3Cb%3E%22x%22",
    "?temperature_min=20+kg",
    "?temperature_min=abc&name=%3Ci%3E",
    "?sort=-value",
    "?sort=of&page=2",
    "?name=no_such_property",
    "?cell_code=%3Cscript%3E",
]


def test_the_derived_property_page_is_the_markup_its_django_template_wrote(
    team: Any, researcher: Any, settings: Any
) -> None:
    """Both pages of a lab's derived properties, by name, searched with a hostile text, with a filter the form
    refuses, sorted, and with nothing found."""
    settings.TIME_ZONE = "America/St_Johns"
    generate_lab(Counts.uniform(60), seed=12, tag="jd", teams=[team], members=[researcher])
    seen = _list_pages_match(
        researcher,
        "measurements:derived-list",
        "measurements/derived/list.html",
        "derived_list.html",
        DERIVED_QUERIES,
    )
    assert seen == {"Next →", "← Previous", "errorlist", "No derived property matches"}


CELL_LIST_QUERIES = [
    "",
    "?page=2",
    "?page=abc",
    "?code=%3Cb%3E%22x%22",
    "?state=bogus",
    "?state=assembled&state=on_test",
    "?configuration=symmetric&membrane=abc",
    "?sort=-code",
    "?sort=recipe&page=2",
    "?sort=filler",
]


def test_the_cell_list_is_the_markup_its_django_template_wrote(
    team: Any, researcher: Any, settings: Any
) -> None:
    """Both pages of a lab's cells, filtered (a hostile code, states, a filter the form refuses), sorted, with
    nothing found."""
    settings.TIME_ZONE = "Asia/Kolkata"
    generate_lab(Counts.uniform(60), seed=13, tag="jc", teams=[team], members=[researcher])
    seen = _list_pages_match(
        researcher, "cells:cell-list", "cells/cell_list.html", "cell_list.html", CELL_LIST_QUERIES
    )
    assert seen == {"Next →", "← Previous", "errorlist", "No cell matches"}


def _request(user: Any, query: str = "") -> Any:
    request: Any = RequestFactory().get("/somewhere/" + query)
    request.user = user
    request.session = SessionStore()
    request._messages = default_storage(request)
    return request


@pytest.mark.parametrize("kind", ["anonymous", "researcher", "manager", "staff"])
def test_the_jinja2_base_is_the_django_base(world: Any, kind: str) -> None:
    """templates/jinja2/base.html prints what templates/base.html prints: the navigation a researcher, an auditor
    and staff see, the search box's text (hostile), the messages."""
    from django.contrib.auth.models import AnonymousUser

    user = AnonymousUser() if kind == "anonymous" else world.people[kind]
    page = (
        '{% extends "base.html" %}{% block title %}T <&>{% endblock %}'
        '{% block head %}<meta name="x">{% endblock %}{% block content %}<p>body</p>{% endblock %}'
    )
    outputs = []
    for engine in ("django", "jinja2"):
        request = _request(user, "?q=%3Cb%3E%22it%27s%22")
        messages.add_message(request, constants.SUCCESS, "Saved <cell> 'A'")
        messages.add_message(
            request, constants.ERROR, mark_safe("<b>bold</b>")
        )  # printed as Django prints it
        outputs.append(_comparable(engines[engine].from_string(page).render({}, request=request)))
    assert outputs[0] == outputs[1]
    assert "&lt;b&gt;&quot;it&#x27;s&quot;" in outputs[1] or kind == "anonymous"
    assert ("Audit</a>" in outputs[1]) is (kind in ("manager", "staff"))


def test_values_print_as_django_prints_them(settings: Any) -> None:
    """``{{ value }}`` of every kind of value the pages print."""
    settings.TIME_ZONE = "Asia/Kolkata"
    lazy_text = lazy(lambda: "lazy <text>", str)()
    values = [
        0,
        -12,
        10**20,
        True,
        None,
        0.1,
        1e-7,
        2.5e21,
        float("nan"),
        decimal.Decimal("1.2300"),
        datetime.datetime(2026, 3, 1, 23, 45, 12, tzinfo=datetime.UTC),
        datetime.date(2026, 3, 1),
        datetime.time(7, 5),
        "plain & <b>",
        mark_safe("<i>safe</i>"),
        lazy_text,
        Cell(code="C-<1>"),
    ]
    django = engines["django"].from_string("{% for v in values %}[{{ v }}]{% endfor %}")
    ours = engines["jinja2"].from_string("{% for v in values %}[{{ v }}]{% endfor %}")
    for use_thousands in (False, True):
        settings.USE_THOUSAND_SEPARATOR = use_thousands
        assert _comparable(ours.render({"values": values})) == _comparable(django.render({"values": values}))


def test_filters_and_tags_are_djangos() -> None:
    """``date`` in the current zone, ``floatformat``, ``widthratio``, ``yesno``, ``url`` with and without keys."""
    moments = [
        datetime.datetime(2026, 12, 31, 23, 59, tzinfo=datetime.UTC),
        datetime.datetime(2026, 1, 2),
        datetime.datetime(5, 3, 4, 5, 6, 7, 891011, tzinfo=datetime.UTC),
        datetime.datetime(2026, 6, 30, 22, 30, 59, 999999, tzinfo=zoneinfo.ZoneInfo("America/St_Johns")),
        datetime.datetime(9999, 12, 31, 9, 1),
        None,
    ]
    ratios = [(0.125, 1, 100), (0.135, 1, 100), (2.5, 1, 1), (1, 0, 100), (None, 1, 100), ("x", 1, 100)]
    numbers = [1.23456, 0.0, -0.5, decimal.Decimal("2.50"), None, "abc"]
    django = engines["django"].from_string(
        '{% for d in moments %}[{{ d|date:"Y-m-d H:i" }}]{% endfor %}'
        "{% for v, m, w in ratios %}[{% widthratio v m w %}]{% endfor %}"
        '{% for n in numbers %}[{{ n|floatformat:3 }}|{{ n|floatformat:"-1" }}]{% endfor %}'
        '{% for b in flags %}[{{ b|yesno:"yes,no,not checked" }}]{% endfor %}'
        "[{% url 'home' %}][{% url 'cells:cell-detail' 42 %}][{% url 'cells:cell-attachment' 42 7 %}]"
    )
    ours = engines["jinja2"].from_string(
        '{% for d in moments %}[{{ d|date("Y-m-d H:i") }}]{% endfor %}'
        "{% for v, m, w in ratios %}[{{ widthratio(v, m, w) }}]{% endfor %}"
        '{% for n in numbers %}[{{ n|floatformat(3) }}|{{ n|floatformat("-1") }}]{% endfor %}'
        '{% for b in flags %}[{{ b|yesno("yes,no,not checked") }}]{% endfor %}'
        "[{{ url('home') }}][{{ url('cells:cell-detail', 42) }}][{{ url('cells:cell-attachment', 42, 7) }}]"
    )
    context = {"moments": moments, "ratios": ratios, "numbers": numbers, "flags": [True, False, None]}
    for zone in ("UTC", "Pacific/Chatham"):
        with timezone.override(zoneinfo.ZoneInfo(zone)):
            expected = django.render(context)
            assert ours.render(context) == expected
    assert "/cells/42/" in expected


def test_a_dicts_keys_read_as_jinja2_reads_them() -> None:
    """``{{ d.name }}`` on a dict answers what Jinja2's own environment answers: the key, the dict's method where
    the name is one (``items``, ``get``, even when a key has that name), undefined for a missing key, and the
    attribute first on anything that is not exactly a dict."""
    import collections

    import jinja2

    class Keyed(dict):  # type: ignore[type-arg]
        label = "attribute"

    rows = [
        {"url": "/a/", "label": "<b>", "items": "shadowed", "get": 1, "n": 0, "none": None},
        {},
        collections.OrderedDict(url="/o/", label="ordered"),
        Keyed(label="key", url="/k/"),
        collections.defaultdict(lambda: "default", url="/d/"),
    ]
    source = (
        "{% for r in rows %}[{{ r.url }}|{{ r.label }}|{{ r.items is callable }}|{{ r.get is callable }}|"
        "{{ r.n }}|{{ r.none }}|{{ r.missing is defined }}|{{ r.missing|default('x') }}|{{ r.keys is callable }}]"
        "{% endfor %}"
    )
    ours = jinja.environment(autoescape=True).from_string(source)
    plain = jinja2.Environment(autoescape=True, finalize=jinja._finalize).from_string(source)
    assert isinstance(ours.environment, jinja.Environment)
    assert ours.render(rows=rows) == plain.render(rows=rows)
    assert "[/a/|&lt;b&gt;|True|True|0|None|False|x|True]" in ours.render(rows=rows)


def test_static_is_djangos_and_follows_a_changed_setting(settings: Any) -> None:
    from django.templatetags.static import static

    for path in ("cells/cells.css", "lims/app.js", "a b/ü.css"):
        assert jinja.static(path) == static(path)
    settings.STATIC_URL = "/assets/"
    assert jinja.static("cells/cells.css") == static("cells/cells.css")
    assert jinja.static("cells/cells.css").startswith("/assets/")


def test_a_page_makes_its_csrf_token_once(world: Any) -> None:
    """Every form of a page carries the same masked token (Django's Jinja2 backend masks a new one for each), and
    the next page gets another mask of the same secret."""
    from django.middleware import csrf

    unmask = csrf._unmask_cipher_token  # type: ignore[attr-defined]

    request = _request(world.people["researcher"])
    csrf.get_token(request)
    template = engines["jinja2"].from_string("{{ csrf_input }}|{{ csrf_input }}|{{ csrf_token }}")
    first = template.render({}, request=request).split("|")
    second = template.render({}, request=request).split("|")
    assert first[0] == first[1] and first[0] != second[0]
    token = re.search(r'value="([^"]+)"', first[0])
    assert token is not None
    assert unmask(token.group(1)) == unmask(first[2])


def test_a_syntax_error_is_reported_as_djangos() -> None:
    """A broken Jinja2 template raises Django's TemplateSyntaxError with the debug page's source lines."""
    from django.template import TemplateSyntaxError

    with pytest.raises(TemplateSyntaxError) as raised:
        engines["jinja2"].from_string("line one\n{% if %}")
    assert raised.value.template_debug["line"] == 2  # type: ignore[attr-defined]
