"""Celery tasks of measurements (autodiscovered): ingestion and derived-property computation."""

from measurements.tasks_derived import *  # noqa: F403
from measurements.tasks_ingest import *  # noqa: F403
