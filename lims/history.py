"""Reads of the audit trail for the in-app history pages: per record, per user, and a team's recent changes.

Every audited model has a historical table (django-simple-history through ``lims.audit.AuditedHistory``). A page of
history rows across tables is read in a fixed number of queries, whatever the number of rows or models:

1. the page of (model, history_id, date) from one ``UNION ALL`` over the tables the viewer may see (plus the count);
2. those rows, each with its predecessor (the previous version of the same record) as JSON, from a second
   ``UNION ALL``;
3. the users named by the rows (actors, and user fields in the changes).

A save that changed no tracked field (only ``updated_at`` moved) still has its row; the pages fold those rows
into one line per run (``fold_empty_saves``) rather than leave them out in SQL: finding them there means comparing
every update with its predecessor for the count, about 15 µs a row (0.8 s for 60,000 updates), where folding costs
nothing beyond the page. The pages and the count are of history entries, folded ones included.

The old -> new values are simple-history's ``diff_against`` between historical instances rebuilt from that JSON,
shown as a researcher reads them: the field's verbose name with the unit of the stored number ("Thickness measured
(µm): 500 -> 450"), choices by label, users by name, JSON values as "key: value" pairs (only the keys that changed
when both sides are objects), long values abbreviated with the full text in a ``<details>``.

Who sees what (``scope_q``): staff see everything; a manager sees the rows of the records of the teams they manage
and the history of the shared inventory (chemicals, suppliers, locations, lots and their ledger, moulds); nobody
else sees the audit pages.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import connection, models
from django.db.models import F, JSONField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import JSONObject
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import capfirst
from simple_history.models import registered_models

from lims import audit
from lims.models import Membership, Role
from lims.permissions import team_ids_for

PAGE_SIZE = 25  # rows of a history page: about two tablet screens once JSON values are summarised
CHANGES_SHOWN = 5  # changes of one row listed before the rest fold into a <details>

SHARED = "shared"  # shared inventory: readable by everyone, its history visible to every manager
MEMBERS = "members"  # a user (or a user's token): visible to the managers of the user's teams

# label -> how a historical row reaches its team: a lookup path ending in the team, or SHARED / MEMBERS.
# Every audited model is listed (test_every_audited_model_has_a_scope_rule); an unlisted one is staff-only.
SCOPE: dict[str, str] = {
    "cells.cell": "team",
    "cells.cellcomponent": "cell__team",
    "cells.cellstatechange": "cell__team",
    "formulations.batch": "team",
    "formulations.batchcomponent": "batch__team",
    "formulations.chemical": SHARED,
    "formulations.chemicalsynonym": SHARED,
    "formulations.electrode": "team",
    "formulations.membrane": "team",
    "formulations.mould": SHARED,
    "formulations.pellet": "team",
    "formulations.processstep": "version__recipe__team",
    "formulations.recipe": "team",
    "formulations.recipecomponent": "version__recipe__team",
    "formulations.recipeversion": "recipe__team",
    "formulations.stocklot": SHARED,
    "formulations.stocktransaction": SHARED,
    "formulations.storagelocation": SHARED,
    "formulations.supplier": SHARED,
    "lims.apitoken": MEMBERS,
    "lims.attachment": "team",
    "lims.membership": "team",
    "lims.team": "id",
    "lims.user": MEMBERS,
    "measurements.cyclesummary": "measurement__team",
    "measurements.derivedproperty": "team",
    "measurements.instrument": "team",
    "measurements.measurement": "team",
    "measurements.measurementseries": "team",
    "measurements.seriesmember": "series__team",
    "measurements.upload": "team",
}

# the parts shown on a record's history page: record label -> [(part label, foreign key to the record, noun)]
PARTS: dict[str, list[tuple[str, str, str]]] = {
    "formulations.stocklot": [("formulations.stocktransaction", "lot", "ledger entry")],
    "formulations.chemical": [("formulations.chemicalsynonym", "chemical", "synonym")],
    "formulations.recipe": [("formulations.recipeversion", "recipe", "version")],
    "formulations.recipeversion": [
        ("formulations.recipecomponent", "version", "component"),
        ("formulations.processstep", "version", "process step"),
    ],
    "formulations.batch": [("formulations.batchcomponent", "batch", "component drawn")],
    "cells.cell": [
        ("cells.cellcomponent", "cell", "component"),
        ("cells.cellstatechange", "cell", "state change"),
    ],
    "measurements.measurement": [("measurements.derivedproperty", "measurement", "derived property")],
    "measurements.measurementseries": [("measurements.seriesmember", "series", "member")],
}
PARENT_OF: dict[str, tuple[str, str]] = {
    part: (parent, fk) for parent, parts in PARTS.items() for part, fk, _ in parts
}

# label -> URL name of the record's page (records without a page link to their history only)
DETAIL_URLS: dict[str, str] = {
    "formulations.stocklot": "formulations:lot-detail",
    "formulations.chemical": "formulations:chemical-detail",
    "formulations.storagelocation": "formulations:location-detail",
    "formulations.supplier": "formulations:supplier-edit",
    "formulations.recipe": "formulations:recipe-detail",
    "formulations.recipeversion": "formulations:version-detail",
    "formulations.batch": "formulations:batch-detail",
    "formulations.membrane": "formulations:membrane-detail",
    "formulations.pellet": "formulations:pellet-detail",
    "formulations.electrode": "formulations:electrode-detail",
    "cells.cell": "cells:cell-detail",
    "measurements.upload": "measurements:upload-detail",
    "measurements.measurement": "measurements:measurement-detail",
    "measurements.derivedproperty": "measurements:derived-detail",
    "measurements.measurementseries": "measurements:series-detail",
}

CHANNELS = {
    "web": "web page",
    "admin": "admin",
    "api-session": "API (browser session)",
    "service": "background task",
    "system": "system",
    "seed_demo": "demo data",
    "seed_inventory": "demo data",
    "worker": "ingest worker",
}

LABEL_FIELDS = ("code", "label_code", "username", "name", "lot_number")


# ------------------------------------------------------------------------------------------------ models
def audited_models() -> dict[str, type[models.Model]]:
    """label ("app.model", lower case) -> the audited (live) model, for every model with a history table."""
    return {m._meta.label_lower: m for m in registered_models.values()}


def historical_model(label: str) -> Any:
    model = audited_models().get(label)
    if model is None:
        raise LookupError(label)
    return model.history.model  # type: ignore[attr-defined]


def kind_label(label: str) -> str:
    model = audited_models().get(label)
    return str(model._meta.verbose_name) if model is not None else label


#: bookkeeping that changes on every save or repeats another field: left out of the diffs
NOT_DIFFED = audit.NOT_DIFFED


def _diffed_fields(label: str) -> list[str]:
    model = audited_models()[label]
    return [f.name for f in model.history.model.tracked_fields if f.name not in NOT_DIFFED]  # type: ignore[attr-defined]


def _tracked_attnames(label: str) -> list[str]:
    model = audited_models()[label]
    names = {f.name for f in model.history.model.tracked_fields}  # type: ignore[attr-defined]
    return [f.attname for f in model._meta.concrete_fields if f.name in names]


# ------------------------------------------------------------------------------------------------ who sees what
def is_auditor(user: Any) -> bool:
    """Staff, or a manager of at least one team: the people the audit pages are for."""
    if user is None or not user.is_authenticated:
        return False
    return bool(user.is_staff or team_ids_for(user, Role.MANAGER))


def scope_q(label: str, user: Any, *, own: bool = False) -> Q | None:
    """The rows of ``label``'s history the user may see (an empty Q = all), or None when none.

    ``own``: the user's own changes (their "my changes" page), in the records of every team they belong to
    now, whatever their role there; the caller restricts the rows to ``history_user`` = the user."""
    if user.is_staff:
        return Q()
    teams = team_ids_for(user) if own else team_ids_for(user, Role.MANAGER)
    if not teams:
        return None
    rule = SCOPE.get(label)
    if rule is None:
        return None
    if rule == SHARED:
        return Q()
    if rule == MEMBERS:
        members = Membership.objects.filter(team_id__in=teams).values("user_id")
        return Q(user_id__in=members) if label == "lims.apitoken" else Q(id__in=members)
    if rule == "id":
        return Q(id__in=teams)
    if label == "lims.attachment":
        return Q(team_id__in=teams) | Q(team_id__isnull=True)
    return Q(**{f"{rule}_id__in" if rule == "team" else f"{rule}__in": teams})


def record_team_id(label: str, pk: int) -> tuple[bool, int | None]:
    """(the record has history, the id of its team or None for shared records), from its latest history row."""
    rule = SCOPE.get(label, "")
    hist = historical_model(label).objects.filter(id=pk).order_by("-history_date", "-history_id")
    if rule in (SHARED, MEMBERS, ""):
        return hist.exists(), None
    path = "id" if rule == "id" else ("team_id" if rule == "team" else f"{rule}__id")
    row = hist.values_list(path, flat=True).first()
    exists = row is not None or hist.exists()
    return exists, row


def access_to_record(user: Any, label: str, pk: int) -> int:
    """HTTP status for the user's view of a record's history: 200, 403 (may see the record, not its audit) or 404."""
    if label not in audited_models():
        return 404
    exists, team_id = record_team_id(label, pk)
    if not exists:
        return 404
    if user.is_staff:
        return 200
    rule = SCOPE.get(label)
    if rule in (SHARED, MEMBERS):
        if rule == MEMBERS and not _shares_a_managed_team(user, label, pk):
            return 403 if is_auditor(user) else 404
        return 200 if is_auditor(user) else 403
    from lims.permissions import role_in_team

    role = role_in_team(user, team_id)
    if role is None:
        return 404
    return 200 if role == Role.MANAGER else 403


def may_open_history(user: Any, obj: Any) -> bool:
    """Whether to offer the "History" link of ``obj`` (no query beyond the cached roles and, for parts of a
    record, the parent already loaded by the page)."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    rule = SCOPE.get(obj._meta.label_lower)
    if rule is None:
        return False
    if rule in (SHARED, MEMBERS):
        return is_auditor(user)
    if rule == "id":
        team_id = obj.pk
    else:
        target = obj
        for step in rule.split("__")[:-1]:
            target = getattr(target, step, None)
        team_id = getattr(target, "team_id", None)
    from lims.permissions import has_role

    return team_id is not None and has_role(user, team_id, Role.MANAGER)


def _shares_a_managed_team(user: Any, label: str, pk: int) -> bool:
    teams = team_ids_for(user, Role.MANAGER)
    user_id = pk
    if label == "lims.apitoken":
        token = historical_model(label).objects.filter(id=pk).values_list("user_id", flat=True).first()
        if token is None:
            return False
        user_id = token
    return Membership.objects.filter(user_id=user_id, team_id__in=teams).exists()


def access_to_user(viewer: Any, target_id: int) -> int:
    """200 for staff, for managers of a team the target belongs to and for the target themself (their own
    changes); 403 for other team mates; else 404."""
    User = get_user_model()
    if not User.objects.filter(pk=target_id).exists():
        return 404
    if viewer.is_staff or viewer.pk == target_id:
        return 200
    managed = team_ids_for(viewer, Role.MANAGER)
    target_teams = set(Membership.objects.filter(user_id=target_id).values_list("team_id", flat=True))
    if target_teams & set(managed):
        return 200
    viewer_teams = set(team_ids_for(viewer))
    return 403 if target_teams & viewer_teams or viewer.pk == target_id else 404


# ------------------------------------------------------------------------------------------------ rows
@dataclass(frozen=True)
class Change:
    field: str  # "Thickness measured (µm)", "Parameters › sigma (S/m)"
    old: str
    new: str
    old_full: str = ""  # the whole old value when ``old`` abbreviates it
    new_full: str = ""


@dataclass
class HistoryRow:
    label: str  # "cells.cell"
    kind: str  # verbose name, "cell"
    history_id: int
    object_id: int
    when: datetime
    action: str  # created / changed / deleted
    user_id: int | None
    via: str
    reason: str
    record: str  # "L-ABC12" or "cell #3"
    changes: list[Change] = field(default_factory=list)
    initial: list[Change] = field(default_factory=list)
    user_label: str = "system"
    record_url: str = ""
    history_url: str = ""
    part_of: str = ""  # "ledger entry" when the row is a part of the record whose page shows it
    values_note: str = ""  # what ``initial`` holds when it is not the values at creation

    folded = False  # a HistoryRow is listed; a FoldedSaves is one line for several

    @property
    def record_is_code(self) -> bool:
        """A code such as "M-G97GEP" (no space): kept on one line, never broken at its hyphen."""
        return " " not in self.record

    @property
    def is_empty_save(self) -> bool:
        """An update in which no tracked field changed (a save that only moved ``updated_at``)."""
        return self.action == "changed" and not self.changes and not self.initial

    @property
    def changes_shown(self) -> list[Change]:
        return self.changes[:CHANGES_SHOWN]

    @property
    def changes_folded(self) -> list[Change]:
        """The changes past the first few: behind a <details>, so one big recompute does not fill the screen."""
        return self.changes[CHANGES_SHOWN:]

    @property
    def channel(self) -> str:
        if self.via.startswith("api-token:"):
            return f"API token {self.via.split(':', 1)[1]}…"
        if self.via.startswith("celery:"):
            return f"scheduled task {self.via.split(':', 1)[1]}"
        return CHANNELS.get(self.via, self.via or "unknown")


@dataclass
class FoldedSaves:
    """A run of consecutive saves that changed no tracked field, listed as one line of the page."""

    saves: list[HistoryRow]
    folded = True


def fold_empty_saves(rows: list[HistoryRow]) -> list[HistoryRow | FoldedSaves]:
    """The page's rows with each run of empty saves folded into one ``FoldedSaves`` (pure: no query)."""
    out: list[HistoryRow | FoldedSaves] = []
    for row in rows:
        if not row.is_empty_save:
            out.append(row)
        elif out and isinstance(out[-1], FoldedSaves):
            out[-1].saves.append(row)
        else:
            out.append(FoldedSaves([row]))
    return out


@dataclass(frozen=True)
class Filter:
    """What a history page shows: rows of one record (label + ids), of a user, of some kinds, since a date."""

    labels: Sequence[str] | None = None  # None = every audited model the viewer may see
    object_filter: dict[str, Q] | None = None  # label -> extra Q (per record pages)
    user_id: int | None = None
    own: bool = False  # the viewer's own changes (user_id is the viewer): scoped to all their teams
    via: str = ""
    since: datetime | None = None
    until: datetime | None = None


def _branch_filters(viewer: Any, spec: Filter) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    labels = spec.labels if spec.labels is not None else sorted(audited_models())
    for label in labels:
        own = spec.own and spec.user_id is not None and spec.user_id == viewer.pk
        visible = scope_q(label, viewer, own=own)
        if visible is None:
            continue
        qs = historical_model(label).objects.filter(visible)
        if spec.object_filter is not None:
            extra = spec.object_filter.get(label)
            if extra is None:
                continue
            qs = qs.filter(extra)
        if spec.user_id is not None:
            qs = qs.filter(history_user_id=spec.user_id)
        if spec.via:
            qs = qs.filter(history_via__startswith=spec.via)
        if spec.since is not None:
            qs = qs.filter(history_date__gte=spec.since)
        if spec.until is not None:
            qs = qs.filter(history_date__lt=spec.until)
        out.append((label, qs))
    return out


def index_queryset(viewer: Any, spec: Filter) -> QuerySet[Any] | None:
    """(label, history_id, history_date) of every visible row, newest first, as one UNION ALL (None: nothing)."""
    # .order_by(): no ORDER BY inside the branches of a compound query (SQLite refuses it; the union is ordered)
    branches = [
        qs.order_by()
        .annotate(m=Value(label, output_field=models.CharField()))
        .values_list("m", "history_id", "history_date")
        for label, qs in _branch_filters(viewer, spec)
    ]
    if not branches:
        return None
    first, rest = branches[0], branches[1:]
    union = first.union(*rest, all=True) if rest else first
    return union.order_by("-history_date", "-history_id")


def _predecessor(hist: Any, attnames: list[str]) -> Subquery:
    earlier = Q(history_date__lt=OuterRef("history_date")) | Q(
        history_date=OuterRef("history_date"), history_id__lt=OuterRef("history_id")
    )
    prev = (
        hist.objects.filter(earlier, id=OuterRef("id"))
        .order_by("-history_date", "-history_id")
        .values(j=JSONObject(**{a: F(a) for a in attnames}))[:1]
    )
    return Subquery(prev, output_field=JSONField())


def load_rows(page_index: Iterable[tuple[str, int, datetime]]) -> list[HistoryRow]:
    """The history rows of a page index (label, history_id, date), with diffs and names, in two queries."""
    index = list(page_index)
    if not index:
        return []
    wanted: dict[str, list[int]] = {}
    for label, history_id, _ in index:
        wanted.setdefault(label, []).append(history_id)
    branches = []
    for label, ids in wanted.items():
        hist = historical_model(label)
        attnames = _tracked_attnames(label)
        branches.append(
            hist.objects.filter(history_id__in=ids)
            .order_by()
            .annotate(
                m=Value(label, output_field=models.CharField()),
                data=JSONObject(
                    **{a: F(a) for a in attnames}, **{c: F(c) for c in ROW_CONTEXT.get(label, ())}
                ),
                prev=_predecessor(hist, attnames),
                via=F("history_via"),
            )
            .values_list(
                "m",
                "history_id",
                "history_type",
                "history_user_id",
                "history_change_reason",
                "via",
                "data",
                "prev",
            )
        )
    first, rest = branches[0], branches[1:]
    raw = {(r[0], r[1]): r for r in (first.union(*rest, all=True) if rest else first)}
    rows: list[HistoryRow] = []
    for label, history_id, when in index:
        r = raw.get((label, history_id))
        if r is None:  # vanished between the two queries (cannot happen: history is append-only)
            continue
        rows.append(_row(label, history_id, when, r))
    _name_users(rows)
    return rows


def _as_dict(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns the JSON text
        return dict(json.loads(value))
    return dict(value)


def _json_values(hist: Any, data: dict[str, Any] | None) -> dict[str, Any] | None:
    """SQLite writes a JSON field inside ``JSONObject`` as its text: read it back as the value PostgreSQL gives."""
    if data is None or connection.vendor != "sqlite":
        return data
    for f in hist._meta.concrete_fields:
        if isinstance(f, JSONField) and isinstance(data.get(f.attname), str):
            data[f.attname] = json.loads(data[f.attname])
    return data


def _row(label: str, history_id: int, when: datetime, r: tuple[Any, ...]) -> HistoryRow:
    _, _, history_type, user_id, reason, via, data_raw, prev_raw = r
    hist = historical_model(label)
    data = _json_values(hist, _as_dict(data_raw)) or {}
    prev = _json_values(hist, _as_dict(prev_raw))
    action = {"+": "created", "~": "changed", "-": "deleted"}.get(history_type, history_type)
    row = HistoryRow(
        label=label,
        kind=kind_label(label),
        history_id=history_id,
        object_id=int(data.get("id") or 0),
        when=when,
        action=action,
        user_id=user_id,
        via=via or "",
        reason=reason or "",
        record=_record_label(label, data),
    )
    if label in PARENT_OF and row.record.endswith(f"#{row.object_id}"):
        row.record = f"#{row.object_id}"  # shown after its noun ("ledger entry #12")
    model = audited_models()[label]
    fields = _diffed_fields(label)
    if prev is not None and history_type != "-":
        # the joined context (a ledger entry's lot unit) is the same for both versions; the predecessor lacks it
        context = {c: data.get(c) for c in ROW_CONTEXT.get(label, ())}
        before = {**context, **prev}
        new_obj = hist(**{k: v for k, v in data.items() if k not in context})
        old_obj = hist(**prev)
        editable = [n for n in fields if model._meta.get_field(n).editable]
        pairs = [
            (c.field, c.old, c.new) for c in new_obj.diff_against(old_obj, included_fields=editable).changes
        ]
        # computed fields (a lot's quantity on hand, a membrane's derived thickness) are not editable, so
        # diff_against (model_to_dict) skips them; they are exactly what an audit must show
        for name in fields:
            if name in editable:
                continue
            attname = _field(model, name).attname
            if data.get(attname) != prev.get(attname):
                pairs.append((name, prev.get(attname), data.get(attname)))
        for name, old, new in sorted(pairs, key=lambda p: fields.index(p[0])):
            row.changes.extend(_changes_of(label, model, name, old, new, before, data))
    elif history_type in ("+", "-") or prev is None:
        # a creation: the values it started with; a deletion: the values it had; an update without an earlier
        # version (history started after the record): the values it was saved with
        row.initial = [
            _initial(label, model, f.name, data.get(f.attname), data)
            for f in model._meta.concrete_fields
            if f.name in fields and data.get(f.attname) not in (None, "", [], {})
        ]
        if history_type == "-":
            row.values_note = "at deletion"
        elif history_type == "~":
            row.values_note = "saved (no earlier version recorded)"
    row.history_url = history_url(label, row.object_id)
    row.record_url = detail_url(label, row.object_id)
    parent = PARENT_OF.get(label)
    if parent is not None:
        parent_label, fk = parent
        parent_id = data.get(f"{fk}_id")
        if parent_id:
            row.history_url = history_url(parent_label, int(parent_id))
            row.record_url = detail_url(parent_label, int(parent_id))
    return row


def _record_label(label: str, data: dict[str, Any]) -> str:
    if label == "measurements.derivedproperty" and data.get("name"):
        return property_label(str(data["name"]))
    for name in LABEL_FIELDS:
        value = data.get(name)
        if value:
            return str(value)
    return f"{kind_label(label)} #{data.get('id')}"


def property_label(name: str) -> str:
    """A derived property's name as the rest of the app shows it ("kk_residual_max" -> "lin-KK max residual")."""
    from measurements.selectors_derived import label_of  # measurements builds on lims: imported when used

    return label_of(name)


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    try:
        f = model._meta.get_field(name)
    except FieldDoesNotExist:
        raise LookupError(name) from None
    if not isinstance(f, models.Field):  # a reverse relation: never a column of a history row
        raise LookupError(name)
    return f


def _verbose(model: type[models.Model], name: str) -> str:
    """The field's label: its verbose name, capitalised; a unit at the end of an unlabelled field's name goes in
    brackets ("charge_capacity_Ah" -> "Charge capacity (Ah)")."""
    try:
        verbose = str(_field(model, name).verbose_name)
    except LookupError:
        verbose = name.replace("_", " ")
    if verbose == name.replace("_", " "):  # Django's default: the attribute name
        verbose = key_label(name)
    return capfirst(verbose)


# ------------------------------------------------------------------------------------------------ values
USER_MARK = "\x00user:"
FIELD_DIGITS = 6  # significant figures of a number column: a balance of 24.599 g stays whole
JSON_DIGITS = 4  # of a number inside a JSON value: fit parameters carry 17 digits nobody reads
SHORT_TEXT = 120  # characters of a value before it is abbreviated (the full value is one click away)
MISSING = object()  # a key absent from one side of a JSON change

#: number columns whose unit is held by a text column of the row (or of a row it refers to, see ROW_CONTEXT)
UNIT_COLUMNS: dict[str, dict[str, str]] = {
    "formulations.stocklot": {"quantity_on_hand": "quantity_unit"},
    "formulations.stocktransaction": {
        "quantity": "lot__quantity_unit",
        "balance_after": "lot__quantity_unit",
    },
    "formulations.recipecomponent": {"amount": "amount_kind"},
    "formulations.batchcomponent": {
        "planned_amount": "recipe_component__amount_kind",
        "actual_amount": "recipe_component__amount_kind",
    },
    "measurements.derivedproperty": {"value": "unit", "uncertainty": "unit"},
}
#: columns of a referenced row read with a history row (a join in the same query, no query more): the unit of a
#: ledger entry is its lot's, that of a drawn component its recipe component's
ROW_CONTEXT: dict[str, tuple[str, ...]] = {
    "formulations.stocktransaction": ("lot__quantity_unit",),
    "formulations.batchcomponent": ("recipe_component__amount_kind",),
}
AMOUNT_KIND_UNITS = {"mass": "g", "volume": "mL", "amount": "mol"}  # formulations.AmountKind -> unit

_UNIT_WORDS = {
    "um": "µm",
    "uL": "µL",
    "uA": "µA",
    "uF": "µF",
    "ug": "µg",
    "uV": "µV",
    "uS": "µS",
    "umol": "µmol",
    "degC": "°C",
    "ohm": "Ω",
    "percent": "%",
    "dimensionless": "",
}
#: unit words recognised at the end of a name ("r_bulk_ohm", "sigma_S_per_m", "area_cm2", "temperature_C")
_NAME_UNITS = frozenset(
    """ohm S mS uS m cm mm um nm s min h Hz kHz MHz V mV A mA uA Ah mAh Wh mWh W mW g mg ug kg mol mmol K C eV J
    kJ Pa kPa MPa GPa L mL uL ppm percent""".split()
)


def unit_text(unit: str) -> str:
    """A pint unit string as printed: "um" -> "µm", "cm**2" -> "cm²", "degC" -> "°C", "dimensionless" -> ""."""
    text = re.sub(r"[A-Za-z]+", lambda m: _UNIT_WORDS.get(m[0], m[0]), unit.strip())
    text = text.replace("**2", "²").replace("**3", "³").replace("^2", "²").replace("^3", "³")
    return re.sub(r"(?<=[A-Za-zµΩ])([23])\b", lambda m: "²" if m[1] == "2" else "³", text)


def key_label(key: str) -> str:
    """A machine name as a label: underscores as spaces, a trailing unit in brackets
    ("sigma_S_per_m" -> "sigma (S/m)", "r_bulk_ohm" -> "r bulk (Ω)", "cell_id" -> "cell id")."""
    parts = str(key).split("_")

    def is_unit(word: str) -> bool:
        return word.rstrip("23") in _NAME_UNITS

    last = len(parts) - 1
    if last < 1 or not is_unit(parts[last]):
        return " ".join(parts)
    first = last
    while first - 2 >= 1 and parts[first - 1] == "per" and is_unit(parts[first - 2]):
        first -= 2
    if parts[first - 1] == "per":  # "rate_per_h": a rate, not a unit of its own
        return " ".join(parts)
    unit = "/".join(parts[first::2])
    return f"{' '.join(parts[:first])} ({'°C' if unit == 'C' else unit_text(unit)})"


def _unit_of(label: str, model: type[models.Model], name: str, data: dict[str, Any]) -> str:
    """The printed unit of the stored number of field ``name`` in a row's ``data`` ("" when it has none)."""
    column = UNIT_COLUMNS.get(label, {}).get(name)
    if column is not None:
        unit = str(data.get(column) or "")
        return unit_text(AMOUNT_KIND_UNITS.get(unit, unit))
    try:
        f = _field(model, name)
    except LookupError:
        return ""
    return unit_text(getattr(f, "unit", "") or "")


def _with_unit(verbose: str, unit: str) -> str:
    return f"{verbose} ({unit})" if unit and not verbose.endswith(f"({unit})") else verbose


def number_text(value: float | int, digits: int) -> str:
    """A number to ``digits`` significant figures, without trailing zeros: 100.00120199 -> "100" (4), 5.404e-05
    -> "5.404e-5"."""
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    text = f"{value:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _distinct_numbers(old: float | int, new: float | int, digits: int) -> tuple[str, str]:
    """Both numbers to as many figures as it takes to see that they differ (0.2500001 -> 0.2500002, not 0.25 ->
    0.25)."""
    a, b = number_text(old, digits), number_text(new, digits)
    while a == b and old != new and digits < 17:
        digits += 1
        a, b = number_text(old, digits), number_text(new, digits)
    return a, b


def _json_inline(value: Any, depth: int = 0) -> str:
    """A JSON value in one line: "key: value" pairs ("; " between the pairs of the top object), numbers to
    JSON_DIGITS figures, text without quotes."""
    if value is None or value is MISSING or value in ({}, []):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if _is_number(value):
        return number_text(value, JSON_DIGITS)
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_json_inline(v, depth + 1) for v in value) + "]"
    if isinstance(value, dict):
        pairs = [f"{key_label(k)}: {_json_inline(v, depth + 1)}" for k, v in sorted(value.items())]
        return "; ".join(pairs) if depth == 0 else "{" + ", ".join(pairs) + "}"
    return str(value)


def _json_full(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2)


def _abbreviated(text: str, full: str, *, pairs_of: Any = None) -> tuple[str, str]:
    """(the text cut to about SHORT_TEXT characters, and ``full`` when it was cut, else ""). The summary of a JSON
    object (``pairs_of``) is cut after its last whole "key: value" pair, with how many pairs are left out."""
    if len(text) <= SHORT_TEXT:
        return text, ""
    if not isinstance(pairs_of, dict):
        return text[: SHORT_TEXT - 1].rstrip() + "…", full
    pairs = text.split("; ")
    kept = pairs[:1]
    for pair in pairs[1:]:
        if len("; ".join([*kept, pair])) > SHORT_TEXT:
            break
        kept.append(pair)
    short = "; ".join(kept)
    if len(short) > SHORT_TEXT:  # the first pair alone is too long
        return short[: SHORT_TEXT - 1].rstrip() + "…", full
    return f"{short}; … (+{len(pairs) - len(kept)} more)", full


def _json_shown(value: Any) -> tuple[str, str]:
    text = _json_inline(value)
    return _abbreviated(text, _json_full(value) if value is not MISSING else "", pairs_of=value)


def _show(model: type[models.Model], name: str, value: Any, *, precise: bool = False) -> tuple[str, str]:
    """(a value as a researcher reads it, the full value when that is abbreviated): labels of choices, users by
    name, numbers to FIELD_DIGITS figures (the unit goes with the field's label), JSON as "key: value" pairs;
    ``precise``: times to the millisecond (two saves within the same second)."""
    if value is None or value == "":
        return "–", ""
    try:
        f = _field(model, name)
    except LookupError:
        return _abbreviated(str(value), str(value))
    if f.is_relation and f.related_model is not None:
        if f.related_model is get_user_model():
            return f"{USER_MARK}{value}", ""
        return f"{f.related_model._meta.verbose_name} #{value}", ""
    if getattr(f, "choices", None):
        return str(dict(f.flatchoices).get(value, value)), ""
    if isinstance(f, models.BooleanField):
        return ("yes" if value in (True, 1, "true") else "no"), ""
    if isinstance(f, models.DateTimeField) and isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            return value, ""
        if timezone.is_naive(parsed):  # SQLite's JSON holds the UTC text without an offset
            parsed = timezone.make_aware(parsed, UTC)
        text = timezone.localtime(parsed).strftime("%Y-%m-%d %H:%M:%S.%f" if precise else "%Y-%m-%d %H:%M:%S")
        return (text[:-3] if precise else text), ""
    if isinstance(f, models.DateField) and isinstance(value, str):
        d = parse_date(value[:10])
        return (d.isoformat() if d else value), ""
    if isinstance(f, models.JSONField) or isinstance(value, dict | list):
        return _json_shown(value)
    if _is_number(value):
        return number_text(value, FIELD_DIGITS), ""
    if model._meta.label_lower == "measurements.derivedproperty" and name == "name":
        shown = property_label(str(value))
        return (f"{shown} ({value})" if shown != value else str(value)), ""
    return _abbreviated(str(value), str(value))


def _initial(label: str, model: type[models.Model], name: str, value: Any, data: dict[str, Any]) -> Change:
    text, full = _show(model, name, value)
    return Change(_with_unit(_verbose(model, name), _unit_of(label, model, name, data)), "", text, "", full)


def _changes_of(
    label: str,
    model: type[models.Model],
    name: str,
    old: Any,
    new: Any,
    before: dict[str, Any],
    after: dict[str, Any],
) -> list[Change]:
    """The lines of one changed field: one line, or one per changed key when both sides are JSON objects."""
    verbose = _verbose(model, name)
    if isinstance(old, dict) and isinstance(new, dict):
        return _json_changes(verbose, old, new)
    unit_old, unit_new = _unit_of(label, model, name, before), _unit_of(label, model, name, after)
    if _is_number(old) and _is_number(new):
        old_text, new_text = _distinct_numbers(old, new, FIELD_DIGITS)
        old_full = new_full = ""
    else:
        (old_text, old_full), (new_text, new_full) = _show(model, name, old), _show(model, name, new)
        if old_text == new_text:  # two times within the same second
            (old_text, old_full), (new_text, new_full) = (
                _show(model, name, old, precise=True),
                _show(model, name, new, precise=True),
            )
    if unit_old == unit_new:
        return [Change(_with_unit(verbose, unit_new), old_text, new_text, old_full, new_full)]
    # the unit itself changed (a derived property recomputed in other units): each value with its own
    if unit_old and old_text != "–":
        old_text = f"{old_text} {unit_old}"
    if unit_new and new_text != "–":
        new_text = f"{new_text} {unit_new}"
    return [Change(verbose, old_text, new_text, old_full, new_full)]


def _same_json(a: Any, b: Any) -> bool:
    """JSON equality that tells true from 1 (Python's == does not)."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _json_changes(prefix: str, old: dict[str, Any], new: dict[str, Any], depth: int = 0) -> list[Change]:
    """One line per key whose value differs between two JSON objects ("Parameters › sigma (S/m): 0.025 ->
    0.0225"); nested objects are compared key by key too (two levels down)."""
    out: list[Change] = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key, MISSING), new.get(key, MISSING)
        if _same_json(a, b):
            continue
        field_label = f"{prefix} › {key_label(key)}"
        if isinstance(a, dict) and isinstance(b, dict) and depth < 2:
            out.extend(_json_changes(field_label, a, b, depth + 1))
            continue
        if _is_number(a) and _is_number(b):
            old_text, new_text = _distinct_numbers(a, b, JSON_DIGITS)
            out.append(Change(field_label, old_text, new_text))
            continue
        (old_text, old_full), (new_text, new_full) = _json_shown(a), _json_shown(b)
        out.append(Change(field_label, old_text, new_text, old_full, new_full))
    return out


def _name_users(rows: list[HistoryRow]) -> None:
    ids: set[int] = {r.user_id for r in rows if r.user_id is not None}
    for r in rows:
        for c in (*r.changes, *r.initial):
            for v in (c.old, c.new):
                if v.startswith(USER_MARK):
                    ids.add(int(v[len(USER_MARK) :]))
    names: dict[int, str] = {}
    if ids:
        for u in (
            get_user_model().objects.filter(id__in=ids).only("id", "username", "first_name", "last_name")
        ):
            names[u.pk] = u.get_full_name() or u.get_username()

    def fix(v: str) -> str:
        if v.startswith(USER_MARK):
            uid = int(v[len(USER_MARK) :])
            return names.get(uid, f"user #{uid}")
        return v

    for r in rows:
        r.user_label = names.get(r.user_id, f"user #{r.user_id}") if r.user_id is not None else "system"
        r.changes = [dataclasses.replace(c, old=fix(c.old), new=fix(c.new)) for c in r.changes]
        r.initial = [dataclasses.replace(c, old=fix(c.old), new=fix(c.new)) for c in r.initial]


# ------------------------------------------------------------------------------------------------ links
def history_url(label: str, pk: int) -> str:
    return reverse("record-history", args=[label, pk])


def detail_url(label: str, pk: int) -> str:
    name = DETAIL_URLS.get(label)
    if name is None or not pk:
        return ""
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return ""


def record_filter(label: str, pk: int) -> dict[str, Q]:
    """The rows of a record's page: its own history and that of its parts (ledger entries, components, ...)."""
    out = {label: Q(id=pk)}
    for part, fk, _ in PARTS.get(label, []):
        out[part] = Q(**{f"{fk}_id": pk})
    return out


def part_nouns(label: str) -> dict[str, str]:
    return {part: noun for part, _, noun in PARTS.get(label, [])}


def current_label(label: str, pk: int) -> str:
    """The record's name for the page title (from its latest history row; no query on the live table)."""
    hist = historical_model(label)
    attnames = [a for a in _tracked_attnames(label) if a in (*LABEL_FIELDS, "id")]
    data = hist.objects.filter(id=pk).order_by("-history_date", "-history_id").values(*attnames).first()
    return _record_label(label, data or {"id": pk})


def user_label(user_id: int) -> str:
    u = get_user_model().objects.filter(pk=user_id).first()
    return (u.get_full_name() or u.get_username()) if u is not None else f"user #{user_id}"


def kinds_for(viewer: Any, *, own: bool = False) -> list[tuple[str, str]]:
    """(label, verbose name) of the audited models the viewer may see (``own``: on their own changes page), for the
    filter of the audit pages."""
    return sorted(
        (
            (label, kind_label(label))
            for label in audited_models()
            if scope_q(label, viewer, own=own) is not None
        ),
        key=lambda kv: kv[1],
    )
