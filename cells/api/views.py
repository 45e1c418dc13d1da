"""Cells API: thin views that parse input, call cells.services / cells.selectors and serialise the result."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cells import selectors, services
from cells.api.serializers import (
    BulkAssembleSerializer,
    CellAssembleSerializer,
    CellDetailSerializer,
    CellSerializer,
    CellUpdateSerializer,
    ComponentSerializer,
    DeleteInputSerializer,
    GraphSerializer,
    PostmortemInputSerializer,
    StateChangeInputSerializer,
    StateChangeSerializer,
)
from cells.filters import CellFilter
from cells.models import Cell
from lims.api.base import TeamScopedViewSet, resolve_team
from lims.api.parsers import JSONParser
from lims.api.rows import HotDetail, HotList, HotReadsMixin, RowPlan
from lims.permissions import LimsPermission, ScopedQuery


class CellViewSet(HotReadsMixin, TeamScopedViewSet):
    """Cells: list and filter, assemble (one or many), edit, change state, post-mortem, provenance."""

    queryset = Cell.objects.none()
    serializer_class = CellSerializer
    filterset_class = CellFilter
    search_fields = ["code", "notes"]
    ordering_fields = ["assembled_at", "code", "state", "state_changed_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    compiled_detail = ScopedQuery(selectors.cell_api_rows, lambda qs, pk: qs.filter(pk=pk), int)
    compiled_detail_children = selectors.CELL_API_CHILDREN
    #: a person's GET of the list and of one cell, from rows (lims/api/rows.py)
    hot_list = HotList(selectors.cell_api_rows, RowPlan(CellSerializer))
    hot_detail = HotDetail(
        selectors.cell_api_rows,
        RowPlan(CellDetailSerializer, children=("components", "state_changes"), extra=("updated_at",)),
        children={
            "components": (selectors.api_components, "cell_id", RowPlan(ComponentSerializer)),
            "state_changes": (selectors.api_state_changes, "cell_id", RowPlan(StateChangeSerializer)),
        },
        etag=True,
    )

    def get_queryset(self) -> QuerySet[Cell]:
        if getattr(self, "swagger_fake_view", False):
            return Cell.objects.none()
        if self.action in ("retrieve", "by_code"):
            return selectors.cell_detail_for_api(user=self.request.user)
        if self.action == "list":
            return selectors.cell_rows_for_api(user=self.request.user)
        return selectors.cell_list(user=self.request.user)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        classes: dict[str, type[serializers.BaseSerializer]] = {
            "retrieve": CellDetailSerializer,
            "by_code": CellDetailSerializer,
            "create": CellAssembleSerializer,
            "partial_update": CellUpdateSerializer,
            "bulk_assemble": BulkAssembleSerializer,
            "state": StateChangeInputSerializer,
            "postmortem": PostmortemInputSerializer,
        }
        return classes.get(self.action or "", CellSerializer)

    def _detail(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        cell = selectors.cell_detail_for_api(user=self.request.user).get(pk=pk)
        return Response(CellDetailSerializer(cell, context=self.get_serializer_context()).data, status=code)

    @extend_schema(request=CellAssembleSerializer, responses={201: CellDetailSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = CellAssembleSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        team = resolve_team(request.user, data.validated_data.get("team"))
        cell = services.assemble_cell(
            team=team, actor=request.user, spec=data.to_spec(), code=data.validated_data.get("code", "")
        )
        return self._detail(cell.pk, status.HTTP_201_CREATED)

    @extend_schema(request=CellUpdateSerializer, responses=CellDetailSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        cell = self.get_object()
        data = CellUpdateSerializer(data=request.data, partial=False)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        version = changes.pop("version")
        services.update_cell(cell=cell, actor=request.user, version=version, **changes)
        return self._detail(cell.pk)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not kwargs.get("partial"):
            return self.http_method_not_allowed(request, *args, **kwargs)
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(request=DeleteInputSerializer, responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        cell = self.get_object()
        data = DeleteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.delete_cell(cell=cell, actor=request.user, reason=data.validated_data["reason"])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=StateChangeInputSerializer, responses=CellDetailSerializer)
    @action(detail=True, methods=["post"])
    def state(self, request: Request, pk: str | None = None) -> Response:
        """Move the cell to another state (assembled -> on test -> finished | shorted | failed -> disassembled)."""
        cell = self.get_object()
        data = StateChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.change_state(
            cell=cell,
            to_state=data.validated_data["to_state"],
            actor=request.user,
            reason=data.validated_data.get("reason", ""),
            version=data.validated_data.get("version"),
        )
        return self._detail(cell.pk)

    @extend_schema(request=PostmortemInputSerializer, responses=CellDetailSerializer)
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser, JSONParser])
    def postmortem(self, request: Request, pk: str | None = None) -> Response:
        """Record the post-mortem of a disassembled cell: notes, dendrites/delamination, SEM or photo files."""
        cell = self.get_object()
        data = PostmortemInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        files = [services.PostmortemFile(file=f, kind=d["file_kind"], caption=f.name) for f in d["files"]]
        services.record_postmortem(
            cell=cell,
            actor=request.user,
            notes=d.get("notes", ""),
            dendrites_observed=d.get("dendrites_observed"),
            delamination_observed=d.get("delamination_observed"),
            files=files,
            version=d.get("version"),
        )
        return self._detail(cell.pk)

    @extend_schema(request=BulkAssembleSerializer, responses={201: CellSerializer(many=True)})
    @action(detail=False, methods=["post"], url_path="bulk-assemble")
    def bulk_assemble(self, request: Request) -> Response:
        """Build N identical cells from one membrane in one transaction (all or none)."""
        data = BulkAssembleSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        team = resolve_team(request.user, data.validated_data.get("team"))
        cells = services.bulk_assemble(
            team=team,
            actor=request.user,
            spec=data.to_spec(),
            count=data.validated_data["count"],
            code_base=data.validated_data.get("code_base", ""),
            cathodes=data.validated_data.get("cathodes", []),
        )
        rows = selectors.cell_list(user=request.user).filter(pk__in=[c.pk for c in cells]).order_by("code")
        return Response(CellSerializer(rows, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=GraphSerializer)
    @action(detail=True, methods=["get"])
    def provenance(self, request: Request, pk: str | None = None) -> Response:
        """What this cell was made of, up to the lots and suppliers: {"nodes": [...], "edges": [...]}."""
        cell = self.get_object()
        graph = selectors.provenance_up(cells=[cell.pk], team_ids=selectors.visible_team_ids(request.user))
        return Response(graph)

    @extend_schema(responses=CellDetailSerializer)
    @action(detail=False, methods=["get"], url_path=r"by-code/(?P<code>[^/]+)")
    def by_code(self, request: Request, code: str) -> Response:
        """Find a cell by its code (what a barcode scanner types)."""
        cell = get_object_or_404(self.get_queryset(), code__iexact=code.strip())
        return Response(CellDetailSerializer(cell, context=self.get_serializer_context()).data)


def _ids(request: Request, name: str) -> list[int]:
    values = request.query_params.getlist(name)
    try:
        return [int(v) for value in values for v in value.split(",") if v.strip()]
    except ValueError:
        raise ValidationError({name: "expected record ids (numbers)"}) from None


#: a record's key is a bigint: an id outside this range names no record (and SQLite cannot even bind it)
_KEYS = range(-(2**63), 2**63)


def _held(ids: list[int]) -> list[int]:
    """The ids a record can have (the others match nothing, as ``__any`` leaves them out)."""
    return [i for i in ids if i in _KEYS]


_ID_PARAMS = [
    OpenApiParameter(name, OpenApiTypes.INT, many=True, description=f"{name} id(s)")
    for name in ("lot", "batch", "membrane", "pellet", "electrode")
]


class WhereUsedView(APIView):
    """Everything made from a lot, batch, membrane, pellet or electrode ("which cells used LiFSI lot X")."""

    permission_classes = [LimsPermission]

    @extend_schema(parameters=_ID_PARAMS, responses=GraphSerializer)
    def get(self, request: Request) -> Response:
        args = {
            "lots": _ids(request, "lot"),
            "batches": _ids(request, "batch"),
            "membranes": _ids(request, "membrane"),
            "pellets": _ids(request, "pellet"),
            "electrodes": _ids(request, "electrode"),
        }
        if not any(args.values()):
            raise ValidationError({"detail": "Give a lot, batch, membrane, pellet or electrode id"})
        held = {key: _held(ids) for key, ids in args.items()}
        graph = selectors.where_used(**held, team_ids=selectors.visible_team_ids(request.user))
        return Response(graph)


class LineageView(APIView):
    """What cells, measurements or derived properties were made from, up to the lots and suppliers."""

    permission_classes = [LimsPermission]

    @extend_schema(
        parameters=[
            OpenApiParameter(name, OpenApiTypes.INT, many=True, description=f"{name} id(s)")
            for name in ("cell", "measurement", "derived_property")
        ],
        responses=GraphSerializer,
    )
    def get(self, request: Request) -> Response:
        args = {
            "cells": _ids(request, "cell"),
            "measurements": _ids(request, "measurement"),
            "derived": _ids(request, "derived_property"),
        }
        if not any(args.values()):
            raise ValidationError({"detail": "Give a cell, measurement or derived_property id"})
        graph = selectors.provenance_up(
            cells=_held(args["cells"]),
            measurements=_held(args["measurements"]),
            derived=_held(args["derived"]),
            team_ids=selectors.visible_team_ids(request.user),
        )
        return Response(graph)
