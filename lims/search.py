"""One global search box: each app registers a provider ``(user, text) -> list of hits``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Hit:
    kind: str
    label: str
    url: str
    detail: str = ""


Provider = Callable[[Any, str], list[Hit]]
_PROVIDERS: list[Provider] = []


def provider(fn: Provider) -> Provider:
    _PROVIDERS.append(fn)
    return fn


def search(user: Any, text: str) -> list[Hit]:
    text = text.strip()
    if not text:
        return []
    hits: list[Hit] = []
    for fn in _PROVIDERS:
        hits.extend(fn(user, text))
    return hits
