"""The project's form renderer draws selects in Python: the markup must equal Django's templates, byte for byte."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django import forms
from django.conf import settings
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.utils.safestring import mark_safe

from lims.filtering import AnyYesNoSelect, lean
from lims.forms_renderer import FastSelectRenderer

HOSTILE = [
    ("", "---------"),
    (1, "PMA <b>gel</b> & \"quoted\" 'single'"),
    ("2", mark_safe("<em>safe</em> label")),  # noqa: S308 - a label the caller marked safe stays markup
    ('a&b"<c>', "value to escape"),
    (3.5, "ünïcode — 20 wt% LLZTO"),
    (None, "None as a value"),
    (4, 1234.5),  # labels that are not text: localized as the template engine does
    (5, datetime.date(2026, 12, 1)),
    (6, datetime.datetime(2026, 12, 1, 13, 5, tzinfo=datetime.UTC)),
    (7, 12),
]
GROUPED = [("", "---------"), ("Group <1>", [(1, "one"), (2, "two")]), (3, "three"), ("G2", [("x", "ex")])]


def _widgets() -> list[tuple[str, forms.Widget, Any]]:
    return [
        ("select", forms.Select(choices=HOSTILE), "2"),
        ("select none", forms.Select(choices=HOSTILE), None),
        ("select unknown", forms.Select(choices=HOSTILE), "no such value"),
        (
            "select attrs",
            forms.Select(choices=HOSTILE, attrs={"class": 'a"b', "required": True, "x": False}),
            1,
        ),
        ("select disabled", forms.Select(choices=HOSTILE, attrs={"disabled": True, "data-x": "<y>"}), ""),
        ("multiple", forms.SelectMultiple(choices=HOSTILE), ["1", "2", 'a&b"<c>']),
        ("multiple empty", forms.SelectMultiple(choices=HOSTILE), []),
        ("grouped", forms.Select(choices=GROUPED), "2"),
        ("grouped multiple", forms.SelectMultiple(choices=GROUPED), ["1", "x"]),
        ("yes/no", AnyYesNoSelect(), True),
        ("null boolean", forms.NullBooleanSelect(), None),
        ("empty", forms.Select(choices=[]), None),
    ]


@pytest.mark.parametrize(("label", "widget", "value"), _widgets(), ids=[w[0] for w in _widgets()])
def test_select_markup_is_djangos(label: str, widget: forms.Widget, value: Any) -> None:
    name = 'field<"name">'
    attrs = {"id": "id_field&1"}
    django_html = widget.render(name, value, attrs=attrs, renderer=DjangoTemplates())
    ours = widget.render(name, value, attrs=attrs, renderer=FastSelectRenderer())
    assert ours == django_html
    assert "<option" in ours or label == "empty"


def test_a_select_with_its_own_option_template_goes_to_django() -> None:
    class Custom(forms.Select):
        option_template_name = "django/forms/widgets/input_option.html"

    widget = Custom(choices=[(1, "one")])
    assert widget.render("f", 1, renderer=FastSelectRenderer()) == widget.render(
        "f", 1, renderer=DjangoTemplates()
    )


def test_other_widgets_are_djangos() -> None:
    for widget in (forms.TextInput(), forms.CheckboxSelectMultiple(choices=HOSTILE), forms.DateInput()):
        assert widget.render("f", "x", renderer=FastSelectRenderer()) == widget.render(
            "f", "x", renderer=DjangoTemplates()
        )


def test_the_project_uses_it() -> None:
    assert settings.FORM_RENDERER == "lims.forms_renderer.FastSelectRenderer"
    assert isinstance(get_default_renderer(), FastSelectRenderer)


@pytest.mark.parametrize(("label", "widget", "value"), _widgets(), ids=[w[0] for w in _widgets()])
def test_lean_options_are_djangos_options(label: str, widget: forms.Widget, value: Any) -> None:
    """The filter forms' choice widgets make their options without ``create_option`` (lims.filtering.lean):
    the same options, the same markup, with either renderer."""
    import copy

    name, attrs = "f", {"id": "id_f"}
    lean_widget = copy.deepcopy(widget)
    lean(lean_widget)
    assert type(lean_widget) is not type(widget) and isinstance(lean_widget, type(widget))
    context = widget.get_context(name, value, attrs)["widget"]
    assert lean_widget.get_context(name, value, attrs)["widget"] == context
    for renderer in (DjangoTemplates(), FastSelectRenderer()):
        assert lean_widget.render(name, value, attrs=attrs, renderer=renderer) == widget.render(
            name, value, attrs=attrs, renderer=renderer
        )


INPUT_VALUES = [None, "", "plain", "a\"b<c>&d'e", 0, 12.5, mark_safe("<b>safe</b>"), ("t", 1), "ünïcode"]


@pytest.mark.parametrize(
    "widget",
    [
        forms.TextInput(),
        forms.TextInput(attrs={"placeholder": 'x"<y>', "required": True, "disabled": False, "size": 4}),
        forms.NumberInput(attrs={"step": "any"}),
        forms.DateInput(),
        forms.EmailInput(),
        forms.HiddenInput(),
        forms.SearchInput() if hasattr(forms, "SearchInput") else forms.TextInput(),
        forms.URLInput(),
        forms.PasswordInput(render_value=True),
    ],
    ids=lambda w: type(w).__name__,
)
@pytest.mark.parametrize("value", INPUT_VALUES, ids=repr)
def test_input_markup_is_djangos(widget: forms.Widget, value: Any) -> None:
    name, attrs = 'field<"name">', {"id": "id_f&1"}
    assert widget.render(name, value, attrs=attrs, renderer=FastSelectRenderer()) == widget.render(
        name, value, attrs=attrs, renderer=DjangoTemplates()
    )


@pytest.mark.parametrize(
    "widget",
    [
        forms.Textarea(),
        forms.Textarea(attrs={"rows": 4, "placeholder": 'x"<y>', "required": True, "hidden": False}),
    ],
    ids=["plain", "attrs"],
)
@pytest.mark.parametrize("value", [*INPUT_VALUES, "two\nlines\n", "\nleading newline", 0.0], ids=repr)
def test_textarea_markup_is_djangos(widget: forms.Widget, value: Any) -> None:
    name, attrs = 'field<"name">', {"id": "id_f&1"}
    assert widget.render(name, value, attrs=attrs, renderer=FastSelectRenderer()) == widget.render(
        name, value, attrs=attrs, renderer=DjangoTemplates()
    )


class _File:
    """A stored file, as a model's FileField gives it to the form (``url`` and a name)."""

    url = "/media/a&b.png"

    def __str__(self) -> str:
        return 'sem <1>&"2".png'


@pytest.mark.parametrize(
    "widget",
    [
        forms.ClearableFileInput(),
        forms.ClearableFileInput(attrs={"accept": 'image/*"<x>', "required": True, "disabled": False}),
        forms.FileInput(),
    ],
    ids=["plain", "attrs", "file"],
)
@pytest.mark.parametrize("value", [None, "", _File()], ids=["none", "empty", "a file"])
def test_file_input_markup_is_djangos(widget: forms.Widget, value: Any) -> None:
    """Without a file, drawn here; with one (the clear checkbox, the link), Django's template draws it."""
    name, attrs = 'field<"name">', {"id": "id_f&1"}

    class Recording(FastSelectRenderer):
        templates: list[str] = []

        def get_template(self, template_name: str) -> Any:
            self.templates.append(template_name)
            return super().get_template(template_name)

    recording = Recording()
    assert widget.render(name, value, attrs=attrs, renderer=recording) == widget.render(
        name, value, attrs=attrs, renderer=DjangoTemplates()
    )
    # no template, unless a clearable input shows its file
    assert bool(recording.templates) == (
        isinstance(value, _File) and isinstance(widget, forms.ClearableFileInput)
    )


class _Form(forms.Form):
    notes = forms.CharField(widget=forms.Textarea, max_length=3)
    count = forms.IntegerField()

    def clean(self) -> dict[str, Any]:
        raise forms.ValidationError('whole <form> & "all"')


@pytest.mark.parametrize("data", [None, {"notes": "toolong<", "count": "x"}, {"notes": "ok", "count": "1"}])
def test_error_lists_are_djangos(data: Any) -> None:
    """Empty or not, a field's and the form's error lists print what Django's templates print."""
    for renderer_class in (FastSelectRenderer, DjangoTemplates):
        _Form.default_renderer = renderer_class()
        form = _Form(data)
        form.is_valid()
        printed = [str(form[name].errors) for name in ("notes", "count")]
        printed += [str(form.non_field_errors()), str(form.errors), form.as_p(), form.as_div()]
        if renderer_class is FastSelectRenderer:
            fast = printed
    assert fast == printed
    if data and "toolong<" in str(data):
        assert "errorlist" in fast[0] and "&lt;form&gt;" in fast[2]
