"""Ingest API: uploads (instruments and people), instruments and their tokens, measurements and their data.

Instrument tokens may only create uploads and read the status of their own uploads: ``allow_instrument_token``
is true for exactly those actions (``create``, ``list``, ``retrieve`` of uploads) and the queryset holds only
the instrument's own uploads.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.core.files.storage import default_storage
from django.core.files.uploadhandler import FileUploadHandler
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from lims.api.base import CompiledDetailMixin, resolve_team
from lims.api.concurrency import OptimisticConcurrencyMixin
from lims.api.filters import DjangoFilterBackend, OrderingFilter
from lims.api.parsers import JSONParser
from lims.api.rows import HotDetail, HotFilter, HotList, HotReadsMixin, RowPlan, plain_int
from lims.models import ApiToken, Role
from lims.permissions import LimsPermission, ScopedQuery, has_role, is_instrument_token
from measurements import selectors_ingest as selectors
from measurements import storage
from measurements.api.ingest_serializers import (
    CycleSummarySerializer,
    InstrumentSerializer,
    InstrumentTokenSerializer,
    MeasurementListSerializer,
    MeasurementSerializer,
    TokenIssueSerializer,
    UploadCreateSerializer,
    UploadStatusSerializer,
)
from measurements.filters_ingest import MeasurementFilter, UploadFilter
from measurements.models import Instrument, Measurement, Upload
from measurements.services import ingest


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The file is too large."


class SizeLimitUploadHandler(FileUploadHandler):
    """Refuses a request body larger than the upload limit while it streams in, before it fills the disk."""

    #: room for the multipart boundaries and the other form fields
    SLACK_BYTES = 1 << 20

    def handle_raw_input(
        self, input_data: Any, META: Any, content_length: int, boundary: Any, encoding: Any = None
    ) -> None:
        if content_length and content_length > ingest.max_upload_bytes() + self.SLACK_BYTES:
            raise PayloadTooLarge(ingest.too_large_message(content_length))
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received = getattr(self, "received", 0) + len(raw_data)
        if self.received > ingest.max_upload_bytes():
            raise PayloadTooLarge(ingest.too_large_message(None))
        return raw_data

    def file_complete(self, file_size: int) -> None:
        self.received = 0
        return None


class UploadViewSet(
    HotReadsMixin,
    CompiledDetailMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """POST a raw instrument file (multipart); GET its processing status; GET .../raw/ for the bytes back.

    The same bytes again return the existing upload with 200; a new file answers 202 with its status URL.
    """

    permission_classes = [LimsPermission]
    queryset = Upload.objects.none()
    serializer_class = UploadStatusSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = UploadFilter
    ordering_fields = ["created_at", "size_bytes", "stage"]
    #: the status instruments poll after every file (a person's read goes through the compiled detail below)
    compiled_detail = ScopedQuery(selectors.upload_status_rows, lambda qs, pk: qs.filter(pk=pk), int)
    #: the GET of the status by a person or an instrument's token, from one row (lims/api/rows.py)
    hot_detail = HotDetail(
        selectors.upload_status_rows,
        RowPlan(UploadStatusSerializer, extra=("team_id", "uploaded_by_id")),
        owner_field="uploaded_by",  # an instrument's token reads the uploads it made
    )

    @property
    def allow_instrument_token(self) -> bool:  # type: ignore[override]
        return getattr(self, "action", None) in ("create", "list", "retrieve")

    def initialize_request(self, request: Any, *args: Any, **kwargs: Any) -> Request:
        if request.method == "POST":
            # before anything reads the body (the CSRF check of session auth does): refuse oversize streams
            request.upload_handlers.insert(0, SizeLimitUploadHandler(request))
        return super().initialize_request(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Upload]:
        if getattr(self, "swagger_fake_view", False):
            return Upload.objects.none()
        return selectors.upload_status_for(
            self.request.user, instrument_token=is_instrument_token(self.request)
        )

    def get_serializer_class(self) -> Any:
        return UploadCreateSerializer if self.action == "create" else UploadStatusSerializer

    def check_object_permissions(self, request: Request, obj: Any) -> None:
        # an instrument's service account is a member of no team: its queryset already holds only its own uploads
        if is_instrument_token(request) and obj.uploaded_by_id == request.user.pk:
            return
        super().check_object_permissions(request, obj)

    @extend_schema(
        request={"multipart/form-data": UploadCreateSerializer},
        responses={
            202: UploadStatusSerializer,
            200: OpenApiResponse(UploadStatusSerializer, description="the same bytes were uploaded before"),
            413: OpenApiResponse(description="the file is larger than LIMS_UPLOAD_MAX_BYTES"),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = UploadCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        instrument = None
        if is_instrument_token(request):
            instrument = selectors.instrument_of(request.user)
            if instrument is None:
                raise exceptions.PermissionDenied("This instrument token belongs to no instrument.")
        kind = data["sample_kind"]
        sample = selectors.find_sample(
            request.user, kind=kind, reference=data["sample_ref"], instrument=instrument
        )
        if sample is None:
            raise exceptions.NotFound(f"No {kind} '{data['sample_ref']}' that you can see.")
        if instrument is None and not has_role(request.user, sample.team_id, Role.RESEARCHER):
            raise exceptions.PermissionDenied(
                f"Uploading data needs the researcher role in team '{sample.team}'."
            )
        if instrument is None and data.get("instrument"):
            instrument = Instrument.objects.filter(pk=data["instrument"], team_id=sample.team_id).first()
            if instrument is None:
                raise exceptions.ValidationError(
                    {"instrument": "No instrument with this id in the sample's team."}
                )
        try:
            stored = ingest.store_upload(
                file=data["file"],
                filename=data["file"].name,
                uploaded_by=request.user,
                team=sample.team,
                instrument=instrument,
                technique=data.get("technique") or "",
                temperature_C=data.get("temperature"),
                notes=data.get("notes") or "",
                mapping=data.get("mapping"),
                **{kind: sample},
            )
        except ingest.UploadTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from None
        upload = self.get_queryset().get(pk=stored.upload.pk) if not stored.created else stored.upload
        body = UploadStatusSerializer(_refresh(upload)).data
        code = status.HTTP_202_ACCEPTED if stored.created else status.HTTP_200_OK
        return Response(body, status=code, headers={"Location": body["status_url"]})

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        description="The raw file exactly as received (for whoever may see the sample).",
    )
    @action(detail=True, methods=["get"])
    def raw(self, request: Request, pk: str | None = None) -> FileResponse:
        upload = self.get_object()
        response = FileResponse(
            default_storage.open(upload.raw_file.name, "rb"),
            as_attachment=True,
            filename=upload.original_name,
            content_type="application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Length"] = str(upload.size_bytes)
        return response

    @extend_schema(request=None, responses=UploadStatusSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        upload = ingest.retry_upload(actor=request.user, upload=self.get_object())
        return Response(UploadStatusSerializer(_refresh(upload)).data, status=status.HTTP_202_ACCEPTED)


def _refresh(upload: Upload) -> Upload:
    """Status after the commit (an in-process parse may already have finished)."""
    return Upload.objects.select_related("cell", "measurement").get(pk=upload.pk)


class InstrumentViewSet(OptimisticConcurrencyMixin, viewsets.ModelViewSet):
    """Instruments of your teams; managers register them and issue or revoke their tokens (keys shown once)."""

    permission_classes = [LimsPermission]
    queryset = Instrument.objects.none()
    serializer_class = InstrumentSerializer
    search_fields = ["name", "make", "model", "serial_number"]

    def get_queryset(self) -> QuerySet[Instrument]:
        if getattr(self, "swagger_fake_view", False):
            return Instrument.objects.none()
        return selectors.instruments_for(self.request.user)

    def perform_create(self, serializer: Any) -> None:
        team = resolve_team(self.request.user, serializer.validated_data.pop("team", None))
        serializer.instance = ingest.create_instrument(
            actor=self.request.user, team=team, **serializer.validated_data
        )

    def perform_update(self, serializer: Any) -> None:
        fields = dict(serializer.validated_data)
        team = fields.pop("team", None)
        if team is not None and team != serializer.instance.team:
            raise exceptions.ValidationError({"team": "An instrument cannot move to another team."})
        serializer.instance = ingest.update_instrument(
            actor=self.request.user, instrument=serializer.instance, **fields
        )

    def perform_destroy(self, instance: Instrument) -> None:
        ingest.delete_instrument(actor=self.request.user, instrument=instance)

    @extend_schema(methods=["get"], request=None, responses=InstrumentTokenSerializer(many=True))
    @extend_schema(methods=["post"], request=TokenIssueSerializer, responses={201: InstrumentTokenSerializer})
    @action(detail=True, methods=["get", "post"])
    def tokens(self, request: Request, pk: str | None = None) -> Response:
        instrument = self.get_object()
        if not has_role(request.user, instrument.team_id, Role.MANAGER):
            raise exceptions.PermissionDenied("Instrument tokens are managed by the team's managers.")
        if request.method == "GET":
            tokens = ApiToken.objects.filter(user=instrument.service_user).order_by("-created_at")
            return Response(InstrumentTokenSerializer(tokens, many=True).data)
        body = TokenIssueSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token, key = ingest.issue_instrument_token(
            actor=request.user, instrument=instrument, name=body.validated_data["name"]
        )
        token._clear_key = key  # type: ignore[attr-defined]
        return Response(InstrumentTokenSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=InstrumentTokenSerializer)
    @action(
        detail=True, methods=["post"], url_path=r"tokens/(?P<token_id>\d+)/revoke", url_name="token-revoke"
    )
    def revoke_token(self, request: Request, pk: str | None = None, token_id: str | None = None) -> Response:
        instrument = self.get_object()
        token = ingest.revoke_instrument_token(
            actor=request.user, instrument=instrument, token_id=int(token_id or 0)
        )
        return Response(InstrumentTokenSerializer(token).data)


MAX_POINTS_LIMIT = 200_000


_FIT_PARAMETER = OpenApiParameter(
    "fit", bool, description="overlay the fitted equivalent circuit (Nyquist and Bode plots); default false"
)


def _wants_fit(request: Request) -> bool:
    return str(request.query_params.get("fit", "")).lower() in ("1", "true", "yes")


class MeasurementViewSet(HotReadsMixin, viewsets.ReadOnlyModelViewSet):
    """Parsed measurements of your teams: metadata, cycle summaries, data (downsampled, CSV, Parquet), figures."""

    permission_classes = [LimsPermission]
    queryset = Measurement.objects.none()
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = MeasurementFilter
    ordering_fields = ["created_at", "started_at", "temperature", "row_count"]
    #: a person's GET of the list, of a cell's measurements, from rows (lims/api/rows.py)
    hot_list = HotList(
        selectors.measurement_api_rows,
        RowPlan(MeasurementListSerializer),
        filters={"cell": HotFilter(int, plain_int, lambda qs, v: qs.filter(cell_id=v))},
    )

    def get_queryset(self) -> QuerySet[Measurement]:
        if getattr(self, "swagger_fake_view", False):
            return Measurement.objects.none()
        if self.action == "list":
            return selectors.measurement_rows_for_api(self.request.user)
        return selectors.measurements_for(self.request.user)

    def get_serializer_class(self) -> Any:
        return MeasurementListSerializer if self.action == "list" else MeasurementSerializer

    @extend_schema(responses=CycleSummarySerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)  # every row at once, as a plain list
    def cycles(self, request: Request, pk: str | None = None) -> Response:
        rows = selectors.cycle_rows(self.get_object())
        return Response(CycleSummarySerializer(rows, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("columns", str, description="comma-separated canonical names (default: all)"),
            OpenApiParameter(
                "max_points", int, description="about this many rows (min/max per bucket; default 5000)"
            ),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"])
    def data(self, request: Request, pk: str | None = None) -> Response:
        measurement = self.get_object()
        cols = [c.strip() for c in request.query_params.get("columns", "").split(",") if c.strip()] or None
        try:
            max_points = int(request.query_params.get("max_points", "5000"))
        except ValueError:
            raise exceptions.ValidationError({"max_points": "must be a whole number"}) from None
        if not 2 <= max_points <= MAX_POINTS_LIMIT:
            raise exceptions.ValidationError({"max_points": f"must be between 2 and {MAX_POINTS_LIMIT}"})
        return Response(selectors.measurement_data(measurement, columns=cols, max_points=max_points))

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def data_csv(self, request: Request, pk: str | None = None) -> StreamingHttpResponse:
        """The whole parsed table as CSV (canonical SI column names), streamed in slices."""
        measurement = self.get_object()
        table = storage.read_table(measurement.data_file)

        def rows() -> Any:
            import pyarrow.csv as pacsv

            for offset in range(0, max(table.num_rows, 1), 100_000):
                buf = io.BytesIO()
                pacsv.write_csv(
                    table.slice(offset, 100_000),
                    buf,
                    write_options=pacsv.WriteOptions(include_header=offset == 0),
                )
                yield buf.getvalue()

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="measurement-{measurement.pk}.csv"'
        return response

    @extend_schema(responses={(200, "application/vnd.apache.parquet"): OpenApiTypes.BINARY})
    def data_parquet(self, request: Request, pk: str | None = None) -> FileResponse:
        """The stored Parquet file (zstd), for pandas/pyarrow/polars."""
        measurement = self.get_object()
        if not measurement.data_file or not default_storage.exists(measurement.data_file):
            raise Http404("The data file of this measurement is missing.")
        response = FileResponse(
            default_storage.open(measurement.data_file, "rb"),
            as_attachment=True,
            filename=f"measurement-{measurement.pk}.parquet",
            content_type="application/vnd.apache.parquet",
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @extend_schema(
        parameters=[_FIT_PARAMETER],
        responses={200: OpenApiTypes.OBJECT},
    )
    def figure(self, request: Request, pk: str | None = None, kind: str = "") -> Response:
        """A Plotly figure {"data", "layout"} built from the downsampled data (nyquist, bode, voltage-time,
        capacity-cycle, chronoamperometry, lsv, rate-capability), with what the analysis found marked."""
        return Response(selectors.figure(self.get_object(), kind, fit=_wants_fit(request)))

    @extend_schema(parameters=[_FIT_PARAMETER], responses={(200, "text/csv"): OpenApiTypes.STR})
    def figure_csv(self, request: Request, pk: str | None = None, kind: str = "") -> HttpResponse:
        fig = selectors.figure(self.get_object(), kind, fit=_wants_fit(request))
        buf = io.StringIO()
        csv.writer(buf).writerows(selectors.figure_csv_rows(fig))
        response = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="measurement-{pk}-{kind}.csv"'
        return response
