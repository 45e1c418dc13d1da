"""What the home page shows; each app contributes panels and quick actions through a registered section.

A section is a function ``user -> {"panels": [...], "quick_actions": [...]}``; a panel is a dict with title,
headers, rows (each {"cells": [...], "url": ...}), an empty text and optionally "wide" (spans two columns).
Sections run selectors, never raw queries in templates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Section = Callable[[Any], dict[str, list[dict[str, Any]]]]
_SECTIONS: list[Section] = []


def section(fn: Section) -> Section:
    _SECTIONS.append(fn)
    return fn


def build(user: Any) -> dict[str, list[dict[str, Any]]]:
    context: dict[str, list[dict[str, Any]]] = {"panels": [], "quick_actions": []}
    for fn in _SECTIONS:
        for key, items in fn(user).items():
            context.setdefault(key, []).extend(items)
    return context
