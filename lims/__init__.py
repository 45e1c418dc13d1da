"""The electrolyte LIMS project package: settings, URLs, the Celery app and the core app (users, teams, units)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
