"""Celery tasks of formulations: thin, idempotent, calling services."""

from __future__ import annotations

from celery import shared_task

from formulations.services.inventory import mark_expired_lots as mark_expired_lots_service
from lims.audit import acting_as


@shared_task(name="formulations.tasks.mark_expired_lots")
def mark_expired_lots() -> int:
    """Daily (CELERY_BEAT_SCHEDULE): available lots past their expiry date become ``expired``. Returns how many."""
    with acting_as(None, reason="expiry date passed", via="celery:mark_expired_lots"):
        return len(mark_expired_lots_service())
