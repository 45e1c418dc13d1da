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
from django.core.exceptions import EmptyResultSet
from django.db.models import Model, QuerySet
from django.db.models.query import ValuesListIterable
from django.forms.widgets import ChoiceWidget
from django.utils.choices import BaseChoiceIterator

from lims.compiled import Statement, statement_of
from lims.drawn_forms import DrawnField, FormDrawing
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
        self.rows: list[Any] | None = None  # read beforehand, with the page's other reads (choice_statements)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        yield ("", self.empty_label)
        rows = self.queryset if self.rows is None else self.rows
        for obj in rows:  # records, or rows of values_list("pk", ...) (no model instances: cheaper)
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


class LeanOptions:
    """Django's ``ChoiceWidget.optgroups``, for choice lists without groups, with each option made in one step.

    Django builds every option through ``create_option`` (its attributes merged and copied, its index and id
    worked out); a page filter offering a team's few hundred recipe versions spent 1.5 ms there per page. For a
    select whose options do not inherit the widget's attributes (Select, SelectMultiple, NullBooleanSelect) an
    option's attributes are only ``selected``, so the same dicts are made directly. Grouped choices, option
    attributes and subclasses with their own ``create_option`` take Django's way; ``lims/tests/
    test_forms_renderer.py`` compares both."""

    def optgroups(self, name: str, value: list[str], attrs: dict[str, Any] | None = None) -> list[Any]:
        widget: Any = self
        own_create = type(widget).create_option is not ChoiceWidget.create_option
        if widget.option_inherits_attrs or own_create:
            return super().optgroups(name, value, attrs)  # type: ignore[misc, no-any-return]
        multiple = widget.allow_multiple_selected
        checked = widget.checked_attribute
        kind, template = widget.input_type, widget.option_template_name
        groups: list[Any] = []
        has_selected = False
        for index, (option_value, option_label) in enumerate(widget.choices):
            if isinstance(option_label, list | tuple):
                return super().optgroups(name, value, attrs)  # type: ignore[misc, no-any-return]
            if option_value is None:
                option_value = ""
            selected = (not has_selected or multiple) and str(option_value) in value
            has_selected |= selected
            option = {
                "name": name,
                "value": option_value,
                "label": option_label,
                "selected": selected,
                "index": str(index),
                "attrs": dict(checked) if selected else {},
                "type": kind,
                "template_name": template,
                "wrap_label": True,
            }
            groups.append((None, [option], index))
        return groups


_LEAN: dict[type, type] = {}


def lean(widget: forms.Widget) -> None:
    """Give a choice widget ``LeanOptions`` (its class becomes a subclass of its own class with the mixin)."""
    cls = type(widget)
    if not isinstance(widget, ChoiceWidget) or isinstance(widget, LeanOptions):
        return
    lean_cls = _LEAN.get(cls)
    if lean_cls is None:
        lean_cls = _LEAN[cls] = type(cls.__name__, (LeanOptions, cls), {"__module__": cls.__module__})
    widget.__class__ = lean_cls


class PageFilterForm(forms.Form):
    """The form of a PageFilterSet: iterating it yields what a researcher fills in (see the module docstring);
    its choice lists make their options the lean way (``LeanOptions``)."""

    api_only: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            lean(field.widget)

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


def _is_rows(queryset: Any) -> bool:
    return isinstance(queryset, QuerySet) and queryset._iterable_class is ValuesListIterable


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

    @classmethod
    def page_choices(cls, user: Any) -> dict[str, tuple[QuerySet[Any], Callable[[Any], str]]]:
        """The choice lists the page offers ``user`` (``offer_choices``), by filter: a queryset (``values_list``
        rows, read with the page's other reads) and how an option is labelled. Offered in ``__init__`` when the
        filter set has a user, and drawn by ``drawn_filter`` on an unfiltered page."""
        return {}

    def offer_choices(self, name: str, queryset: QuerySet[Any], label: Callable[[Any], str] = str) -> None:
        """Draw the filter ``name`` as a choice list of ``queryset`` (read when drawn: one query, none for JSON).

        Only what the select offers changes: the field validates as before (an IdChoiceFilter any number, a
        ModelChoiceFilter its own queryset), so the API answers the same requests the same way."""
        self._offered[name] = _ObjectChoices(queryset, label, EMPTY_LABEL)

    def choice_statements(self) -> tuple[list[Statement], Callable[[list[Any]], None]]:
        """The reads of the choice lists the page will draw (those given as ``values_list`` rows), to run with
        the page's other reads in one round trip (``lims.compiled.run_together``), and what keeps their rows."""
        return _choice_statements(self._offered)

    @property
    def form(self) -> forms.Form:
        if not hasattr(self, "_form"):
            form = super().form
            for name, choices in self._offered.items():
                form.fields[name].widget.choices = choices  # type: ignore[attr-defined]
        return super().form


def _choice_statements(
    offered: dict[str, _ObjectChoices],
) -> tuple[list[Statement], Callable[[list[Any]], None]]:
    waiting: list[_ObjectChoices] = []
    statements: list[Statement] = []
    for choices in offered.values():
        if choices.rows is not None or not _is_rows(choices.queryset):
            continue
        try:
            statement = statement_of(choices.queryset)
        except ValueError as exc:
            if not isinstance(exc.__cause__, EmptyResultSet):
                raise
            choices.rows = []  # matches nothing (a user of no team: ``team__in=[]``): nothing to read
            continue
        waiting.append(choices)
        statements.append(statement)

    def keep(results: list[Any]) -> None:
        for choices, rows in zip(waiting, results, strict=True):
            choices.rows = rows

    return statements, keep


class DrawnFilter:
    """What a list page's template reads of its filter set when the request sets no parameter at all (the page as
    most people open it): the form unbound, drawn from a form built once per process (``lims.drawn_forms``)
    with only the user's choice lists drawn per request; no errors, no filter set.

    Building the filter set and its form per request was ~1.7 ms of the cell list page's 5.8 ms of CPU:
    django-filter deep-copies every filter and the querysets it holds, makes a form class per request, and the
    form deep-copies its fields again before each is drawn through a new ``BoundField``.
    ``lims/tests/test_filtering.py`` compares the drawing with the filter set's own form for several users."""

    is_bound = False
    is_filtered = False
    errors: dict[str, Any] = {}

    def __init__(self, drawing: FormDrawing, offered: dict[str, _ObjectChoices]) -> None:
        self._drawing = drawing
        self._offered = offered
        self._form: list[DrawnField] | None = None

    @property
    def form(self) -> list[DrawnField]:
        """The fields, drawn when first read (after the choice lists' rows were read with the page's)."""
        if self._form is None:
            self._form = self._drawing.fields({}, choices=self._offered)
        return self._form

    def choice_statements(self) -> tuple[list[Statement], Callable[[list[Any]], None]]:
        return _choice_statements(self._offered)


#: (filter set class, the names of its drawn choice lists) -> its form drawn ahead
_DRAWINGS: dict[tuple[type[PageFilterSet], frozenset[str]], FormDrawing] = {}


def drawn_filter(filterset_class: type[PageFilterSet], user: Any) -> DrawnFilter:
    """The unbound filter set of a list page, for ``user``, drawn ahead (``DrawnFilter``)."""
    offered = {
        name: _ObjectChoices(queryset, label, EMPTY_LABEL)
        for name, (queryset, label) in filterset_class.page_choices(user).items()
    }
    key = (filterset_class, frozenset(offered))
    drawing = _DRAWINGS.get(key)
    if drawing is None:
        model = filterset_class._meta.model

        def unbound_form() -> forms.Form:
            return filterset_class(None, queryset=model._default_manager.none()).form

        drawing = _DRAWINGS[key] = FormDrawing(unbound_form, varying=tuple(offered))
    return DrawnFilter(drawing, offered)
