"""Dashboard section of the derived part of measurements, and the recomputation when an input changes.

When the thickness of a membrane, the geometry of a pellet, or the area/electrodes of a cell change, the derived
properties that used them are recomputed by a Celery task enqueued after the commit. The old values are
snapshotted when the instance is loaded (``post_init``, reading only already-loaded fields, so it costs no query)
and compared in ``post_save``.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_init, post_save
from django.dispatch import receiver
from simple_history.models import HistoricalRecords

from cells.models import Cell
from formulations.models import Membrane, Pellet
from lims.audit import current_context
from lims.dashboard import section

WATCHED: dict[type, tuple[str, ...]] = {
    Membrane: ("thickness_measured", "thickness_from_mass"),
    Pellet: ("final_thickness", "final_diameter"),
    Cell: ("active_area", "configuration", "membrane_id", "pellet_id", "cathode_id"),
}


def _snapshot(instance: Any) -> tuple[Any, ...]:
    return tuple(instance.__dict__.get(name) for name in WATCHED[type(instance)])


def _acting_user_id() -> int | None:
    ctx = current_context()
    if ctx is not None and ctx.user is not None:
        return int(ctx.user.pk)
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return int(user.pk)
    return None


@receiver(post_init, sender=Membrane, dispatch_uid="derived-snapshot-membrane")
@receiver(post_init, sender=Pellet, dispatch_uid="derived-snapshot-pellet")
@receiver(post_init, sender=Cell, dispatch_uid="derived-snapshot-cell")
def _remember_inputs(sender: type, instance: Any, **kwargs: Any) -> None:
    instance._derived_inputs = _snapshot(instance)


@receiver(post_save, sender=Membrane, dispatch_uid="derived-recompute-membrane")
@receiver(post_save, sender=Pellet, dispatch_uid="derived-recompute-pellet")
@receiver(post_save, sender=Cell, dispatch_uid="derived-recompute-cell")
def _recompute_when_inputs_change(sender: type, instance: Any, created: bool, **kwargs: Any) -> None:
    before = getattr(instance, "_derived_inputs", None)
    now = _snapshot(instance)
    instance._derived_inputs = now
    if created or kwargs.get("raw") or before is None or before == now:
        return
    from measurements import tasks_derived
    from measurements.models import Measurement

    user_id = _acting_user_id()
    if sender is Membrane:
        if Measurement.objects.filter(cell__membrane=instance).exists() or instance.measurements.exists():
            tasks_derived.enqueue_recompute_for_membrane(instance.pk, user_id)
    elif sender is Pellet:
        if Measurement.objects.filter(cell__pellet=instance).exists() or instance.measurements.exists():
            tasks_derived.enqueue_recompute_for_pellet(instance.pk, user_id)
    elif instance.measurements.exists():
        tasks_derived.enqueue_recompute_for_cell(instance.pk, user_id)


@section
def latest_derived_properties(user: Any) -> dict[str, list[dict[str, Any]]]:
    from measurements.selectors_derived import latest_derived_properties as latest

    rows = [
        {
            "cells": [
                row.label,
                f"{row.value:.4g} {row.unit}".strip(),
                row.subject_label,
                row.computed_at_text,
            ],
            "url": row.url,
        }
        for row in latest(user, limit=8)
    ]
    return {
        "panels": [
            {
                "title": "Latest derived properties",
                "headers": ["property", "value", "of", "computed"],
                "rows": rows,
                "empty": "No derived properties yet: they appear when a measurement has been analysed.",
            }
        ],
        "quick_actions": [{"label": "Compare electrolytes", "url": "/comparison/"}],
    }
