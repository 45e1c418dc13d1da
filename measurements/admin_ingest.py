"""Admin registrations of the measurements app (ingest part registers every model, with its history)."""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from measurements.models import (
    CycleSummary,
    DerivedProperty,
    Instrument,
    Measurement,
    MeasurementSeries,
    SeriesMember,
    Upload,
)


@admin.register(Instrument)
class InstrumentAdmin(SimpleHistoryAdmin):
    list_display = ["name", "team", "make", "model", "serial_number", "channel_count", "service_user"]
    list_filter = ["team"]
    search_fields = ["name", "make", "model", "serial_number"]
    list_select_related = ["team", "service_user"]
    raw_id_fields = ["service_user"]


@admin.register(Upload)
class UploadAdmin(SimpleHistoryAdmin):
    list_display = [
        "original_name",
        "team",
        "stage",
        "progress",
        "detected_format",
        "technique",
        "cell",
        "created_at",
    ]
    list_filter = ["stage", "technique", "detected_format", "team"]
    search_fields = ["original_name", "sha256", "cell__code", "error"]
    list_select_related = ["team", "cell"]
    raw_id_fields = ["cell", "membrane", "pellet", "uploaded_by", "instrument", "created_by"]
    readonly_fields = ["sha256", "raw_file", "size_bytes", "created_at", "updated_at"]


@admin.register(Measurement)
class MeasurementAdmin(SimpleHistoryAdmin):
    list_display = ["id", "technique", "cell", "temperature", "row_count", "source_format", "created_at"]
    list_filter = ["technique", "source_format", "team"]
    search_fields = ["cell__code", "upload__original_name"]
    list_select_related = ["cell"]
    raw_id_fields = ["upload", "cell", "membrane", "pellet", "created_by"]


@admin.register(CycleSummary)
class CycleSummaryAdmin(SimpleHistoryAdmin):
    list_display = [
        "measurement",
        "cycle",
        "half_cycle",
        "charge_capacity_Ah",
        "discharge_capacity_Ah",
        "coulombic_efficiency",
    ]
    raw_id_fields = ["measurement"]
    list_select_related = ["measurement"]


class SeriesMemberInline(admin.TabularInline):
    model = SeriesMember
    raw_id_fields = ["measurement"]
    extra = 0


@admin.register(MeasurementSeries)
class MeasurementSeriesAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "team", "cell"]
    list_filter = ["kind", "team"]
    search_fields = ["name"]
    raw_id_fields = ["cell"]
    inlines = [SeriesMemberInline]


@admin.register(SeriesMember)
class SeriesMemberAdmin(SimpleHistoryAdmin):
    list_display = ["series", "measurement", "role", "order"]
    raw_id_fields = ["series", "measurement"]


@admin.register(DerivedProperty)
class DerivedPropertyAdmin(SimpleHistoryAdmin):
    list_display = ["name", "value", "unit", "uncertainty", "method_version", "cell", "computed_at"]
    list_filter = ["name", "method", "team"]
    search_fields = ["name", "subject_key", "cell__code"]
    raw_id_fields = ["measurement", "series", "cell", "membrane", "pellet", "created_by"]
