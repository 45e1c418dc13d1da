"""Celery tasks: parsing uploads (queue "ingest") and the periodic sweep of uploads that got stuck.

Thin: ids in, a service call, nothing else. Both are idempotent: ``parse_upload`` only claims an upload in stage
"received", so a redelivered message (acks_late) or a sweep that re-enqueues never parses twice at once.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

__all__ = ["parse_upload", "sweep_uploads"]


@shared_task(
    name="measurements.tasks.parse_upload",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def parse_upload(self: Any, upload_id: int) -> str | None:
    """Parse one upload; returns its final stage (done / failed), or its current one if another worker has it."""
    from measurements.services.ingest import process_upload

    upload = process_upload(int(upload_id))
    return upload.stage if upload is not None else None


@shared_task(name="measurements.tasks.sweep_uploads", ignore_result=True)
def sweep_uploads() -> dict[str, list[int]]:
    """Every 5 minutes (CELERY_BEAT_SCHEDULE): re-enqueue uploads stuck in "received" or stalled mid-parse."""
    from measurements.services.ingest import sweep_stalled_uploads

    result = sweep_stalled_uploads()
    return {"enqueued": result.enqueued, "failed": result.failed}
