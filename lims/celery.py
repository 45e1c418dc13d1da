"""The Celery application. Settings come from Django's settings (CELERY_* names); tasks are autodiscovered."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lims.settings")

app = Celery("lims")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="lims.ping", ignore_result=False)
def ping() -> str:
    """Health check: a worker that answers proves the broker and the worker are alive."""
    return "pong"
