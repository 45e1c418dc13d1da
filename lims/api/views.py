from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lims.api.serializers import ApiTokenSerializer, MeSerializer, TeamSerializer
from lims.models import ApiToken, Team
from lims.permissions import LimsPermission, OwnRecordsPermission, teams_for


class MeView(APIView):
    permission_classes = [LimsPermission]

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)


class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TeamSerializer
    permission_classes = [LimsPermission]
    queryset = Team.objects.none()

    def get_queryset(self) -> QuerySet[Team]:
        return teams_for(self.request.user)


class ApiTokenViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Your personal API tokens. The key is returned once, when the token is created; revoke with POST .../revoke/.
    Anyone signed in may hold tokens: a token does what its person may do (a viewer's reads)."""

    serializer_class = ApiTokenSerializer
    permission_classes = [OwnRecordsPermission]
    queryset = ApiToken.objects.none()

    def get_queryset(self) -> QuerySet[ApiToken]:
        if getattr(self, "swagger_fake_view", False) or not self.request.user.is_authenticated:
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user).order_by("-created_at")

    def perform_create(self, serializer: Any) -> None:
        token, key = ApiToken.issue(user=self.request.user, name=serializer.validated_data["name"])
        token._clear_key = key  # type: ignore[attr-defined]
        serializer.instance = token

    @extend_schema(request=None, responses=ApiTokenSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        token = self.get_object()
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
        return Response(ApiTokenSerializer(token).data)


class UnitParseView(APIView):
    """Parse a quantity as a field would: ?text=5 mL&dimension=mass&unit=g -> the normalised value or the error."""

    permission_classes = [LimsPermission]

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        from lims.units import DIMENSIONS, UnitError, parse_quantity

        dimension = request.query_params.get("dimension", "")
        unit = request.query_params.get("unit", "")
        if dimension not in DIMENSIONS:
            return Response({"ok": False, "error": f"unknown dimension {dimension!r}"}, status=400)
        try:
            parsed = parse_quantity(
                request.query_params.get("text", ""),
                dimension=dimension,
                unit=unit or DIMENSIONS[dimension][0],
                allow_negative=dimension == "temperature",
            )
        except UnitError as exc:
            return Response({"ok": False, "error": str(exc)})
        except Exception:
            return Response({"ok": False, "error": f"unknown unit {unit!r}"}, status=400)
        return Response({"ok": True, "magnitude": parsed.magnitude, "unit": parsed.unit})
