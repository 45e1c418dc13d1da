"""Celery tasks: parsing uploads."""
