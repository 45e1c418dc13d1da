"""Dashboard sections and search providers of this app (registered at start-up)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone

from lims.dashboard import section
from lims.models import Role
from lims.permissions import team_ids_for
from lims.search import Hit, provider


@section
def cells_dashboard(user: Any) -> dict[str, list[dict[str, Any]]]:
    from cells.selectors import cells_on_test
    from measurements.selectors_derived import latest_on_test_value

    rows = []
    now = timezone.now()
    on_test = cells_on_test(user=user)
    latest = latest_on_test_value(user, [c.pk for c in on_test])
    for cell in on_test:
        electrolyte = cell.membrane.code if cell.membrane else f"{cell.pellet.code} (pellet)"  # type: ignore[union-attr]
        days = (now - cell.state_changed_at).total_seconds() / 86400
        rows.append(
            {
                "cells": [
                    cell.code,
                    cell.get_configuration_display(),
                    electrolyte,
                    f"{days:.1f} d",
                    latest.get(cell.pk, "no result yet"),
                ],
                "url": reverse("cells:cell-detail", args=[cell.pk]),
            }
        )
    panel = {
        "title": "Cells on test",
        "headers": ["Cell", "Configuration", "Electrolyte", "On test for", "Latest result"],
        "rows": rows,
        "empty": "No cell is on test.",
        "wide": True,
    }
    actions = []
    if user.is_staff or team_ids_for(user, Role.RESEARCHER):
        actions.append({"label": "Assemble cells", "url": reverse("cells:cell-assemble")})
    return {"panels": [panel], "quick_actions": actions}


@provider
def cells_by_code(user: Any, text: str) -> list[Hit]:
    from cells.selectors import cell_list

    cells = cell_list(user=user).filter(code__icontains=text).order_by("code")[:10]
    return [
        Hit(
            kind="cell",
            label=c.code,
            url=reverse("cells:cell-detail", args=[c.pk]),
            detail=f"{c.get_configuration_display()}, {c.get_state_display()}",
        )
        for c in cells
    ]
