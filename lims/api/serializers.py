from __future__ import annotations

from typing import Any

from rest_framework import serializers

from lims.api.representation import CompiledRepresentation
from lims.models import ApiToken, Membership, Team, User


class MembershipSerializer(CompiledRepresentation, serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["team", "team_name", "role"]


class MeSerializer(CompiledRepresentation, serializers.ModelSerializer):
    memberships = MembershipSerializer(many=True, read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "email", "is_staff", "memberships"]


class TeamSerializer(CompiledRepresentation, serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "slug", "description"]


class ApiTokenSerializer(serializers.ModelSerializer):
    key = serializers.SerializerMethodField(help_text="the clear key: shown once, in the creation response")

    class Meta:
        model = ApiToken
        fields = ["id", "name", "key_prefix", "scope", "created_at", "last_used_at", "revoked_at", "key"]
        read_only_fields = ["key_prefix", "scope", "created_at", "last_used_at", "revoked_at"]

    def get_key(self, obj: Any) -> str | None:
        return getattr(obj, "_clear_key", None)
