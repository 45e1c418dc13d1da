"""Dashboard panels (uploads in progress, failed uploads with their reasons), the "Upload data" quick action,
and the search provider for uploads."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from lims.dashboard import section
from lims.search import Hit, provider


@section
def ingest_section(user: Any) -> dict[str, list[dict[str, Any]]]:
    from measurements.selectors_ingest import dashboard_uploads

    uploads = dashboard_uploads(user)
    return {
        "panels": [
            {
                "title": "Uploads in progress",
                "headers": ["file", "cell", "stage", "progress"],
                "rows": [
                    {
                        "cells": [
                            u.original_name,
                            u.cell.code if u.cell else "",
                            u.stage,
                            f"{u.progress:.0%}",
                        ],
                        "url": reverse("measurements:upload-detail", args=[u.pk]),
                    }
                    for u in uploads["in_progress"]
                ],
                "empty": "No upload is being processed.",
            },
            {
                "title": "Failed uploads",
                "headers": ["file", "cell", "reason"],
                "rows": [
                    {
                        "cells": [u.original_name, u.cell.code if u.cell else "", u.error],
                        "url": reverse("measurements:upload-detail", args=[u.pk]),
                    }
                    for u in uploads["failed"]
                ],
                "empty": "No failed upload.",
            },
        ],
        "quick_actions": [{"label": "Upload data", "url": reverse("measurements:upload-list")}],
    }


@provider
def search_uploads(user: Any, text: str) -> list[Hit]:
    from measurements.selectors_ingest import search_uploads as find

    return [
        Hit(
            kind="upload",
            label=u.original_name,
            url=reverse("measurements:upload-detail", args=[u.pk]),
            detail=f"{u.stage}; {u.cell.code if u.cell else ''}",
        )
        for u in find(user, text)
    ]
