"""Celery tasks: computing derived properties."""
