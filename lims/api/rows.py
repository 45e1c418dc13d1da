"""Hot reads: the API's most used GETs answered from rows, without model instances and without DRF's request cycle.

The ten most used reads of the LIMS are a handful of GETs that instruments and scripts repeat all day (an upload's
status after every file, a cell, the cells of a team, the lots on hand, the ledger, a cell's measurements, the
derived properties by name). Through DRF each of them compiles its queryset to SQL, builds a model instance per
joined row, walks the serializer's fields per row and renders the answer; on a page of 50 cells that was 4-5 times
the time of the same rows fetched by hand-written SQL (docs/scaling.md, section 3).

A viewset names such reads with ``hot_list`` / ``hot_detail`` (``HotList``, ``HotDetail``) and mixes in
``HotReadsMixin``. A GET that is exactly such a read (no other parameter, JSON asked for, a person's token or
session; an instrument's token for what its instrument uploaded, where the viewset names the uploader) is then
answered here:

* **who**: the token (``lims.authentication.token_statement`` and ``accept_token``: the same checks, the same
  ``last_used_at``) or the session's user, and their teams (read with the person, ``roles_column``);
* **which rows**: ``rows()`` is the queryset the viewset lists or shows (the same selector, before the team scope),
  read as ``values_list`` of the columns the serializer prints, scoped to the requester's teams (one team with
  ``=``, several as one bound list; one record also by the token's memberships in SQL, so that the token and the
  record are read in one round trip), and compiled to SQL once per shape (``lims.compiled.CompiledValues``,
  ``CompiledCount``); reads that do not depend on each other go together (``run_together``);
* **what is printed**: the serializer's own fields, planned once per class (``RowPlan``): a plain column or
  path prints through the field's own ``to_representation``, a key column as it is; a field that is not a column
  (a method field, a label made of several columns) is declared on the serializer in ``row_values`` as the columns
  it reads and the function that prints it, the same function its method field calls;
* **pages**: DRF's own paginator classes, over a queryset-like view of the compiled statements (``count()``,
  slicing, and for cursors the ordering and the position filter), so counts, links and cursors are DRF's;
* **the answer**: DRF's ``JSONRenderer`` bytes, with the headers DRF's view would add (``Allow``, ``Vary``, the
  ETag of one record).

Everything else takes DRF's path unchanged: any other method, parameter or format, a page size or ordering the
compiled reads do not hold, instrument tokens elsewhere and instruments' accounts, a failed or missing sign-in, a
miss (so a 404 is DRF's), anything a read refuses. ``tests/test_hot_reads.py`` requests every hot read both ways,
for 27 kinds of requester, on a generated lab, and compares status, headers and bytes, and which path answered.
``ENABLED = False`` (or ``LIMS_HOT_READS=0``) switches the hot path off.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.signals import setting_changed
from django.db import router
from django.db.models import Model, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from rest_framework import ISO_8601, exceptions, relations
from rest_framework import fields as drf_fields
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.serializers import BaseSerializer
from rest_framework.settings import api_settings

from lims.api.concurrency import etag_for
from lims.api.representation import _CONTEXT_FREE, _pk_column
from lims.compiled import CompiledCount, CompiledValues, Statement, run_together
from lims.models import TokenScope

#: switched off by the equivalence test (tests/test_hot_reads.py), to compare with DRF's own answers
ENABLED = os.environ.get("LIMS_HOT_READS", "1") != "0"


@dataclass(frozen=True)
class RowValue:
    """How a field that is not a plain column prints from a row: ``compute(*values of paths)``.

    ``compute`` is the function the serializer's method field calls too, so that both read the same way."""

    paths: tuple[str, ...]
    compute: Callable[..., Any]
    #: ``compute(request, *values)``: the value depends on the request (a file's absolute URL)
    with_request: bool = False


_ID_SENTINEL = 987654321987
_TEXT_SENTINEL = "lims-route-sentinel"
_URL_TEMPLATES: dict[tuple[str, str, int, Any], list[str] | None] = {}
_PLAIN_TEXT = re.compile(r"[A-Za-z0-9_-]+")


def id_url(name: str, pk: Any, *more: str) -> str:
    """``reverse(name, args=[pk, *more])`` for a route whose arguments are a record's key and plain words (a
    figure's kind): the route is reversed once per process (and script prefix) with sentinels, and the values
    put in their places (~50 µs -> ~0.5 µs). Anything else (a text reverse() would quote) is reversed as usual."""
    if any(_PLAIN_TEXT.fullmatch(m) is None for m in more):
        return reverse(name, args=[pk, *more])
    parts = _url_template(name, len(more), get_script_prefix(), get_urlconf())
    if parts is None:
        return reverse(name, args=[pk, *more])
    out = [parts[0], str(pk), parts[1]]
    for word, piece in zip(more, parts[2:], strict=True):
        out += [word, piece]
    return "".join(out)


def id_urls(name: str) -> Callable[[Any], str]:
    """``lambda pk: id_url(name, pk)`` with the script prefix and URLconf read now, once for a list's rows: each
    read goes through asgiref's ``Local`` (~1.5 µs apiece, two per URL: a fifth of a row of the derived page)."""
    parts = _url_template(name, 0, get_script_prefix(), get_urlconf())
    if parts is None:
        return lambda pk: reverse(name, args=[pk])
    head, tail = parts
    return lambda pk: f"{head}{pk}{tail}"


def _url_template(name: str, words: int, prefix: str, urlconf: Any) -> list[str] | None:
    """The pieces of the route ``name`` around its key and ``words`` plain words, for this prefix and URLconf
    (reversed once with sentinels); None for an unusual route (reverse() each time)."""
    key = (name, prefix, words, urlconf)
    parts = _URL_TEMPLATES.get(key, [])
    if parts == []:
        url = reverse(name, args=[_ID_SENTINEL, *([_TEXT_SENTINEL] * words)])
        pieces = url.split(str(_ID_SENTINEL))
        tail_pieces = pieces[-1].split(_TEXT_SENTINEL) if len(pieces) == 2 else []
        if len(pieces) != 2 or len(tail_pieces) != words + 1 or _TEXT_SENTINEL in pieces[0]:
            parts = _URL_TEMPLATES[key] = None  # an unusual route: reverse() each time
        else:
            parts = _URL_TEMPLATES[key] = [pieces[0], *tail_pieces]
    return parts


def plain_url(name: str) -> str:
    """``reverse(name)`` for a route without arguments, remembered per process (and script prefix, URLconf)."""
    key = (name, get_script_prefix(), -1, get_urlconf())
    found = _URL_TEMPLATES.get(key)
    if found is None:
        found = _URL_TEMPLATES[key] = [reverse(name)]
    return found[0]


def _forget_urls(*, setting: str, **kwargs: Any) -> None:
    if setting == "ROOT_URLCONF":
        _URL_TEMPLATES.clear()


setting_changed.connect(_forget_urls)


class PlanError(ValueError):
    """A serializer field that a row plan cannot print (declare it in the serializer's ``row_values``)."""


def _path_of(model: type[Model], attrs: Sequence[str]) -> tuple[str, bool] | None:
    """The ``values_list`` path of a source that walks forward relations to one column, and whether a relation on
    the way may be empty; None when it does not (a reverse relation, a property, a relation at the end)."""
    current: Any = model
    nullable_hop = False
    for i, attr in enumerate(attrs):
        try:
            f = current._meta.get_field(attr)
        except (FieldDoesNotExist, AttributeError):
            return None
        if not getattr(f, "concrete", False) or f.many_to_many:
            return None
        last = i == len(attrs) - 1
        if f.is_relation:
            if last:
                return None  # the related record itself (its __str__): declare it
            nullable_hop = nullable_hop or bool(f.null)
            current = f.related_model
        elif not last:
            return None
    return "__".join(attrs), nullable_hop


Step = tuple[str, int, Any]  # (name, first column, converter); see RowPlan.__init__


class RowPlan:
    """How a serializer class prints a row: the ``values_list`` paths to read and a function from a row (a tuple
    in the order of ``paths``) to the dict the serializer would print.

    ``children`` names the nested ``many=True`` fields that the caller fills from rows of their own (the parts of
    a cell): their value is taken from the mapping passed to ``to_dict``. ``extra`` are paths read besides the
    printed ones (an ETag's ``updated_at``, a privacy rule's team); ``index`` gives their column.
    """

    def __init__(
        self,
        serializer_class: type[BaseSerializer[Any]],
        *,
        children: Sequence[str] = (),
        extra: Sequence[str] = (),
    ) -> None:
        serializer: Any = serializer_class()
        model = serializer.Meta.model
        declared: Mapping[str, RowValue] = getattr(serializer_class, "row_values", {})
        paths: list[str] = []

        def column(path: str) -> int:
            if path not in paths:
                paths.append(path)
            return paths.index(path)

        steps: list[tuple[str, str, Any, Any]] = []
        for f in serializer._readable_fields:
            name = f.field_name
            if name in declared:
                value = declared[name]
                kind = "computed-request" if value.with_request else "computed"
                steps.append((name, kind, [column(p) for p in value.paths], value.compute))
                continue
            if name in children:
                steps.append((name, "child", None, None))
                continue
            what = f"{serializer_class.__name__}.{name}"
            if isinstance(f, drf_fields.SerializerMethodField | BaseSerializer):
                raise PlanError(
                    f"{what} is not a column: declare it in {serializer_class.__name__}.row_values"
                )
            pk = _pk_column(f, model)
            if pk is not None:
                steps.append((name, "plain", column(pk), None))
                continue
            if type(f).get_attribute is not drf_fields.Field.get_attribute or f.source == "*":
                raise PlanError(f"{what} reads its value its own way: declare it in row_values")
            found = _path_of(model, f.source_attrs)
            if found is None:
                raise PlanError(
                    f"{what} (source {f.source!r}) is not a column path: declare it in row_values"
                )
            path, nullable_hop = found
            if nullable_hop and f.default is drf_fields.empty and not f.allow_null:
                # DRF would leave the field out of the answer when the relation is empty (SkipField)
                raise PlanError(f"{what} crosses an empty-able relation without a default: declare it")
            to_repr = type(f).to_representation
            convert: Any
            if to_repr is drf_fields.CharField.to_representation:
                convert = str
            elif to_repr is drf_fields.IntegerField.to_representation:
                convert = int
            elif _plain_datetime_field(f):
                convert = _DateTime(f)
            elif to_repr in _CONTEXT_FREE:
                convert = f.to_representation
            elif isinstance(f, relations.PrimaryKeyRelatedField):
                raise PlanError(f"{what}: a related key printed its own way: declare it")
            else:
                raise PlanError(f"{what}: {type(f).__name__} converts with the request: declare it")
            steps.append((name, "plain", column(path), convert))
        self.extra_index = {p: column(p) for p in extra}
        self.paths: tuple[str, ...] = tuple(paths)
        self._steps = steps
        self.to_dicts = self._compile()

    def index(self, path: str) -> int:
        """The column of a path the plan reads (an ``extra`` one, or a printed one)."""
        return self.paths.index(path)

    def _compile(self) -> Callable[..., list[dict[str, Any]]]:
        """One Python function per plan that builds the dicts of rows, field by field, as DRF's ``ClassPlan``
        does (None prints as None; otherwise the field's conversion): the loop over steps, the dispatch on their
        kinds and the look-ups of their converters are done once, here, not for every row and field; the
        current time zone (of DRF's date-times) once per call."""
        names: dict[str, Any] = {"_tz": timezone.get_current_timezone, "_iso": _iso_datetime}
        lines = [
            "def to_dicts(rows, request=None, children=None):",
            "    tz = _tz()",
            "    out = []",
            "    for n, row in enumerate(rows):",
            "        d = {}",
        ]
        for i, (name, kind, col, fn) in enumerate(self._steps):
            key = repr(name)
            if kind == "child":
                lines.append(f"        d[{key}] = children[n][{key}]")
            elif kind in ("computed", "computed-request"):
                names[f"f{i}"] = fn
                args = ", ".join(["request"] * (kind == "computed-request") + [f"row[{c}]" for c in col])
                lines.append(f"        d[{key}] = f{i}({args})")
            elif fn is None:
                lines.append(f"        d[{key}] = row[{col}]")
            elif isinstance(fn, _DateTime):
                names[f"f{i}"] = fn.field
                lines.append(f"        v = row[{col}]")
                lines.append(f"        d[{key}] = None if v is None else _iso(v, tz, f{i})")
            else:
                names[f"f{i}"] = fn
                lines.append(f"        v = row[{col}]")
                lines.append(f"        d[{key}] = None if v is None else f{i}(v)")
        lines += ["        out.append(d)", "    return out"]
        exec("\n".join(lines), names)  # noqa: S102 - code made from field names and column numbers only
        return names["to_dicts"]  # type: ignore[no-any-return]

    def to_dict(self, row: Sequence[Any], children: Any = None, request: Any = None) -> dict[str, Any]:
        return self.to_dicts([row], request, None if children is None else [children])[0]


class _DateTime:
    """A DRF DateTimeField with the default ISO 8601 output and the current time zone (``_iso_datetime``)."""

    def __init__(self, field: drf_fields.DateTimeField) -> None:
        self.field = field


def _plain_datetime_field(f: Any) -> bool:
    cls = type(f)
    return (
        cls.to_representation is drf_fields.DateTimeField.to_representation
        and cls.enforce_timezone is drf_fields.DateTimeField.enforce_timezone
        and cls.default_timezone is drf_fields.DateTimeField.default_timezone
        and not hasattr(f, "timezone")
        and str(getattr(f, "format", api_settings.DATETIME_FORMAT)).lower() == ISO_8601
    )


def _iso_datetime(value: Any, tz: Any, field: drf_fields.DateTimeField) -> Any:
    """``DateTimeField.to_representation`` for an aware value and a current time zone, without looking the time
    zone up for every value (DRF's ``enforce_timezone``: 10 µs of its 15); anything else goes to the field."""
    if tz is not None and isinstance(value, datetime.datetime) and value.utcoffset() is not None:
        try:
            text = value.astimezone(tz).isoformat()
        except OverflowError:
            return field.to_representation(value)
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    return field.to_representation(value)


class NotHot(Exception):
    """This request is not one the hot path answers: DRF answers it."""


@dataclass(frozen=True)
class HotFilter:
    """A filter parameter a hot list accepts: ``parse`` turns the text into the argument (raise ``NotHot`` for
    anything the FilterSet might read otherwise), ``refine(queryset, value)`` applies it as the FilterSet does,
    ``kind`` is the argument's type for the compiled statement (``str`` or ``int``)."""

    kind: type
    parse: Callable[[str], Any]
    refine: Callable[[QuerySet[Any], Any], QuerySet[Any]]


def plain_int(text: str) -> int:
    """A key as a NumberFilter reads it, for plain digits only (``1e3``, ``7.0``, signs: DRF's path)."""
    if not (text.isascii() and text.isdigit() and 0 < len(text) <= 18):
        raise NotHot
    return int(text)


def plain_text(text: str) -> str:
    """A CharFilter's value when the form would keep it as it is (not empty, no outer blanks, no NUL)."""
    if not text or text != text.strip() or "\x00" in text:
        raise NotHot
    return text


def one_of(choices: Sequence[str]) -> Callable[[str], str]:
    """A choice filter's single value, when it is one of ``choices``."""
    allowed = frozenset(choices)

    def parse(text: str) -> str:
        if text not in allowed:
            raise NotHot
        return text

    return parse


Requester = tuple[Any, "list[int] | None"]  # the user, and their team ids (None: staff, every team)


@dataclass
class HotList:
    """A list the hot path answers: ``rows()`` is the list's queryset before the team scope, in the list's order;
    ``plan`` how a row prints; ``filters`` the parameters it accepts; ``team_field`` the scope (None: records
    every signed-in person reads, the shared inventory); ``cursor_field`` the position of a cursor paginator's
    ordering; ``adjust(rows, requester, plan)`` changes raw rows before they print (a privacy rule)."""

    rows: Callable[[], QuerySet[Any]]
    plan: RowPlan
    filters: Mapping[str, HotFilter] = field(default_factory=dict)
    team_field: str | None = "team"
    adjust: Callable[[list[list[Any]], Requester, RowPlan], None] | None = None

    def __post_init__(self) -> None:
        self._values: dict[tuple[Any, ...], CompiledValues] = {}
        self._counts: dict[tuple[Any, ...], CompiledCount] = {}

    def _build(
        self, names: tuple[str, ...], scope: str, order: tuple[str, ...] | None, position: str | None
    ) -> tuple[Callable[..., QuerySet[Any]], list[type]]:
        """The queryset of one shape, as a function of its arguments: the filters' values, then the position of
        a cursor, then the team (``scope``: ``lims.permissions.team_scope``; one team is compared with ``=``,
        which took the cell list on the large lab from 4.8 to 0.6 ms of SQL)."""
        from lims.permissions import in_team_scope, scope_kinds

        kinds: list[type] = [self.filters[n].kind for n in names]
        if position is not None:
            kinds.append(int)
        kinds += scope_kinds(scope)
        team_field = self.team_field or "team"

        def build(*args: Any) -> QuerySet[Any]:
            qs = in_team_scope(self.rows(), scope, args[-1] if scope else None, team_field)
            for i, name in enumerate(names):
                qs = self.filters[name].refine(qs, args[i])
            if order is not None:
                qs = qs.order_by(*order)
            if position is not None:
                qs = qs.filter(**{position: args[len(names)]})
            return qs

        return build, kinds

    def values(
        self, names: tuple[str, ...], scope: str, order: tuple[str, ...] | None, position: str | None
    ) -> CompiledValues:
        key = (names, scope, order, position)
        compiled = self._values.get(key)
        if compiled is None:
            build, kinds = self._build(names, scope, order, position)
            paths = self.plan.paths
            compiled = self._values[key] = CompiledValues(lambda *a: build(*a).values_list(*paths), *kinds)
        return compiled

    def count(self, names: tuple[str, ...], scope: str) -> CompiledCount:
        key = (names, scope)
        compiled = self._counts.get(key)
        if compiled is None:
            build, kinds = self._build(names, scope, None, None)
            compiled = self._counts[key] = CompiledCount(build, *kinds)
        return compiled


class _Page:
    """What DRF's paginators ask of a queryset, answered by the hot list's compiled statements: ``count()`` and
    slices (page numbers); ``order_by`` and a position ``filter`` (cursors). Anything else raises ``NotHot``."""

    ordered = True

    def __init__(
        self,
        hot: HotList,
        names: tuple[str, ...],
        args: list[Any],
        requester: Requester,
        request: HttpRequest,
    ) -> None:
        self.hot = hot
        self.request = request
        self.names = names
        self.args = args
        self.requester = requester
        self.order: tuple[str, ...] | None = None
        self.position: tuple[str, int] | None = None
        self._count: int | None = None
        self._read: tuple[int, int, list[dict[str, Any]]] | None = None

    def prefetch(self, low: int, high: int) -> None:
        """Read the count and the rows ``[low:high]`` in one round trip (``run_together``): the page a page-number
        paginator is about to ask for (it asks for the count first, then for the rows)."""
        self.accept(low, high, run_together(self.page_statements(low, high)))

    def page_statements(self, low: int, high: int) -> list[Statement]:
        """The count (one row: it may be read with a token, ``run_together``) and the rows ``[low:high]``."""
        scope, scope_args = self._scope()
        count = self.hot.count(self.names, scope).statement(*self.args, *scope_args).as_one_row()
        rows = self.hot.values(self.names, scope, None, None).statement(
            *self.args, *scope_args, low=low, high=high
        )
        return [count, rows]

    def accept(self, low: int, high: int, results: list[Any]) -> None:
        """Hold what ``page_statements`` read, printed for the requester."""
        self._count, fetched = results
        self._read = (low, high, self._dicts(fetched))

    def _scope(self) -> tuple[str, list[Any]]:
        from lims.permissions import team_scope

        return ("", []) if self.hot.team_field is None else team_scope(self.requester[1])

    def count(self) -> int:
        if self.order is not None or self.position is not None:
            raise NotHot
        if self._count is not None:
            return self._count
        scope, scope_args = self._scope()
        return self.hot.count(self.names, scope).count(*self.args, *scope_args)

    def order_by(self, *fields: str) -> _Page:
        if self.order is not None or any("__" in f or not f.lstrip("-").isidentifier() for f in fields):
            raise NotHot
        self.order = tuple(fields)
        return self

    def filter(self, **kwargs: Any) -> _Page:
        if self.order is None or self.position is not None or len(kwargs) != 1:
            raise NotHot
        ((lookup, value),) = kwargs.items()
        attr, _, op = lookup.partition("__")
        if op not in ("lt", "gt") or attr != self.order[0].lstrip("-"):
            raise NotHot
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise NotHot from None
        self.position = (lookup, number)
        return self

    def __getitem__(self, bounds: slice) -> list[dict[str, Any]]:
        if not isinstance(bounds, slice) or bounds.step is not None:
            raise NotHot
        low, high = bounds.start or 0, bounds.stop
        if self._read is not None and self.order is None and self.position is None:
            read_low, read_high, read = self._read
            if low == read_low and high is not None and high <= read_high:
                return read[: high - low]  # the paginator clips the last page to the count
        scope, scope_args = self._scope()
        position = self.position[0] if self.position else None
        args = [*self.args, *([self.position[1]] if self.position else []), *scope_args]
        compiled = self.hot.values(self.names, scope, self.order, position)
        return self._dicts(compiled.rows(*args, low=low, high=high))

    def _dicts(self, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        plan = self.hot.plan
        if self.hot.adjust is not None:
            changed = [list(r) for r in rows]
            self.hot.adjust(changed, self.requester, plan)
            return plan.to_dicts(changed, self.request)
        return plan.to_dicts(rows, self.request)


@dataclass
class HotDetail:
    """One record the hot path answers: ``rows()`` is the record's queryset before the team scope; ``plan`` how
    it prints; ``children`` its nested lists (field name -> (queryset of the children before the parent filter,
    the parent's key field, their plan)); ``etag`` whether the answer carries the record's ETag (viewsets with
    optimistic concurrency: the plan reads ``updated_at`` as an extra column); ``owner_field`` the person who made
    the record, when an instrument's token may read the records its instrument made (an upload's status, which
    instruments poll after every file: the viewset allows instrument tokens for ``retrieve``)."""

    rows: Callable[[], QuerySet[Any]]
    plan: RowPlan
    children: Mapping[str, tuple[Callable[[], QuerySet[Any]], str, RowPlan]] = field(default_factory=dict)
    team_field: str = "team"
    etag: bool = False
    owner_field: str | None = None

    def __post_init__(self) -> None:
        paths = self.plan.paths
        self._every = CompiledValues(lambda pk: self.rows().filter(pk=pk).values_list(*paths), int)
        self._scoped = CompiledValues(
            lambda pk, teams: (
                self.rows().filter(pk=pk, **{f"{self.team_field}__any": teams}).values_list(*paths)
            ),
            int,
            list,
        )
        # scoped by the teams of the token's person (or, for an instrument's token, to what its instrument made),
        # in the same statement: the token and the record are then read together, in one round trip; the record
        # is used only once the token is accepted, and only through the branch its scope allows
        owner = self.owner_field
        scope = f"{self.team_field}__in"
        if owner is None:
            self._by_token = CompiledValues(
                lambda pk, key_hash: (
                    self.rows().filter(pk=pk, **{scope: _teams_of_token(key_hash)}).values_list(*paths)
                ),
                int,
                str,
            )
        else:
            self._by_token = CompiledValues(
                lambda pk, key_hash, owner_hash: (
                    self.rows()
                    .filter(pk=pk)
                    .filter(
                        Q(**{scope: _teams_of_token(key_hash)})
                        | Q(**{f"{owner}__in": _person_of_token(owner_hash)})
                    )
                    .values_list(*paths)
                ),
                int,
                str,
                str,
            )
            self._owned = CompiledValues(
                lambda pk, person: self.rows().filter(pk=pk, **{f"{owner}_id": person}).values_list(*paths),
                int,
                int,
            )
        self._children = {
            name: _children_of(build, key, plan) for name, (build, key, plan) in self.children.items()
        }
        self._model = self.rows().model

    def answer(self, pk: int, request: HttpRequest) -> tuple[dict[str, Any], str | None]:
        """The record as the serializer prints it, and its ETag; ``NotHot`` for a miss (DRF's 404) or a request
        DRF's path must answer. The sign-in, the record and its parts are read in one round trip with a token
        (two with a session: Django reads the session first)."""
        parts_read = [c.statement(pk) for c in self._children.values()]
        token = _token_of(request)
        if token is not None and token[1].alias != router.db_for_read(self._model):
            # the record on a read replica, the token (and the memberships) on the primary: the team scope is
            # never read from a replica (lims/db_router.py), so the token first, then the record with its teams
            user, accepted = _token_user(run_together([token[1]])[0], request, self._instrument_may_read)
            if accepted.scope == TokenScope.INSTRUMENT:
                record = self._owned.statement(pk, user.pk)
            else:
                teams = _requester(user)[1]
                record = self._every.statement(pk) if teams is None else self._scoped.statement(pk, teams)
            found, *parts = run_together([record, *parts_read])
        elif token is not None:
            key_hash, token_read = token
            hashes = (key_hash,) if self.owner_field is None else (key_hash, key_hash)
            # the token and the record (both by a unique key) in one statement, the parts beside it
            token_rows, found, *parts = run_together(
                [token_read, self._by_token.statement(pk, *hashes).as_one_row(), *parts_read]
            )
            user, accepted = _token_user(token_rows, request, self._instrument_may_read)
            if accepted.scope == TokenScope.INSTRUMENT:  # what its instrument made
                owner_at = self.plan.index(f"{self.owner_field}_id")
                found = [row for row in found if row[owner_at] == user.pk]
            else:
                teams = _requester(user)[1]
                if teams is None:  # staff: every team's record
                    found = self._every.rows(pk)
                elif self.owner_field is not None:  # the team branch only
                    team_at = self.plan.index(f"{self.team_field}_id")
                    found = [row for row in found if row[team_at] in teams]
        else:
            user = request.user  # the session's (SessionAuthentication reads the same)
            if not (user and user.is_authenticated and user.is_active):
                raise NotHot
            teams = _requester(user)[1]
            record = self._every.statement(pk) if teams is None else self._scoped.statement(pk, teams)
            # the record and its parts in one round trip (a record not the requester's: parts unused)
            found, *parts = run_together([record, *parts_read])
        if len(found) != 1:
            raise NotHot  # a miss: DRF's 404
        row = found[0]
        children = {
            name: plan.to_dicts(rows, request)
            for (name, (_, _, plan)), rows in zip(self.children.items(), parts, strict=True)
        }
        data = self.plan.to_dict(row, children, request)
        tag = None
        if self.etag:
            tag = etag_for(self._model, pk, row[self.plan.index("updated_at")])
        return data, tag

    @property
    def _instrument_may_read(self) -> bool:
        return self.owner_field is not None


def _teams_of_token(key_hash: str) -> Any:
    from lims.models import Membership

    return Subquery(Membership.objects.filter(user__api_tokens__key_hash=key_hash).values("team_id"))


def _person_of_token(key_hash: str) -> Any:
    """The person of a token, as a subquery (a join to the person's tokens would repeat the record once per token)."""
    from lims.models import ApiToken

    return Subquery(ApiToken.objects.filter(key_hash=key_hash).values("user_id"))


def _children_of(build: Callable[[], QuerySet[Any]], key: str, plan: RowPlan) -> CompiledValues:
    return CompiledValues(lambda parent: build().filter(**{key: parent}).values_list(*plan.paths), int)


#: the Accept headers answered with JSON here (anything else, the browsable API included: DRF negotiates)
_JSON_ACCEPT = frozenset({"*/*", "application/json"})
_RENDERER = JSONRenderer()


class _QueryRequest:
    """What DRF's paginators read of a request."""

    def __init__(self, request: HttpRequest) -> None:
        self.query_params = request.GET
        self.build_absolute_uri = request.build_absolute_uri


def _token_of(request: HttpRequest) -> tuple[str, Statement] | None:
    """The key hash and look-up statement of the request's token (None: no Authorization header); ``NotHot``
    for a header DRF's path must answer (another scheme, a malformed one)."""
    from lims.authentication import token_statement

    header = request.META.get("HTTP_AUTHORIZATION")
    if header is None:
        return None
    try:
        found = token_statement(header.encode("iso-8859-1"))
    except (exceptions.AuthenticationFailed, UnicodeEncodeError):
        raise NotHot from None
    if found is None:
        raise NotHot  # another scheme: DRF's other authenticators
    return found


def _token_user(found: list[Any], request: HttpRequest, instrument: bool = False) -> tuple[Any, Any]:
    """The person and token read by ``_token_of``'s statement (``accept_token``: the same checks, the same
    bookkeeping); ``NotHot`` for a token DRF refuses, or an instrument's unless ``instrument`` (a read that
    instruments may make)."""
    from lims.authentication import accept_token

    try:
        user, token = accept_token(found, request)
    except exceptions.AuthenticationFailed:
        raise NotHot from None
    if token.scope == TokenScope.INSTRUMENT and not instrument:
        raise NotHot
    request.user = user  # as DRF's Request sets it on the request it wraps
    return user, token


def _requester(user: Any) -> Requester:
    from lims.permissions import team_ids_for

    if getattr(user, "is_instrument", False):
        raise NotHot
    if user.is_staff:
        return user, None
    teams = team_ids_for(user)
    if not teams:
        raise NotHot
    return user, teams


def requester_of(request: HttpRequest) -> Requester:
    """The signed-in person asking (a token's or the session's) and their team ids; ``NotHot`` for anything
    DRF's path must answer itself (no or a failed sign-in, an instrument token or account, no team)."""
    token = _token_of(request)
    if token is not None:
        return _requester(_token_user(run_together([token[1]])[0], request)[0])
    user = request.user  # the session's (SessionAuthentication reads the same)
    if not (user and user.is_authenticated and user.is_active):
        raise NotHot
    return _requester(user)


class HotReadsMixin:
    """For a DRF viewset: answer the GETs named by ``hot_list`` / ``hot_detail`` from rows (see the module)."""

    hot_list: HotList | None = None
    hot_detail: HotDetail | None = None
    #: the paginator's own parameters a hot list takes (anything else in the query string: DRF's path)
    hot_paging = frozenset({"page", "page_size", "cursor"})

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if ENABLED and request.method == "GET":
            try:
                return self._hot_response(request, kwargs)
            except (NotHot, exceptions.APIException):
                pass
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def _hot_response(self, request: HttpRequest, kwargs: Mapping[str, Any]) -> HttpResponse:
        view: Any = self
        action = view.action_map.get("get")
        # no Accept header is */* to DRF, an empty one a 406 (DRF's)
        if kwargs.get("format") or request.META.get("HTTP_ACCEPT", "*/*") not in _JSON_ACCEPT:
            raise NotHot
        if action == "list" and self.hot_list is not None:
            data, tag = self._hot_list(request, self.hot_list), None
        elif action == "retrieve" and self.hot_detail is not None and not request.GET:
            key = kwargs.get(view.lookup_url_kwarg or view.lookup_field)
            if view.lookup_field != "pk" or not isinstance(key, str):
                raise NotHot
            data, tag = self.hot_detail.answer(plain_int(key), request)
        else:
            raise NotHot
        response = HttpResponse(
            _RENDERER.render(data, "application/json", {}), content_type=_RENDERER.media_type
        )
        headers = view.default_response_headers
        if "Vary" in headers:
            response["Vary"] = headers.pop("Vary")
        for header, value in headers.items():
            response[header] = value
        if tag:
            response["ETag"] = tag
        return response

    def _hot_list(self, request: HttpRequest, hot: HotList) -> Any:
        view: Any = self
        names: list[str] = []
        args: list[Any] = []
        for name, values in request.GET.lists():
            if name in self.hot_paging:
                continue
            hot_filter = hot.filters.get(name)
            if hot_filter is None or len(values) != 1:
                raise NotHot
            names.append(name)
            args.append(hot_filter.parse(values[0]))
        order = sorted(range(len(names)), key=names.__getitem__)  # one compiled statement per set of filters
        sorted_names, sorted_args = tuple(names[i] for i in order), [args[i] for i in order]
        paginator = view.pagination_class()
        shim = _QueryRequest(request)
        bounds: tuple[int, int] | None = None
        if isinstance(paginator, PageNumberPagination):
            size = paginator.get_page_size(shim)  # type: ignore[arg-type]
            number = request.GET.get(paginator.page_query_param) or "1"
            if size and number.isascii() and number.isdigit() and 0 < int(number) < 10**9:
                bounds = ((int(number) - 1) * size, int(number) * size)
        token = _token_of(request)
        page = None
        if token is not None and bounds is not None:
            page = _page_with_token(hot, sorted_names, sorted_args, request, token, bounds)
        if page is None:
            requester = requester_of(request)
            if token is not None:
                _remember_teams(token[0], requester[1])
            page = _Page(hot, sorted_names, sorted_args, requester, request)
            if bounds is not None:
                page.prefetch(*bounds)
        results = paginator.paginate_queryset(page, shim, view=view)
        if results is None:
            raise NotHot
        return paginator.get_paginated_response(results).data


#: the team ids (None: staff) each token's person had when this process last read the token, by the key's hash:
#: a list is read with the token in one round trip, scoped by these teams, and kept only if they are still the
#: person's (``_page_with_token``). Forgotten in bulk past 10,000 tokens.
_TEAMS_OF_TOKEN: dict[str, list[int] | None] = {}


def _remember_teams(key_hash: str, teams: list[int] | None) -> None:
    if len(_TEAMS_OF_TOKEN) > 10_000:
        _TEAMS_OF_TOKEN.clear()
    _TEAMS_OF_TOKEN[key_hash] = teams


def _page_with_token(
    hot: HotList,
    names: tuple[str, ...],
    args: list[Any],
    request: HttpRequest,
    token: tuple[str, Statement],
    bounds: tuple[int, int],
) -> _Page | None:
    """The page of a token's request with the token, the count and the rows read in one round trip (the token and
    the count in one statement: ``run_together``), the rows scoped by the teams the token's person had when this
    process last read the token. The rows are used only if the token is accepted and its person's teams, read in
    that same round trip, are those teams; else (a first request, a membership changed) None, and the caller
    reads the token and then the page, as without this."""
    key_hash, token_read = token
    if key_hash not in _TEAMS_OF_TOKEN:
        return None
    guess = _TEAMS_OF_TOKEN[key_hash]
    page = _Page(hot, names, args, (None, guess), request)
    token_rows, *results = run_together([token_read, *page.page_statements(*bounds)])
    requester = _requester(_token_user(token_rows, request)[0])
    _remember_teams(key_hash, requester[1])
    if requester[1] != guess:
        return None
    page.requester = requester
    page.accept(*bounds, results)
    return page


def json_bytes(data: Any) -> bytes:
    """The bytes DRF's JSONRenderer writes for ``data`` (for tests and benchmarks)."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
