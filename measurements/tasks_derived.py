"""Celery tasks: computing derived properties (thin: ids in, acting as the initiating user, call a service).

Every task is idempotent: the services upsert by (subject, name, method version). Enqueue them with the
``enqueue_*`` helpers, which wait for the surrounding transaction to commit (``transaction.on_commit``).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import transaction

from lims.audit import acting_as
from measurements.services import derive


def _user(user_id: int | None) -> Any:
    if user_id is None:
        return None
    return get_user_model().objects.filter(pk=user_id).first()


def _ids(rows: list[Any]) -> list[int]:
    return [r.pk for r in rows]


def _as(user_id: int | None, reason: str) -> AbstractContextManager[Any]:
    """Attribute the task's writes to the user who started it (the audit trail shows via "worker")."""
    return acting_as(_user(user_id), reason=reason, via="worker")


@shared_task(name="measurements.tasks.analyse_measurement")
def analyse_measurement(measurement_id: int, user_id: int | None = None) -> list[int]:
    """Compute the derived properties of one measurement (and of the series it belongs to)."""
    with _as(user_id, f"derived properties of measurement #{measurement_id}"):
        return _ids(derive.run_for_measurement(measurement_id))


@shared_task(name="measurements.tasks.analyse_series")
def analyse_series(series_id: int, user_id: int | None = None) -> list[int]:
    """Compute the derived properties of a series (Arrhenius, Bruce-Vincent)."""
    with _as(user_id, f"derived properties of series #{series_id}"):
        return _ids(derive.run_for_series(series_id))


@shared_task(name="measurements.tasks.recompute_for_membrane")
def recompute_for_membrane(membrane_id: int, user_id: int | None = None) -> list[int]:
    """A membrane's thickness changed: recompute its conductivities and activation energies."""
    with _as(user_id, f"membrane thickness changed: recompute, membrane #{membrane_id}"):
        return _ids(derive.recompute_for_membrane(membrane_id))


@shared_task(name="measurements.tasks.recompute_for_pellet")
def recompute_for_pellet(pellet_id: int, user_id: int | None = None) -> list[int]:
    """A pellet's thickness or diameter changed: recompute its conductivities and activation energies."""
    with _as(user_id, f"pellet geometry changed: recompute, pellet #{pellet_id}"):
        return _ids(derive.recompute_for_pellet(pellet_id))


@shared_task(name="measurements.tasks.recompute_for_cell")
def recompute_for_cell(cell_id: int, user_id: int | None = None) -> list[int]:
    """A cell's area or electrodes changed: recompute everything measured on it."""
    with _as(user_id, f"cell changed: recompute, cell #{cell_id}"):
        return _ids(derive.recompute_for_cell(cell_id))


def enqueue_analyse_measurement(measurement_id: int, user_id: int | None = None) -> None:
    transaction.on_commit(lambda: analyse_measurement.delay(measurement_id, user_id))


def enqueue_analyse_series(series_id: int, user_id: int | None = None) -> None:
    transaction.on_commit(lambda: analyse_series.delay(series_id, user_id))


def enqueue_recompute_for_membrane(membrane_id: int, user_id: int | None = None) -> None:
    transaction.on_commit(lambda: recompute_for_membrane.delay(membrane_id, user_id))


def enqueue_recompute_for_pellet(pellet_id: int, user_id: int | None = None) -> None:
    transaction.on_commit(lambda: recompute_for_pellet.delay(pellet_id, user_id))


def enqueue_recompute_for_cell(cell_id: int, user_id: int | None = None) -> None:
    transaction.on_commit(lambda: recompute_for_cell.delay(cell_id, user_id))
