"""A drawn form (lims/drawn_forms.py) prints what the form built per request prints."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

import pytest
from django import forms

from cells.forms import POSTMORTEM_DRAWING, PostmortemForm
from lims.drawn_forms import FormDrawing

HOSTILE = ['<b>"x"</b> & it\'s', "line one\nline <two>", "", "  spaced  ", "ü µm · 5 %"]


def _as_form_draws(form: forms.Form) -> list[tuple[Any, ...]]:
    """What a template reads of each field of ``form``: as the cell page's template reads it."""
    return [(f.name, f.is_hidden, f.id_for_label, str(f.label), str(f), str(f.errors)) for f in form]


def _as_drawing_draws(drawing: FormDrawing, values: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (f.name, f.is_hidden, f.id_for_label, str(f.label), str(f), str(f.errors))
        for f in drawing.fields(values)
    ]


def test_the_post_mortem_form_is_drawn_as_the_form_prints_it() -> None:
    cases = 0
    for version, notes, dendrites, delamination in itertools.product(
        [1, 12345], [*HOSTILE, None], [True, False, None], [True, False, None]
    ):
        values = {
            "version": version,
            "notes": notes,
            "dendrites_observed": dendrites,
            "delamination_observed": delamination,
        }
        assert _as_drawing_draws(POSTMORTEM_DRAWING, values) == _as_form_draws(PostmortemForm(initial=values))
        cases += 1
    assert cases == 108
    # the recorded answers are selected, the notes escaped (what the form printed)
    drawn = {
        f.name: str(f)
        for f in POSTMORTEM_DRAWING.fields(
            {"version": 2, "notes": HOSTILE[0], "dendrites_observed": False, "delamination_observed": True}
        )
    }
    assert '<option value="false" selected>no</option>' in drawn["dendrites_observed"]
    assert '<option value="true" selected>yes</option>' in drawn["delamination_observed"]
    assert "&lt;b&gt;&quot;x&quot;&lt;/b&gt; &amp; it&#x27;s</textarea>" in drawn["notes"]
    assert drawn["version"] == '<input type="hidden" name="version" value="2" id="id_version">'


class _Various(forms.Form):
    when = forms.DateTimeField(widget=forms.DateTimeInput())
    day = forms.DateField(required=False)
    count = forms.IntegerField(min_value=0, help_text="how many")
    kind = forms.ChoiceField(choices=[("", "---"), ("a", "A <1>"), ("b", "B")])
    kinds = forms.MultipleChoiceField(choices=[("a", "A"), ("b", "B")], required=False)
    done = forms.BooleanField(required=False)
    name = forms.CharField(max_length=20, initial="default <name>")
    stamp = forms.CharField(required=False, initial=lambda: "called")
    upload = forms.FileField(required=False)


def test_other_widgets_values_defaults_and_callables_are_drawn_as_the_form_prints_them() -> None:
    drawing = FormDrawing(
        _Various, varying=("when", "day", "count", "kind", "kinds", "done", "name", "stamp")
    )
    moment = datetime.datetime(2026, 12, 6, 13, 45, 12, 345678, tzinfo=datetime.UTC)
    cases: list[dict[str, Any]] = [
        {},
        {"when": moment, "day": datetime.date(2026, 1, 2), "count": 7, "kind": "a", "kinds": ["a", "b"]},
        {"when": None, "count": 0, "kind": "zz", "kinds": [], "done": True, "name": HOSTILE[0], "stamp": "x"},
        {"done": False, "name": None, "stamp": lambda: HOSTILE[1]},
    ]
    for values in cases:
        assert _as_drawing_draws(drawing, values) == _as_form_draws(_Various(initial=values)), values


def test_one_drawing_serves_many_pages_without_carrying_values_over() -> None:
    first = [
        str(f)
        for f in POSTMORTEM_DRAWING.fields({"version": 1, "notes": "first", "dendrites_observed": True})
    ]
    second = [str(f) for f in POSTMORTEM_DRAWING.fields({"version": 9})]
    assert "first" in first[1] and "first" not in second[1]
    assert second == [str(f) for f in PostmortemForm(initial={"version": 9})]


def test_a_field_whose_markup_depends_on_its_value_in_other_ways_is_refused() -> None:
    with pytest.raises(TypeError, match="upload"):
        FormDrawing(_Various, varying=("upload",)).fields({})
    with pytest.raises(ValueError, match="nope"):
        FormDrawing(_Various, varying=("nope",)).fields({})
