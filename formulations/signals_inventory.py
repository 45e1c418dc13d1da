"""Dashboard sections and search providers of the inventory part of formulations."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from formulations import selectors_inventory as selectors
from lims.dashboard import section
from lims.models import Role
from lims.permissions import team_ids_for
from lims.search import Hit, provider

PANEL_ROWS = 10


def _lot_row(lot: Any) -> dict[str, Any]:
    return {
        "cells": [
            lot.code,
            lot.chemical.name,
            f"{lot.quantity_on_hand:g} {lot.quantity_unit}",
            lot.expires_on.isoformat() if lot.expires_on else "",
        ],
        "url": reverse("formulations:lot-detail", args=[lot.pk]),
    }


@section
def inventory_section(user: Any) -> dict[str, list[dict[str, Any]]]:
    if user is None or not user.is_authenticated:
        return {}
    days = settings.LIMS_EXPIRY_WARNING_DAYS
    expiring = list(selectors.expiring_lots(within_days=days)[:PANEL_ROWS])
    expired = list(selectors.expired_lots()[:PANEL_ROWS])
    low = list(selectors.low_stock_chemicals()[:PANEL_ROWS])
    headers = ["Lot", "Chemical", "On hand", "Expires"]
    panels = [
        {
            "title": f"Lots expiring within {days} days",
            "headers": headers,
            "rows": [_lot_row(lot) for lot in expiring],
            "empty": f"No lot expires within {days} days.",
        },
        {
            "title": "Expired lots",
            "headers": headers,
            "rows": [_lot_row(lot) for lot in expired],
            "empty": "No expired lot holds stock.",
        },
        {
            "title": "Low stock",
            "headers": ["Chemical", "On hand (g)", "Threshold (g)"],
            "rows": [
                {
                    "cells": [
                        c.name,
                        f"{getattr(c, 'on_hand_g', 0.0):g}",
                        "none set (out of stock)"
                        if c.low_stock_threshold is None
                        else f"{c.low_stock_threshold:g}",
                    ],
                    "url": reverse("formulations:chemical-detail", args=[c.pk]),
                }
                for c in low
            ],
            "empty": "No chemical is out of stock or below its low-stock threshold.",
        },
    ]
    actions = []
    if user.is_staff or team_ids_for(user, Role.RESEARCHER):
        actions.append({"label": "Receive a lot", "url": reverse("formulations:lot-receive")})
    actions.append({"label": "Look up a lot code", "url": reverse("formulations:lot-lookup")})
    return {"panels": panels, "quick_actions": actions}


@provider
def inventory_search(user: Any, text: str) -> list[Hit]:
    """Lots by code (exact, as scanned) and chemicals by name, abbreviation, synonym or CAS number."""
    if user is None or not user.is_authenticated:
        return []
    hits: list[Hit] = []
    lot = selectors.lot_by_code(text)
    if lot is not None:
        hits.append(
            Hit(
                kind="lot",
                label=lot.code,
                url=reverse("formulations:lot-detail", args=[lot.pk]),
                detail=f"{lot.chemical.name} · {lot.quantity_on_hand:g} {lot.quantity_unit} · {lot.status}",
            )
        )
    for chem in selectors.find_chemicals(text)[:20]:
        hits.append(
            Hit(
                kind="chemical",
                label=chem.name,
                url=reverse("formulations:chemical-detail", args=[chem.pk]),
                detail=", ".join(filter(None, [chem.abbreviation, chem.cas_number])),
            )
        )
    return hits
