"""Derived properties: the analyses that run after a measurement is parsed (owned by the derived-properties work).

``run_for_measurement`` is the hook the ingestion pipeline calls in the worker, stage "analysing".
"""

from __future__ import annotations

from typing import Any


def run_for_measurement(measurement_id: int, *, actor: Any = None) -> list[Any]:
    """Compute and upsert every derived property the measurement allows; returns the rows written."""
    return []
