"""What the list pages of measurements share: which filters a request has set, so that an empty list says
"nothing yet" when nothing exists and "nothing matches these filters" (naming them, with a link to clear them)
when the filters hid the rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.http import HttpRequest


@dataclass(frozen=True)
class ActiveFilter:
    label: str
    value: str


def active_filters(
    request: HttpRequest,
    form: forms.Form | None = None,
    extra: Iterable[tuple[str, str]] = (),
) -> list[ActiveFilter]:
    """The filters of ``form`` (a FilterSet's form) and the ``extra`` (parameter, label) pairs that the request
    sets to a non-blank value, in the form's order; a choice is named by its label. Sorting and paging are not
    filters. No query."""
    found: list[ActiveFilter] = []
    for param, label in extra:
        value = request.GET.get(param, "").strip()
        if value:
            found.append(ActiveFilter(label, value))
    if form is None:
        return found
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        values = [v.strip() for v in request.GET.getlist(key) if v.strip()]
        if not values:
            continue
        choices: dict[str, str] = {}
        if isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField):
            options = cast(Iterable[tuple[Any, Any]], field.choices)
            choices = {str(k): str(v) for k, v in options if not isinstance(v, list | tuple)}
        shown = ", ".join(choices.get(v, v) for v in values)
        found.append(ActiveFilter(str(field.label or name.replace("_", " ").capitalize()), shown))
    return found
