"""Dashboard sections and search providers of the synthesis part of formulations."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from formulations import selectors_synthesis as sel
from lims.dashboard import section
from lims.search import Hit, provider

_LIMIT = 10


@section
def synthesis_section(user: Any) -> dict[str, list[dict[str, Any]]]:
    """Quick action "Log a synthesis" and the latest batches (with flagged deviations counted)."""
    batches = list(sel.batches_for(user)[:5])
    rows = [
        {
            "cells": [
                b.code,
                str(b.recipe_version),
                f"{b.started_at:%Y-%m-%d}",
                getattr(b, "flagged_count", 0) or "",
            ],
            "url": reverse("formulations:batch-detail", args=[b.pk]),
        }
        for b in batches
    ]
    return {
        "quick_actions": [{"label": "Log a synthesis", "url": reverse("formulations:batch-log")}],
        "panels": [
            {
                "title": "Latest synthesis batches",
                "headers": ["Batch", "Recipe", "Started", "Flagged"],
                "rows": rows,
                "empty": "No batches yet.",
            }
        ],
    }


@provider
def synthesis_search(user: Any, text: str) -> list[Hit]:
    """Batches, membranes, pellets and electrodes by code; recipes by name."""
    hits: list[Hit] = []
    for b in sel.batches_for(user).filter(code__icontains=text)[:_LIMIT]:
        hits.append(
            Hit("batch", b.code, reverse("formulations:batch-detail", args=[b.pk]), str(b.recipe_version))
        )
    for m in sel.membranes_for(user).filter(code__icontains=text)[:_LIMIT]:
        hits.append(
            Hit("membrane", m.code, reverse("formulations:membrane-detail", args=[m.pk]), m.batch.code)
        )
    for p in sel.pellets_for(user).filter(code__icontains=text)[:_LIMIT]:
        hits.append(
            Hit("pellet", p.code, reverse("formulations:pellet-detail", args=[p.pk]), p.lot.chemical.name)
        )
    for e in sel.electrodes_for(user).filter(code__icontains=text)[:_LIMIT]:
        hits.append(
            Hit(
                "electrode",
                e.code,
                reverse("formulations:electrode-detail", args=[e.pk]),
                e.active_lot.chemical.name,
            )
        )
    for r in sel.recipes_for(user).filter(name__icontains=text)[:_LIMIT]:
        hits.append(Hit("recipe", r.name, reverse("formulations:recipe-detail", args=[r.pk]), r.team.name))
    return hits
