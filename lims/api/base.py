"""Base API views shared by every app: team scoping and the permission rules in one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers, viewsets
from rest_framework.exceptions import PermissionDenied

from lims.api.concurrency import OptimisticConcurrencyMixin
from lims.compiled import CompiledQuery, attach_children
from lims.models import Role, Team
from lims.permissions import (
    LimsPermission,
    ScopedQuery,
    has_role,
    is_instrument_token,
    scope_to_teams,
    team_ids_for,
)

#: switched off by the equivalence test (tests/test_compiled_detail.py), to compare with the ORM's own look-up
COMPILED_DETAILS = True


class TeamField(serializers.PrimaryKeyRelatedField):
    """The owning team; optional when the user belongs to exactly one team with the researcher role."""

    def get_queryset(self) -> QuerySet[Team]:
        return Team.objects.all()


def resolve_team(user: Any, team: Team | None) -> Team:
    """The team a new record belongs to: the one given (checked) or the user's only writable team."""
    if team is not None:
        if not has_role(user, team.id, Role.RESEARCHER):
            raise PermissionDenied(f"You need the researcher role in team '{team}' to create records there.")
        return team
    writable = team_ids_for(user, Role.RESEARCHER)
    if len(writable) == 1:
        return Team.objects.get(pk=writable[0])
    raise serializers.ValidationError({"team": "Choose the team this record belongs to."})


class CompiledDetailMixin:
    """The GET of one record read through a query compiled once per process (lims/compiled.py).

    DRF's ``get_object`` builds the view's queryset and Django compiles it to SQL on every request: on the upload
    status that instruments poll, about a third of the request. A viewset sets ``compiled_detail`` to a
    ``lims.permissions.ScopedQuery`` of the key that reads the same row as its ``retrieve`` queryset (scoped to
    the requester's teams as ``scope_to_teams`` scopes it), and optionally
    ``compiled_detail_children``, the ``retrieve`` queryset's prefetches as compiled queries of the record's id by
    related name (held as prefetched: ``lims.compiled.attach_children``). Anything else goes through DRF's
    own ``get_object``, unchanged: another action, staff, an instrument token or an instrument's account, a key
    that is not a plain number, and a miss (so that a 404 is DRF's). The object permissions are checked as DRF checks them. Put the mixin
    after ``OptimisticConcurrencyMixin``, whose ETag and If-Match handling wrap this ``get_object``.
    """

    compiled_detail: ScopedQuery[Any] | None = None
    compiled_detail_children: Mapping[str, CompiledQuery[Any]] = {}

    def get_object(self) -> Any:
        compiled = self.compiled_detail
        request = self.request  # type: ignore[attr-defined]
        user = request.user
        key = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)  # type: ignore[attr-defined]
        if (
            not COMPILED_DETAILS
            or compiled is None
            or getattr(self, "action", None) != "retrieve"
            or self.lookup_field != "pk"  # type: ignore[attr-defined]
            or not (user and user.is_authenticated)
            or user.is_staff
            or is_instrument_token(request)
            # an instrument's service account sees the uploads it made, not a team's
            or getattr(user, "is_instrument", False)
            or not isinstance(key, str)
            or not key.isascii()
            or not key.isdigit()
            or len(key) > 18  # a bigint
        ):
            return super().get_object()  # type: ignore[misc]
        obj = compiled.one(user, int(key))
        if obj is None:
            return super().get_object()  # type: ignore[misc]
        for related_name, children in self.compiled_detail_children.items():
            attach_children(obj, related_name, children.all(obj.pk))
        self.check_object_permissions(request, obj)  # type: ignore[attr-defined]
        return obj


class TeamScopedViewSet(OptimisticConcurrencyMixin, CompiledDetailMixin, viewsets.ModelViewSet):
    """A model viewset whose queryset holds only the records of the user's teams (ETag / If-Match on one record)."""

    permission_classes = [LimsPermission]
    team_field = "team"

    def get_queryset(self) -> QuerySet[Any]:
        return scope_to_teams(super().get_queryset(), self.request.user, self.team_field)
