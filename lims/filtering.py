"""What every FilterSet shared by the REST API and a list page has in common.

The API's filter parameters are a public contract: a script filters ``/api/v1/cells/?membrane=12`` by id and keeps
doing so. A researcher on the list page knows codes and names, not ids. So one FilterSet carries both:

- the id parameters stay as they were (same name, same type, same meaning) and are listed in ``api_only``: the
  page's form leaves them out when iterated (what the templates do), unless the request sets one (an old link or
  bookmark), which then shows so that it can be seen and cleared. Validation and filtering see every field;
- next to them, filters a person can fill in: a code (``CodeFilter``: ``membrane_code=M-C83KDH``) or, where the
  set is small, a choice list by name over the same id parameter (``IdChoiceFilter``: ``team`` shows the user's
  teams; the API still accepts any id, as before, and answers an empty list for one it cannot see).

``is_filtered`` tells an empty page "no rows yet" from "no row matches these filters".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import django_filters
from django import forms
from django.db.models import Model, QuerySet
from django.utils.choices import BaseChoiceIterator

from lims.queries import pointing_at

#: the empty choice of a choice list of names (the same as Django's own selects next to it)
EMPTY_LABEL = "---------"


class AnyYesNoSelect(forms.NullBooleanSelect):
    """A yes/no filter whose empty choice reads "Any" (Django's reads "Unknown", which is not what it does)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.choices = [("unknown", "Any"), ("true", "Yes"), ("false", "No")]


def yes_no_filter(**kwargs: Any) -> django_filters.BooleanFilter:
    """A BooleanFilter (``true``/``false``, absent = any) shown as Any / Yes / No."""
    return django_filters.BooleanFilter(widget=AnyYesNoSelect, **kwargs)


class _ObjectChoices(BaseChoiceIterator):
    """The options of a choice list, read from a queryset when the select is drawn (one query; none for a JSON
    answer of the API, which validates the form but does not draw it).

    A ``BaseChoiceIterator`` so that Django's widget keeps it lazy: a plain iterable given to ``Select.choices`` is
    normalised at once, which read the whole queryset twice on every API request with this filter."""

    def __init__(self, queryset: QuerySet[Any], label: Callable[[Any], str], empty_label: str) -> None:
        self.queryset = queryset
        self.label = label
        self.empty_label = empty_label

    def __iter__(self) -> Iterator[tuple[str, str]]:
        yield ("", self.empty_label)
        for obj in self.queryset:  # records, or rows of values_list("pk", ...) (no model instances: cheaper)
            yield (str(obj[0] if isinstance(obj, tuple) else obj.pk), self.label(obj))


class IdChoiceFilter(django_filters.NumberFilter):
    """A filter by id that a page shows as a choice list of names (``PageFilterSet.offer_choices``).

    The form field stays a number field: the API accepts any id as it always did (one it may not see gives an
    empty list, not an error), and its schema still says integer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Select(choices=[("", EMPTY_LABEL)]))  # until offer_choices
        super().__init__(*args, **kwargs)


class CodeFilter(django_filters.CharFilter):
    """Rows whose ``field_name`` (a foreign key to ``model``) points at the record with this code, ignoring case
    and surrounding spaces: ``membrane_code=m-c83kdh`` finds the cells of membrane M-C83KDH.

    The few records with the code are found first, in a query of their own (one look-up in the ``UPPER(code)``
    index), then the rows through their foreign key's index (``membrane = ANY(%s)``), not a join of every row. As
    a subquery (``membrane IN (SELECT id ...)``) the look-up was left to the planner, which on the lists that join
    eight or more tables (beyond ``join_collapse_limit``) placed it after joining the team's every row:
    ``/api/v1/cells/?membrane_code=`` took 56 ms on the large lab."""

    def __init__(self, *args: Any, model: type[Model], **kwargs: Any) -> None:
        self.code_model = model  # not ``model``: django-filter sets that to the FilterSet's model
        super().__init__(*args, **kwargs)

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        code = str(value or "").strip()
        if not code:
            return qs
        return qs.filter(
            pointing_at(self.field_name, self.code_model._default_manager.filter(code__iexact=code))
        )


class PageFilterForm(forms.Form):
    """The form of a PageFilterSet: iterating it yields what a researcher fills in (see the module docstring)."""

    api_only: ClassVar[frozenset[str]] = frozenset()

    def __iter__(self) -> Iterator[forms.BoundField]:
        for name in self.fields:
            if name in self.api_only and not has_value(self[name]):
                continue
            yield self[name]


def has_value(bound: forms.BoundField) -> bool:
    """The request sets this filter ("unknown" of a yes/no filter and blank text do not count)."""
    if not bound.form.is_bound:
        return False
    value = bound.data
    if isinstance(value, list | tuple):
        return any(str(v).strip() for v in value)
    return value is not None and str(value).strip() != ""


class PageFilterSet(django_filters.FilterSet):
    """A FilterSet shared by the API and a list page; ``api_only`` names the id parameters the page leaves out."""

    api_only: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._offered: dict[str, _ObjectChoices] = {}
        super().__init__(*args, **kwargs)

    def get_form_class(self) -> type[forms.Form]:
        form_class = super().get_form_class()
        return type(form_class.__name__, (PageFilterForm, form_class), {"api_only": frozenset(self.api_only)})

    @property
    def user(self) -> Any:
        return getattr(self.request, "user", None)

    @property
    def is_filtered(self) -> bool:
        """Some filter is set (sorting and paging are not filters): an empty list then says "no row matches"."""
        form = self.form
        return any(has_value(form[name]) for name in form.fields)

    def offer_choices(self, name: str, queryset: QuerySet[Any], label: Callable[[Any], str] = str) -> None:
        """Draw the filter ``name`` as a choice list of ``queryset`` (read when drawn: one query, none for JSON).

        Only what the select offers changes: the field validates as before (an IdChoiceFilter any number, a
        ModelChoiceFilter its own queryset), so the API answers the same requests the same way."""
        self._offered[name] = _ObjectChoices(queryset, label, EMPTY_LABEL)

    @property
    def form(self) -> forms.Form:
        if not hasattr(self, "_form"):
            form = super().form
            for name, choices in self._offered.items():
                form.fields[name].widget.choices = choices  # type: ignore[attr-defined]
        return super().form
