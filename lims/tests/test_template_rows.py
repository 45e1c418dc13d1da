"""``{% rowfor %}`` (lims/template_rows.py) prints what Django's ``{% for %}`` prints for the same body: the bodies
of the real pages, rows with every kind of value, and the cases it leaves to Django. No database."""

from __future__ import annotations

import datetime
import decimal
import re
from pathlib import Path
from typing import Any

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.utils.safestring import mark_safe

from lims import template_rows

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
_ROWFOR = re.compile(r"{%\s*rowfor (\w+) in [^%]+%}(.*?)(?:{%\s*empty\s*%}.*?)?{%\s*endrowfor\s*%}", re.S)

NASTY = [
    "<script>alert('x')</script>",
    'a "quoted" & <b>bold</b>',
    "",
    "plain",
    "é ° ± µ",
    mark_safe("<em>safe</em>"),
    None,
    0,
    7,
    -3.25,
    1234567.891,
    decimal.Decimal("1.50"),
    True,
    False,
    datetime.datetime(2026, 12, 6, 4, 5, tzinfo=datetime.UTC),
    datetime.date(2026, 1, 2),
]


def both(body: str, loopvar: str = "row", empty: str = "") -> tuple[Template, Template]:
    tail = f"{{% empty %}}{empty}" if empty else ""
    fast = Template(f"{{% load lims_ui %}}{{% rowfor {loopvar} in rows %}}{body}{tail}{{% endrowfor %}}")
    slow = Template(f"{{% for {loopvar} in rows %}}{body}{tail}{{% endfor %}}")
    return fast, slow


def rows_for(body: str, loopvar: str, n: int = 40) -> list[dict[str, Any]]:
    keys = sorted(set(re.findall(rf"\b{loopvar}\.(\w+)", body)))
    return [{k: NASTY[(i * 7 + j * 3) % len(NASTY)] for j, k in enumerate(keys)} for i in range(n)]


def page_bodies() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for match in _ROWFOR.finditer(path.read_text()):
            found.append((str(path.relative_to(TEMPLATES)), match.group(1), match.group(2)))
    return found


def test_the_list_pages_print_their_rows_with_rowfor() -> None:
    names = {name for name, _, _ in page_bodies()}
    assert {"cells/cell_list.html", "measurements/derived/list.html"} <= names


@pytest.mark.parametrize(("name", "loopvar", "body"), page_bodies(), ids=lambda v: str(v)[:40])
def test_a_page_body_prints_what_django_prints(name: str, loopvar: str, body: str) -> None:
    fast, slow = both(body, loopvar)
    rows = rows_for(body, loopvar)
    context = {"rows": rows}
    expected = slow.render(Context(context))
    assert fast.render(Context(context)) == expected
    assert (
        "&lt;script&gt;" in expected or "<script>" not in expected
    )  # the nasty values were printed, escaped


BODY = (
    '<tr><td>{{ row.a }}</td>{% if row.b is not None %}<td class="n">{{ row.b }}</td>{% else %}<td>-</td>'
    "{% endif %}{% if row.c %}[{{ row.c }}]{% elif row.d is None %}(no d){% elif not row.a %}!a{% else %}"
    "{{ row.d }}{% endif %}{% if not row.b %}~{% endif %}{% if row.c is None %}c-none{% endif %}</tr>\n"
)


def test_every_value_and_condition_prints_as_django_prints_it() -> None:
    fast, slow = both(BODY)
    rows = []
    for i, a in enumerate(NASTY):
        for j, b in enumerate(NASTY):
            rows.append({"a": a, "b": b, "c": NASTY[(i + j) % len(NASTY)], "d": NASTY[(i * j) % len(NASTY)]})
    for use_tz_context in (Context({"rows": rows}), Context({"rows": rows}, use_tz=False)):
        assert fast.render(use_tz_context) == slow.render(use_tz_context)


class Obj:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


@pytest.mark.parametrize(
    "rows",
    [
        [Obj(a="<x>", b=1, c=None, d="d")],  # not mappings: attributes
        [{"a": "x", "b": 1, "c": None}],  # a key missing (Django prints "" and tests it as None)
        [{"a": lambda: "<called>", "b": 1, "c": "c", "d": "d"}],  # Django calls it
        [{"a": "x", "b": 1, "c": "c", "d": "d"}, ["not", "a", "mapping"]],
        (r for r in [{"a": "gen", "b": 2, "c": "", "d": None}]),  # a generator is read as a list
        None,  # no sequence: the empty part
        [],
    ],
    ids=["objects", "missing-key", "callable", "mixed", "generator", "none", "empty"],
)
def test_what_it_cannot_print_django_prints(rows: Any) -> None:
    fast, slow = both(BODY, empty="<p>{{ nothing|default:'none yet' }}</p>")
    materialised = list(rows) if rows is not None and not isinstance(rows, list) else rows
    assert fast.render(Context({"rows": materialised})) == slow.render(Context({"rows": materialised}))


def test_autoescape_off_around_the_loop() -> None:
    fast = Template(
        "{% load lims_ui %}{% autoescape off %}{% rowfor row in rows %}{{ row.a }}|{% endrowfor %}{% endautoescape %}"
    )
    slow = Template("{% autoescape off %}{% for row in rows %}{{ row.a }}|{% endfor %}{% endautoescape %}")
    rows = [{"a": v} for v in NASTY]
    assert fast.render(Context({"rows": rows})) == slow.render(Context({"rows": rows}))
    assert "<script>" in fast.render(Context({"rows": rows}))


@pytest.mark.parametrize(
    "body",
    [
        "{{ row.a|upper }}",
        "{{ row.a.b }}",
        "{{ other.a }}",
        "{{ row }}",
        "{{ forloop.counter }}",
        "{% url 'home' %}",
        "{% if row.a == 1 %}x{% endif %}",
        "{% if row.a and row.b %}x{% endif %}",
        "{% if row.a|length %}x{% endif %}",
        "{% if forloop.last %}x{% endif %}",
        "{% autoescape off %}{{ row.a }}{% endautoescape %}",
    ],
)
def test_a_body_it_cannot_compile_is_refused_when_the_template_loads(body: str) -> None:
    with pytest.raises(TemplateSyntaxError, match="rowfor"):
        Template(f"{{% load lims_ui %}}{{% rowfor row in rows %}}{body}{{% endrowfor %}}")


@pytest.mark.parametrize("tag", ["{% rowfor row rows %}", "{% rowfor a, b in rows %}", "{% rowfor row in %}"])
def test_a_malformed_tag_is_refused(tag: str) -> None:
    with pytest.raises(TemplateSyntaxError):
        Template(f"{{% load lims_ui %}}{tag}x{{% endrowfor %}}")


def test_the_compiled_body_is_used_for_plain_rows() -> None:
    """Not a timing: the compiled function, not Django's loop, answers rows it can print."""
    node = Template("{% load lims_ui %}{% rowfor row in rows %}{{ row.a }}{% endrowfor %}").nodelist[-1]
    assert isinstance(node, template_rows.RowForNode)
    calls: list[int] = []
    original = node.django.render

    def counted(context: Any) -> str:
        calls.append(1)
        return original(context)

    node.django.render = counted  # type: ignore[method-assign]
    assert node.render(Context({"rows": [{"a": "<1>"}, {"a": 2}]})) == "&lt;1&gt;2"
    assert calls == []
    assert node.render(Context({"rows": [Obj(a="x")]})) == "x"
    assert calls == [1]
