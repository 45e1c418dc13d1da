"""An unbound form that a page shows filled in with a record's values, drawn without building the form per request.

The cell page shows a writer the post-mortem form filled in from the cell. Building that form per request cost
200 µs of the page: Django deep-copies every field of the class for each form and draws each field through a new
``BoundField``. ``FormDrawing(form_class, varying)`` builds the unbound form once per process instead:

- the fields whose value does not come from the record are drawn once, as that form draws them;
- the fields named in ``varying`` are drawn per request by their own widget, with the value the form would give
  them (``get_initial_for_field``'s rules, then ``field.prepare_value``) and the attributes its ``BoundField``
  gives them (worked out once: for the widgets allowed here they do not depend on the value); a choice field's
  options may vary too (a list page's filter offers the user's own teams: ``lims.filtering.drawn_filter``).

A page's template iterates the drawn fields as it iterated the form: ``is_hidden``, ``id_for_label``, ``label``,
``errors`` (an unbound form has none: it prints nothing), and the field itself prints its markup.
``lims/tests/test_drawn_forms.py`` compares the drawing with the form built per request.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.safestring import SafeString


@dataclass(frozen=True)
class DrawnField:
    """One field of a drawn form, as a template reads a ``BoundField`` of an unbound form."""

    name: str
    is_hidden: bool
    id_for_label: str
    label: Any
    html: SafeString
    errors: str = ""

    def __html__(self) -> SafeString:
        return self.html

    def __str__(self) -> str:
        return self.html


class FormDrawing:
    """``fields(values)``: the fields of ``form_class(initial=values)`` as drawn markup (see the module)."""

    def __init__(self, form_class: Callable[[], forms.Form], varying: tuple[str, ...]) -> None:
        self.form_class = form_class
        self.varying = frozenset(varying)
        self._parts: list[DrawnField | tuple[forms.BoundField, dict[str, Any]]] | None = None

    def _prepare(self) -> list[DrawnField | tuple[forms.BoundField, dict[str, Any]]]:
        form = self.form_class()
        unknown = self.varying.difference(form.fields)
        if unknown:
            raise ValueError(f"{type(form).__name__} has no field {sorted(unknown)}")
        parts: list[DrawnField | tuple[forms.BoundField, dict[str, Any]]] = []
        for bound in form:
            field, widget = bound.field, bound.field.widget
            if bound.name not in self.varying:
                parts.append(
                    DrawnField(
                        bound.name, bound.is_hidden, bound.id_for_label, bound.label, SafeString(bound)
                    )
                )
                continue
            # attributes that depend on the value (a file input's "required"), a hidden initial copy, localized
            # numbers or subwidgets whose attributes the BoundField changes: drawn by the form, not here
            if (
                isinstance(widget, forms.FileInput | forms.MultiWidget)
                or isinstance(field, forms.MultiValueField)
                or field.show_hidden_initial
                or field.localize
                or field.disabled
            ):
                raise TypeError(f"{type(form).__name__}.{bound.name}: its widget cannot be drawn ahead")
            attrs = bound.build_widget_attrs({}, widget)
            if bound.auto_id and "id" not in widget.attrs:
                attrs.setdefault("id", bound.auto_id)
            parts.append((bound, attrs))
        self._parts = parts
        return parts

    def fields(self, values: Mapping[str, Any], choices: Mapping[str, Any] | None = None) -> list[DrawnField]:
        """The form's fields in order, those in ``varying`` showing ``values`` (their field's initial when
        missing) and, for a choice field named in ``choices``, offering those choices (as setting the widget's
        ``choices`` on the form built per request would)."""
        parts = self._parts if self._parts is not None else self._prepare()
        drawn: list[DrawnField] = []
        for part in parts:
            if isinstance(part, DrawnField):
                drawn.append(part)
                continue
            bound, attrs = part
            field = bound.field
            value = values.get(bound.name, field.initial)
            if callable(value):
                value = value()
            if (
                isinstance(value, datetime.datetime | datetime.time)
                and not field.widget.supports_microseconds
            ):
                value = value.replace(microsecond=0)
            widget = field.widget
            if choices is not None and bound.name in choices:
                widget = copy.copy(widget)  # the form's widget is shared by every request
                widget.choices = choices[bound.name]  # type: ignore[attr-defined]
            html = widget.render(
                bound.html_name, field.prepare_value(value), attrs=dict(attrs), renderer=bound.form.renderer
            )
            drawn.append(DrawnField(bound.name, bound.is_hidden, bound.id_for_label, bound.label, html))
        return drawn
