"""Who may see and change what: team membership with roles, staff sees all, instrument tokens upload only.

Rules (one place, used by the API, the pages and the selectors):
- a user sees the records of the teams they belong to (any role); staff see everything;
- creating and changing team records needs the researcher role in that team; managing (overrides, deletes,
  using an expired lot) needs the manager role;
- shared inventory (chemicals, suppliers, locations, lots) is readable by every authenticated person and
  writable by researchers of any team;
- an instrument token (scope "instrument") is refused everywhere except the views that declare
  ``allow_instrument_token = True`` (creating uploads, reading their status);
- every person signed in, a viewer too, may create and revoke their own API tokens: a token does what its
  person may do (``OwnRecordsPermission``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.db.models import Aggregate, CharField, Model, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Concat
from rest_framework import permissions

from lims.compiled import CompiledQuery, Statement, run_together
from lims.models import ROLE_RANK, Membership, Role, Team, TokenScope

M = TypeVar("M", bound=Model)

#: every request that checks a team: compiled once per process (lims/compiled.py)
_memberships_of: CompiledQuery[Membership] = CompiledQuery(
    lambda user_id: Membership.objects.filter(user_id=user_id).only("team_id", "role"), int
)


class _JoinedText(Aggregate):
    """The texts of a group joined with commas: ``STRING_AGG`` (PostgreSQL), ``GROUP_CONCAT`` (SQLite)."""

    function = "STRING_AGG"
    template = "%(function)s(%(expressions)s, ',')"
    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, function="GROUP_CONCAT", **extra)


def roles_column(user_key: str) -> Subquery:
    """A column holding the roles of the user whose key is ``user_key`` (an outer reference: ``"pk"``,
    ``"user_id"``), as ``"<team id>:<role>,..."`` (NULL without any): read with the user's own row, so that a
    request learns who is asking and their roles in one statement instead of two (``remember_roles``)."""
    joined = (
        Membership.objects.filter(user_id=OuterRef(user_key))
        .values("user_id")
        .annotate(text=_JoinedText(Concat(Cast("team_id", CharField()), Value(":"), "role")))
        .values("text")
    )
    return Subquery(joined, output_field=CharField())


def remember_roles(user: Any, text: str | None) -> None:
    """Keep the roles read by ``roles_column`` on the user object, as ``_roles`` would have read them."""
    roles: dict[int, str] = {}
    for item in (text or "").split(","):
        team, sep, role = item.partition(":")
        if sep:
            roles[int(team)] = role
    keep_roles(user, roles)


def keep_roles(user: Any, roles: dict[int, str]) -> None:
    """Hold ``roles`` (team id -> role) on the user object as the user's roles for this request (``_roles``)."""
    user._lims_roles = roles


def _roles(user: Any) -> dict[int, str]:
    """team id -> role for a user, read once per request (cached on the user object; read with the user's row
    by the compiled sign-in look-ups, ``roles_column``)."""
    if user is None or not user.is_authenticated:
        return {}
    cache: dict[int, str] | None = getattr(user, "_lims_roles", None)
    if cache is None:
        cache = {m.team_id: m.role for m in _memberships_of.all(user.pk)}
        user._lims_roles = cache
    return cache


def roles_of(user: Any) -> dict[int, str]:
    """team id -> role for a user (``_roles``: read once per request)."""
    return _roles(user)


def role_in_team(user: Any, team_id: int | None) -> str | None:
    return None if team_id is None else _roles(user).get(team_id)


def has_role(user: Any, team_id: int | None, minimum: str) -> bool:
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    role = role_in_team(user, team_id)
    return role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role(minimum)]


def team_ids_for(user: Any, minimum: str = Role.VIEWER) -> list[int]:
    return [tid for tid, role in _roles(user).items() if ROLE_RANK[Role(role)] >= ROLE_RANK[Role(minimum)]]


def teams_for(user: Any, minimum: str = Role.VIEWER) -> QuerySet[Team]:
    if user is not None and user.is_authenticated and user.is_staff:
        return Team.objects.all()
    return Team.objects.filter(id__in=team_ids_for(user, minimum))


def team_scope(teams: list[int] | None) -> tuple[str, list[Any]]:
    """How a compiled read is scoped to a requester's team ids (None: every team, staff), and its argument:
    ``""`` without one; ``"one"`` a team compared with ``=`` (PostgreSQL then walks a ``(team, <order>)`` index
    for the page instead of joining and sorting the team's newest rows); ``"many"`` the ids as one array."""
    if teams is None:
        return "", []
    if len(teams) == 1:
        return "one", [teams[0]]
    return "many", [teams]


def scope_kinds(scope: str) -> list[type]:
    """The argument kinds a ``team_scope`` adds to a compiled read."""
    kinds: dict[str, list[type]] = {"": [], "one": [int], "many": [list]}
    return list(kinds[scope])


def in_team_scope(qs: QuerySet[Any], scope: str, team: Any, team_field: str = "team") -> QuerySet[Any]:
    """``qs`` scoped as ``team_scope`` says, ``team`` its argument (unused without a scope)."""
    if scope == "one":
        return qs.filter(**{f"{team_field}_id": team})
    if scope == "many":
        return qs.filter(**{f"{team_field}__any": team})
    return qs


def scope_to_teams(qs: QuerySet[Any], user: Any, team_field: str = "team") -> QuerySet[Any]:
    """The records of ``qs`` the user may see."""
    if user is not None and user.is_authenticated and user.is_staff:
        return qs
    return qs.filter(**{f"{team_field}__in": team_ids_for(user)})


class ScopedQuery(Generic[M]):
    """``refine(scope_to_teams(base(), user), *args)`` compiled once per process (lims/compiled.py): one compiled
    query with the user's team ids bound as one list (``team__any``), one without a scope for staff. The rows
    are those of the queryset, by construction: the same team ids, read once per request (``_roles``), applied
    to ``base()`` before ``refine`` filters, orders or slices it. ``kinds`` are those of ``refine``'s arguments
    after the queryset, as for ``CompiledQuery``.
    """

    def __init__(
        self,
        base: Callable[[], QuerySet[M]],
        refine: Callable[..., QuerySet[M]],
        *kinds: type,
        team_field: str = "team",
    ) -> None:
        self._every: CompiledQuery[M] = CompiledQuery(lambda *args: refine(base(), *args), *kinds)
        self._scoped: CompiledQuery[M] = CompiledQuery(
            lambda *args: refine(base().filter(**{f"{team_field}__any": args[-1]}), *args[:-1]), *kinds, list
        )

    def all(self, user: Any, *args: Any) -> list[M]:
        statement = self.statement(user, *args)
        return [] if statement is None else list(run_together([statement])[0])

    def statement(self, user: Any, *args: Any) -> Statement | None:
        """The statement of ``all(user, *args)``, to run with others (``run_together``, ``run_each``); None
        when it would read nothing (a person of no team)."""
        if user is not None and user.is_authenticated and user.is_staff:
            return self._every.statement(*args)
        teams = team_ids_for(user)
        return self._scoped.statement(*args, teams) if teams else None

    def one(self, user: Any, *args: Any) -> M | None:
        rows = self.all(user, *args)
        if len(rows) > 1:
            model: Any = self._every.model()
            raise model.MultipleObjectsReturned(f"{len(rows)} rows for a look-up expected to be unique")
        return rows[0] if rows else None


def is_instrument_token(request: Any) -> bool:
    auth = getattr(request, "auth", None)
    return getattr(auth, "scope", None) == TokenScope.INSTRUMENT


class LimsPermission(permissions.BasePermission):
    """Authenticated; instrument tokens only where a view allows them; writes need the researcher role somewhere."""

    message = "You do not have permission for this action."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if is_instrument_token(request) and not getattr(view, "allow_instrument_token", False):
            self.message = "An instrument token may only create uploads and read their status."
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        if user.is_staff:
            return True
        return bool(team_ids_for(user, Role.RESEARCHER)) or is_instrument_token(request)

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        team_id = _team_id_of(obj)
        if team_id is None:  # shared inventory
            return True
        if request.method in permissions.SAFE_METHODS:
            return has_role(request.user, team_id, Role.VIEWER)
        minimum = Role.MANAGER if request.method == "DELETE" else Role.RESEARCHER
        return has_role(request.user, team_id, minimum)


class OwnRecordsPermission(permissions.BasePermission):
    """For a person's own records (their API tokens): any signed-in person, whatever their roles, may create and
    revoke their own (a viewer's token reads what the viewer reads); an instrument token may not. The views keep
    to the requester's own rows (their querysets), so there is no object check beyond that."""

    message = "You do not have permission for this action."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if is_instrument_token(request) or getattr(user, "is_instrument", False):
            self.message = "An instrument may only create uploads and read their status."
            return False
        return True


def _team_id_of(obj: Any) -> int | None:
    return getattr(obj, "team_id", None)
