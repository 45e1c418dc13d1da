"""Base API views shared by every app: team scoping and the permission rules in one place."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers, viewsets
from rest_framework.exceptions import PermissionDenied

from lims.api.concurrency import OptimisticConcurrencyMixin
from lims.models import Role, Team
from lims.permissions import LimsPermission, has_role, scope_to_teams, team_ids_for


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


class TeamScopedViewSet(OptimisticConcurrencyMixin, viewsets.ModelViewSet):
    """A model viewset whose queryset holds only the records of the user's teams (ETag / If-Match on one record)."""

    permission_classes = [LimsPermission]
    team_field = "team"

    def get_queryset(self) -> QuerySet[Any]:
        return scope_to_teams(super().get_queryset(), self.request.user, self.team_field)
