"""Instruments, uploads (raw files), measurements with their columnar data, series, and derived properties.

Raw bytes are stored once under their SHA-256; parsed arrays go to a Parquet file next to them; PostgreSQL holds
the Measurement, its per-cycle summary rows and the DerivedProperty rows. Units: temperatures in degC, times in s,
capacities in Ah, voltages in V, currents in A; a DerivedProperty names its own unit.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from cells.models import Cell
from formulations.models import Membrane, Pellet
from lims.audit import AuditedHistory
from lims.fields import QuantityField
from lims.models import Audited, TeamOwned


class Instrument(TeamOwned):
    """A potentiostat, cycler or other instrument; it authenticates with tokens of its service account."""

    name = models.CharField(max_length=120)
    make = models.CharField(max_length=80, blank=True)
    model = models.CharField(max_length=80, blank=True)
    serial_number = models.CharField(max_length=80, blank=True)
    channel_count = models.PositiveIntegerField(default=1)
    service_user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="instrument"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="instrument_unique_name_in_team")
        ]

    def __str__(self) -> str:
        return self.name


class Technique(models.TextChoices):
    PEIS = "PEIS", "EIS (potentiostatic)"
    GEIS = "GEIS", "EIS (galvanostatic)"
    CA = "CA", "chronoamperometry"
    CP = "CP", "chronopotentiometry"
    LSV = "LSV", "linear sweep voltammetry"
    CV = "CV", "cyclic voltammetry"
    GCPL = "GCPL", "galvanostatic cycling"
    OCV = "OCV", "open-circuit voltage"
    MB = "MB", "modulo bat"
    CYCLING = "CYCLING", "cycling (cycler)"
    CCD = "CCD", "stepped-current plating (CCD)"
    TENSILE = "TENSILE", "tensile test"
    TGA = "TGA", "thermogravimetry"
    PEAKS = "PEAKS", "peak list (XRD/FTIR/XPS)"
    UNKNOWN = "UNKNOWN", "unknown"


class Stage(models.TextChoices):
    RECEIVED = "received", "received"
    PARSING = "parsing", "parsing"
    ANALYSING = "analysing", "analysing"
    DONE = "done", "done"
    FAILED = "failed", "failed"


class Upload(TeamOwned):
    """A raw instrument file, stored immutably under its SHA-256, and the state of its processing."""

    sha256 = models.CharField(max_length=64)
    raw_file = models.FileField(upload_to="raw/", max_length=300)
    original_name = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField()
    detected_format = models.CharField(max_length=40, blank=True)
    technique = models.CharField(max_length=20, choices=Technique.choices, blank=True)
    cell = models.ForeignKey(Cell, null=True, blank=True, on_delete=models.PROTECT, related_name="uploads")
    membrane = models.ForeignKey(
        Membrane, null=True, blank=True, on_delete=models.PROTECT, related_name="uploads"
    )
    pellet = models.ForeignKey(
        Pellet, null=True, blank=True, on_delete=models.PROTECT, related_name="uploads"
    )
    temperature = QuantityField(
        unit="degC", dimension="temperature", null=True, blank=True, allow_negative=True
    )
    notes = models.TextField(blank=True)
    options = models.JSONField(default=dict, blank=True, help_text="column mapping for generic CSV, etc.")
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.RECEIVED, db_index=True)
    progress = models.FloatField(default=0.0, help_text="0-1")
    error = models.TextField(blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    retried_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="who last asked for the failed upload to be parsed again: the parses after that are theirs in "
        "the audit trail (the upload and its data stay the uploader's)",
    )
    instrument = models.ForeignKey(
        Instrument, null=True, blank=True, on_delete=models.PROTECT, related_name="uploads"
    )
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["team", "sha256"], name="upload_unique_bytes_per_team")
        ]
        indexes = [models.Index(fields=["team", "-created_at"], name="upload_team_created")]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.sha256[:10]})"


class Measurement(TeamOwned):
    """The parsed content of one upload: metadata in PostgreSQL, arrays in a Parquet file."""

    upload = models.OneToOneField(Upload, on_delete=models.PROTECT, related_name="measurement")
    cell = models.ForeignKey(
        Cell, null=True, blank=True, on_delete=models.PROTECT, related_name="measurements"
    )
    membrane = models.ForeignKey(
        Membrane, null=True, blank=True, on_delete=models.PROTECT, related_name="measurements"
    )
    pellet = models.ForeignKey(
        Pellet, null=True, blank=True, on_delete=models.PROTECT, related_name="measurements"
    )
    technique = models.CharField(max_length=20, choices=Technique.choices, db_index=True)
    source_format = models.CharField(max_length=40)
    temperature = QuantityField(
        unit="degC", dimension="temperature", null=True, blank=True, allow_negative=True
    )
    started_at = models.DateTimeField(null=True, blank=True)
    row_count = models.BigIntegerField(default=0)
    columns = models.JSONField(default=list)
    parameters = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    data_file = models.CharField(max_length=300, blank=True, help_text="storage path of the Parquet file")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["cell", "technique"]),
            models.Index(fields=["team", "-created_at"], name="measurement_team_created"),
        ]

    def __str__(self) -> str:
        return f"{self.technique} #{self.pk}"


class CycleSummary(models.Model):
    """Per-cycle (or per-half-cycle) numbers written in bulk when a measurement is parsed."""

    measurement = models.ForeignKey(Measurement, on_delete=models.CASCADE, related_name="cycles")
    cycle = models.IntegerField()
    half_cycle = models.IntegerField(default=0, help_text="0 for a whole-cycle row")
    start_time_s = models.FloatField()
    end_time_s = models.FloatField()
    charge_capacity_Ah = models.FloatField(null=True, blank=True)
    discharge_capacity_Ah = models.FloatField(null=True, blank=True)
    coulombic_efficiency = models.FloatField(null=True, blank=True)
    mean_voltage_V = models.FloatField(null=True, blank=True)
    overpotential_V = models.FloatField(null=True, blank=True)
    mean_current_A = models.FloatField(null=True, blank=True)

    history = AuditedHistory()

    class Meta:
        ordering = ["measurement", "cycle", "half_cycle"]
        verbose_name_plural = "cycle summaries"
        constraints = [
            models.UniqueConstraint(
                fields=["measurement", "cycle", "half_cycle"], name="cycle_summary_unique"
            )
        ]

    def __str__(self) -> str:
        return f"measurement {self.measurement_id} cycle {self.cycle}.{self.half_cycle}"


class SeriesKind(models.TextChoices):
    ARRHENIUS = "arrhenius", "EIS at several temperatures (Arrhenius)"
    TRANSFERENCE = "transference", "EIS - CA - EIS (Bruce-Vincent transference number)"
    OTHER = "other", "other"


class MeasurementSeries(TeamOwned):
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=SeriesKind.choices)
    cell = models.ForeignKey(Cell, null=True, blank=True, on_delete=models.PROTECT, related_name="series")
    members = models.ManyToManyField(Measurement, through="SeriesMember", related_name="series")
    notes = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.name


class SeriesMember(Audited):
    series = models.ForeignKey(MeasurementSeries, on_delete=models.CASCADE, related_name="memberships")
    measurement = models.ForeignKey(Measurement, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=30, blank=True, help_text="e.g. eis_before, ca, eis_after")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["series", "order"]
        constraints = [models.UniqueConstraint(fields=["series", "measurement"], name="series_member_unique")]

    def __str__(self) -> str:
        return f"{self.series_id}/{self.role or self.order}"


class DerivedProperty(TeamOwned):
    """A number computed by a versioned analysis function from measurements (and the inputs it used).

    Upserted by (subject_key, name, method_version): a retry or a recomputation never duplicates.
    """

    subject_key = models.CharField(max_length=60, help_text="e.g. measurement:12, series:3, cell:7")
    name = models.CharField(max_length=60, db_index=True)
    value = models.FloatField()
    unit = models.CharField(max_length=30)
    uncertainty = models.FloatField(null=True, blank=True)
    method = models.CharField(max_length=80)
    method_version = models.CharField(max_length=40)
    parameters = models.JSONField(default=dict, blank=True)
    inputs = models.JSONField(default=dict, blank=True)
    temperature = QuantityField(
        unit="degC", dimension="temperature", null=True, blank=True, allow_negative=True
    )
    measurement = models.ForeignKey(
        Measurement, null=True, blank=True, on_delete=models.CASCADE, related_name="derived_properties"
    )
    series = models.ForeignKey(
        MeasurementSeries, null=True, blank=True, on_delete=models.CASCADE, related_name="derived_properties"
    )
    cell = models.ForeignKey(
        Cell, null=True, blank=True, on_delete=models.PROTECT, related_name="derived_properties"
    )
    membrane = models.ForeignKey(
        Membrane, null=True, blank=True, on_delete=models.PROTECT, related_name="derived_properties"
    )
    pellet = models.ForeignKey(
        Pellet, null=True, blank=True, on_delete=models.PROTECT, related_name="derived_properties"
    )
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-computed_at"]
        verbose_name_plural = "derived properties"
        constraints = [
            models.UniqueConstraint(
                fields=["subject_key", "name", "method_version"], name="derived_property_unique_per_method"
            )
        ]
        indexes = [
            models.Index(fields=["name", "cell"]),
            # the API list (cursor on -id) filtered by name (replaces the index on team, name, which it
            # covers), and the page (newest computed first)
            models.Index(fields=["team", "name", "-id"], name="derived_team_name_id"),
            models.Index(fields=["team", "-computed_at", "-id"], name="derived_team_computed"),
            # the page filtered by name, newest computed first: served whatever the name (lims/plans.py runs it
            # on a generic plan, which cannot look at how common the name is)
            models.Index(fields=["team", "name", "-computed_at", "-id"], name="derived_team_name_computed"),
            models.Index(fields=["team", "temperature"], name="derived_team_temperature"),
        ]

    def __str__(self) -> str:
        return f"{self.name} = {self.value:g} {self.unit}"
