"""Inventory API: thin views that parse input, call formulations.services.inventory and serialise the result.

Shared inventory: every authenticated person reads; researchers (of any team) write; refused stock movements
answer 409 with the reason (not enough on hand, expired or quarantined lot without a manager's override...).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from formulations import selectors_inventory as selectors
from formulations.api import inventory_serializers as s
from formulations.csv_import import CsvImportError, receive_delivery
from formulations.filters_inventory import (
    ChemicalFilter,
    StockLotFilter,
    StockTransactionFilter,
    StorageLocationFilter,
    SupplierFilter,
)
from formulations.models import Chemical, LotStatus, StockLot, StockTransaction, StorageLocation, Supplier
from formulations.services import inventory as services
from lims.api.concurrency import OptimisticConcurrencyMixin
from lims.api.pagination import NewestFirstCursorPagination
from lims.api.rows import HotFilter, HotList, HotReadsMixin, RowPlan, one_of
from lims.errors import DomainError
from lims.permissions import LimsPermission

_REFUSED = OpenApiResponse(
    description="refused: the error envelope with the reason (e.g. not enough on hand)"
)


class ChemicalViewSet(OptimisticConcurrencyMixin, viewsets.ModelViewSet):
    """Chemicals (shared inventory). ``?q=`` finds a name, abbreviation, synonym or CAS number."""

    serializer_class = s.ChemicalSerializer
    permission_classes = [LimsPermission]
    queryset = Chemical.objects.none()
    filterset_class = ChemicalFilter
    ordering_fields = ["name", "role", "created_at"]

    def get_queryset(self) -> QuerySet[Chemical]:
        return selectors.chemical_list().order_by("name")

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        synonyms = data.pop("synonyms", None)
        serializer.instance = services.create_chemical(actor=self.request.user, synonyms=synonyms, **data)

    def perform_update(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        synonyms = data.pop("synonyms", None)
        serializer.instance = services.update_chemical(
            chemical=serializer.instance, actor=self.request.user, synonyms=synonyms, **data
        )

    def perform_destroy(self, instance: Chemical) -> None:
        services.delete_chemical(chemical=instance, actor=self.request.user)


class SupplierViewSet(OptimisticConcurrencyMixin, viewsets.ModelViewSet):
    serializer_class = s.SupplierSerializer
    permission_classes = [LimsPermission]
    queryset = Supplier.objects.none()
    filterset_class = SupplierFilter

    def get_queryset(self) -> QuerySet[Supplier]:
        return Supplier.objects.order_by("name")

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.save_supplier(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.save_supplier(
            actor=self.request.user, supplier=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: Supplier) -> None:
        services.delete_record(record=instance, actor=self.request.user)


class StorageLocationViewSet(OptimisticConcurrencyMixin, viewsets.ModelViewSet):
    """Storage places as a tree (building > room > glovebox/fridge/cabinet > shelf)."""

    serializer_class = s.StorageLocationSerializer
    permission_classes = [LimsPermission]
    queryset = StorageLocation.objects.none()
    filterset_class = StorageLocationFilter

    def get_queryset(self) -> QuerySet[StorageLocation]:
        return StorageLocation.objects.select_related("parent__parent__parent").order_by("name")

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.save_location(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.save_location(
            actor=self.request.user, location=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: StorageLocation) -> None:
        services.delete_record(record=instance, actor=self.request.user)

    @extend_schema(responses=s.StockLotSerializer(many=True))
    @action(detail=True, methods=["get"])
    def lots(self, request: Request, pk: str | None = None) -> Response:
        """What is stored in this place and in the places inside it."""
        location = self.get_object()
        page = self.paginate_queryset(selectors.lots_in_location(location))
        return self.get_paginated_response(s.StockLotSerializer(page, many=True).data)


class StockLotViewSet(
    HotReadsMixin,
    OptimisticConcurrencyMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Stock lots. POST creates a lot by receiving it; the quantity changes only through the actions
    (consume, return, adjust, dispose), each writing one ledger row under a row lock. GET of one lot returns an
    ETag; a PATCH that sends it back in If-Match is refused with 409 when someone else changed the lot meanwhile."""

    permission_classes = [LimsPermission]
    queryset = StockLot.objects.none()
    filterset_class = StockLotFilter
    ordering_fields = ["code", "received_on", "expires_on", "quantity_on_hand"]
    #: a person's GET of the lots (shared inventory: no team scope), by status, from rows (lims/api/rows.py)
    hot_list = HotList(
        lambda: selectors.lot_list().order_by("-received_on", "code"),
        RowPlan(s.StockLotSerializer),
        filters={"status": HotFilter(str, one_of(LotStatus.values), lambda qs, v: qs.filter(status=v))},
        team_field=None,
    )

    def get_queryset(self) -> QuerySet[StockLot]:
        return selectors.lot_list().order_by("-received_on", "code")

    def get_serializer_class(self) -> Any:
        if self.action in ("update", "partial_update"):
            return s.StockLotUpdateSerializer
        return s.StockLotSerializer

    @extend_schema(request=s.StockLotReceiveSerializer, responses={201: s.StockLotSerializer, 400: _REFUSED})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Receive a lot (the first ledger row is its ``receive``)."""
        data = s.StockLotReceiveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        lot = services.receive_lot(
            chemical=fields.pop("chemical"), quantity=fields.pop("quantity"), actor=request.user, **fields
        )
        return Response(
            s.StockLotSerializer(selectors.lot_detail(lot.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=s.StockLotUpdateSerializer, responses=s.StockLotSerializer)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        lot = self.get_object()
        data = s.StockLotUpdateSerializer(lot, data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        reason = fields.pop("reason", "")
        services.update_lot(lot=lot, actor=request.user, reason=reason, **fields)
        return Response(s.StockLotSerializer(selectors.lot_detail(lot.pk)).data)

    @extend_schema(request=s.StockLotUpdateSerializer, responses=s.StockLotSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        kwargs["partial"] = True
        return self.update(request, *args, **kwargs)

    def _entry(self, tx: StockTransaction) -> Response:
        body = {"transaction": tx, "lot": selectors.lot_detail(tx.lot_id)}
        return Response(s.LedgerEntrySerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ConsumeSerializer, responses={201: s.LedgerEntrySerializer, 409: _REFUSED})
    @action(detail=True, methods=["post"])
    def consume(self, request: Request, pk: str | None = None) -> Response:
        """Take an amount out ("5 mL" from a lot kept in g converts through the density)."""
        lot = self.get_object()
        data = s.ConsumeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._entry(services.consume_from_lot(lot=lot, actor=request.user, **data.validated_data))

    @extend_schema(request=s.ReturnSerializer, responses={201: s.LedgerEntrySerializer, 409: _REFUSED})
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request: Request, pk: str | None = None) -> Response:
        """Put unused material back."""
        lot = self.get_object()
        data = s.ReturnSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._entry(services.return_to_lot(lot=lot, actor=request.user, **data.validated_data))

    @extend_schema(request=s.AdjustSerializer, responses={201: s.LedgerEntrySerializer, 409: _REFUSED})
    @action(detail=True, methods=["post"])
    def adjust(self, request: Request, pk: str | None = None) -> Response:
        """Set the on-hand quantity to what a stock count found."""
        lot = self.get_object()
        data = s.AdjustSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._entry(services.adjust_lot(lot=lot, actor=request.user, **data.validated_data))

    @extend_schema(request=s.ReasonSerializer, responses={201: s.LedgerEntrySerializer, 409: _REFUSED})
    @action(detail=True, methods=["post"])
    def dispose(self, request: Request, pk: str | None = None) -> Response:
        """Dispose of whatever is left; the lot is never offered again."""
        lot = self.get_object()
        data = s.ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._entry(services.dispose_lot(lot=lot, actor=request.user, **data.validated_data))

    @extend_schema(request=s.ReasonSerializer, responses={200: s.StockLotSerializer, 409: _REFUSED})
    @action(detail=True, methods=["post"])
    def quarantine(self, request: Request, pk: str | None = None) -> Response:
        lot = self.get_object()
        data = s.ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.quarantine_lot(lot=lot, actor=request.user, **data.validated_data)
        return Response(s.StockLotSerializer(selectors.lot_detail(lot.pk)).data)

    @extend_schema(request=s.ReasonSerializer, responses={200: s.StockLotSerializer, 409: _REFUSED})
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk: str | None = None) -> Response:
        """Release a quarantined lot (managers only)."""
        lot = self.get_object()
        data = s.ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.release_lot(lot=lot, actor=request.user, **data.validated_data)
        return Response(s.StockLotSerializer(selectors.lot_detail(lot.pk)).data)

    @extend_schema(
        parameters=[OpenApiParameter("amount", str, description='e.g. "5 mL"', required=True)],
        responses=s.ConversionSerializer,
    )
    @action(detail=True, methods=["get"])
    def convert(self, request: Request, pk: str | None = None) -> Response:
        """Preview an amount in this lot's unit (what a consume would take), without changing anything."""
        lot = self.get_object()
        try:
            amount = services.amount_in_lot_unit(
                chemical=lot.chemical,
                lot_unit=lot.quantity_unit,
                amount=request.query_params.get("amount", ""),
            )
        except DomainError as exc:
            return Response(s.ConversionSerializer({"ok": False, "error": str(exc)}).data)
        body = {
            "ok": True,
            "magnitude": amount.value,
            "unit": lot.quantity_unit,
            "on_hand": lot.quantity_on_hand,
        }
        return Response(s.ConversionSerializer(body).data)

    @extend_schema(responses=s.StockTransactionSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=NewestFirstCursorPagination)
    def transactions(self, request: Request, pk: str | None = None) -> Response:
        """This lot's ledger, newest first (cursor pagination)."""
        lot = self.get_object()
        page = self.paginate_queryset(selectors.ledger_rows_for_api().filter(lot=lot))
        rows = selectors.ledger_as_seen_by(page or [], request.user)
        return self.get_paginated_response(s.StockTransactionSerializer(rows, many=True).data)

    @extend_schema(
        responses={200: s.StockLotSerializer, 404: OpenApiResponse(description="no lot has this code")}
    )
    @action(detail=False, methods=["get"], url_path=r"code/(?P<code>[^/]+)", url_name="by-code")
    def by_code(self, request: Request, code: str = "") -> Response:
        """The lot a scanned label names (what a barcode scanner types)."""
        lot = selectors.lot_by_code(code)
        if lot is None:
            raise Http404(f"No lot has the code {code.strip().upper()!r}")
        return Response(s.StockLotSerializer(lot).data)

    @extend_schema(
        request={"multipart/form-data": s.BulkReceiveSerializer},
        responses={201: s.BulkReceiveResultSerializer, 400: _REFUSED},
    )
    @action(
        detail=False, methods=["post"], url_path="bulk-receive", parser_classes=[MultiPartParser, FormParser]
    )
    def bulk_receive(self, request: Request) -> Response:
        """Receive a supplier delivery from a CSV file: every row or none; errors listed per row and column."""
        data = s.BulkReceiveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        raw = data.validated_data["file"].read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        try:
            lots = receive_delivery(
                text=text, actor=request.user, default_supplier=data.validated_data.get("supplier")
            )
        except CsvImportError as exc:
            rows = [{"row": e.row, "column": e.column, "message": e.message} for e in exc.errors]
            envelope = {"status": 400, "code": "invalid", "message": str(exc), "fields": {"rows": rows}}
            return Response({"error": envelope}, status=status.HTTP_400_BAD_REQUEST)
        received = list(selectors.lot_list().filter(pk__in=[lot.pk for lot in lots]).order_by("code"))
        return Response(
            s.BulkReceiveResultSerializer({"received": received}).data, status=status.HTTP_201_CREATED
        )


class StockTransactionViewSet(HotReadsMixin, viewsets.ReadOnlyModelViewSet):
    """The ledger: append-only, read-only here, newest first with cursor pagination."""

    serializer_class = s.StockTransactionSerializer
    permission_classes = [LimsPermission]
    queryset = StockTransaction.objects.none()
    filterset_class = StockTransactionFilter
    pagination_class = NewestFirstCursorPagination
    ordering_fields: list[str] = []
    #: a person's GET of the ledger (newest first), from rows, with other teams' draws hidden as below
    hot_list = HotList(
        selectors.ledger_rows_for_api,
        RowPlan(s.StockTransactionSerializer, extra=("for_team_id",)),
        team_field=None,
        adjust=lambda rows, requester, plan: selectors.hide_draws_in_rows(rows, requester[1], plan.index),
    )

    def get_queryset(self) -> QuerySet[StockTransaction]:
        return selectors.ledger_rows_for_api()

    def paginate_queryset(self, queryset: Any) -> list[Any] | None:
        page = super().paginate_queryset(queryset)
        return None if page is None else selectors.ledger_as_seen_by(page, self.request.user)

    def get_object(self) -> StockTransaction:
        (row,) = selectors.ledger_as_seen_by([super().get_object()], self.request.user)
        return row
