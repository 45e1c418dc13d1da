"""API of the derived part: derived properties (filterable, cursor-paginated, CSV), series, the comparison."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lims.api.base import TeamScopedViewSet, resolve_team
from lims.api.filters import DjangoFilterBackend
from lims.api.pagination import NewestFirstCursorPagination
from lims.api.rows import HotFilter, HotList, HotReadsMixin, RowPlan, plain_text
from lims.models import Role
from lims.permissions import LimsPermission, has_role
from lims.plans import GenericPlansMixin
from measurements import selectors_derived as sel
from measurements import tasks_derived
from measurements.api.derived_serializers import (
    ComparisonSerializer,
    ComputeQueuedSerializer,
    DerivedPropertySerializer,
    MeasurementSeriesSerializer,
    SeriesMemberInputSerializer,
)
from measurements.filters_derived import DerivedPropertyFilter, MeasurementSeriesFilter
from measurements.models import DerivedProperty, MeasurementSeries
from measurements.services import derive


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(rows: Iterable[list[Any]], filename: str) -> StreamingHttpResponse:
    """A streamed CSV download (shared by the API and the pages)."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class DerivedPropertyViewSet(GenericPlansMixin, HotReadsMixin, viewsets.ReadOnlyModelViewSet):
    """Derived properties of your teams' cells and samples. Filter by name, cell, recipe, filler wt%, temperature."""

    # the list (cursor on -id) by name: (team, name, -id) serves any name
    generic_plan_filters = {"list": ("name",)}

    serializer_class = DerivedPropertySerializer
    permission_classes = [LimsPermission]
    queryset = DerivedProperty.objects.none()
    filter_backends = [DjangoFilterBackend]
    filterset_class = DerivedPropertyFilter
    pagination_class = NewestFirstCursorPagination
    #: a person's GET of the list, by name, from rows (lims/api/rows.py); on generic plans as above
    hot_list = HotList(
        sel.derived_api_rows,
        RowPlan(DerivedPropertySerializer),
        filters={"name": HotFilter(str, plain_text, lambda qs, v: qs.filter(name=v))},
    )

    def get_queryset(self) -> QuerySet[DerivedProperty]:
        if getattr(self, "swagger_fake_view", False):
            return DerivedProperty.objects.none()
        if self.action == "list":
            return sel.derived_rows_for_api(self.request.user)
        return sel.derived_properties(self.request.user)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=False, methods=["get"], url_path="export")
    def export(self, request: Request) -> StreamingHttpResponse:
        """The filtered derived properties as CSV (one row each, inputs as JSON)."""
        qs = self.filter_queryset(self.get_queryset()).order_by("id")
        return csv_response(_with_header(sel.csv_rows(qs)), "derived-properties.csv")


def _with_header(rows: Iterable[list[Any]]) -> Iterator[list[Any]]:
    yield sel.CSV_HEADER
    yield from rows


class MeasurementSeriesViewSet(TeamScopedViewSet):
    """Measurement series (EIS at several temperatures, EIS-CA-EIS) and their members; compute with POST .../compute/."""

    serializer_class = MeasurementSeriesSerializer
    queryset = (
        MeasurementSeries.objects.select_related("cell")
        .prefetch_related("memberships__measurement", "derived_properties")
        .order_by("-created_at", "-id")
    )
    filterset_class = MeasurementSeriesFilter
    filter_backends = [DjangoFilterBackend]

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        team = resolve_team(self.request.user, data.get("team"))
        serializer.instance = derive.create_series(
            team=team,
            name=data["name"],
            kind=data["kind"],
            cell=data.get("cell"),
            notes=data.get("notes", ""),
            created_by=self.request.user,
        )

    def perform_update(self, serializer: Any) -> None:
        changes = {
            k: v for k, v in serializer.validated_data.items() if k in ("name", "kind", "cell", "notes")
        }
        serializer.instance = derive.update_series(series=serializer.instance, **changes)

    def perform_destroy(self, instance: MeasurementSeries) -> None:
        derive.delete_series(series=instance)

    @extend_schema(request=SeriesMemberInputSerializer, responses={201: MeasurementSeriesSerializer})
    @action(detail=True, methods=["post"])
    def members(self, request: Request, pk: str | None = None) -> Response:
        """Add a measurement to the series (role eis_before / ca / eis_after for a transference series)."""
        series = self.get_object()
        payload = SeriesMemberInputSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        derive.add_series_member(
            series=series,
            measurement=payload.validated_data["measurement"],
            role=payload.validated_data.get("role", ""),
            order=payload.validated_data.get("order"),
        )
        fresh = self.get_queryset().get(pk=series.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description="removed")},
        parameters=[OpenApiParameter("measurement_id", int, OpenApiParameter.PATH)],
    )
    @action(detail=True, methods=["delete"], url_path=r"members/(?P<measurement_id>\d+)")
    def remove_member(self, request: Request, pk: str | None = None, measurement_id: str = "") -> Response:
        # removing a member edits the series: the researcher role suffices (DELETE of a record needs a manager)
        series = get_object_or_404(self.get_queryset(), pk=pk)
        if not has_role(request.user, series.team_id, Role.RESEARCHER):
            raise PermissionDenied("You need the researcher role in this team to change the series.")
        derive.remove_series_member(series=series, measurement_id=int(measurement_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: ComputeQueuedSerializer})
    @action(detail=True, methods=["post"])
    def compute(self, request: Request, pk: str | None = None) -> Response:
        """(Re)compute the series' derived properties in the worker (Arrhenius fit, transference number)."""
        series = self.get_object()
        tasks_derived.enqueue_analyse_series(series.pk, request.user.pk)
        return Response({"status": "queued", "series": series.pk}, status=status.HTTP_202_ACCEPTED)


class ComparisonView(APIView):
    """Electrolytes side by side: conductivity at 20 °C, Ea, t+, CCD, window, Li|Li life, full-cell retention."""

    permission_classes = [LimsPermission]

    @extend_schema(responses=ComparisonSerializer)
    def get(self, request: Request) -> Response:
        rows = sel.comparison_table(request.user)
        return Response(ComparisonSerializer({"metrics": sel.COMPARISON_METRICS, "rows": rows}).data)
