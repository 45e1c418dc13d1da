"""Read replica for the API: safe (GET/HEAD/OPTIONS) requests under /api/ read from ``replica``, everything else
from ``default``, the primary and the single source of truth.

Enabled by ``DATABASE_REPLICA_URL`` (lims/settings.py adds the alias, this router and the middleware). What
stays on the primary even in a read-only API request:

- every write (``db_for_write`` is always ``default``), and every read inside a transaction that writes;
- sessions, API tokens, memberships and users: who may do what must never lag (a token revoked on the primary
  must stop working at once, not when the replica catches up);
- pages (they are few, and a researcher who just saved a form expects to see it).

A client that POSTs and then GETs through the API may read a replica that is a few milliseconds behind: the
API answers its writes with the written record, which is the copy to trust (docs/scaling.md).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.http import HttpRequest, HttpResponse

REPLICA = "replica"
PRIMARY = "default"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: models always read from the primary (authentication and authorisation must not lag)
PRIMARY_ONLY = frozenset({"sessions.session", "lims.apitoken", "lims.membership", "lims.user", "lims.team"})

_read_from_replica: contextvars.ContextVar[bool] = contextvars.ContextVar("lims_read_replica", default=False)


def replica_reads_allowed() -> bool:
    return _read_from_replica.get()


class use_replica_for_reads:  # noqa: N801 - used like a function: ``with use_replica_for_reads(): ...``
    """Within the block, reads of the non-security models go to the replica (the middleware's scope)."""

    def __enter__(self) -> None:
        self._token = _read_from_replica.set(True)

    def __exit__(self, *exc: object) -> None:
        _read_from_replica.reset(self._token)


def _in_transaction() -> bool:
    """In an ``atomic`` block of the code (the blocks a test case wraps every test in do not count)."""
    blocks = getattr(connections[PRIMARY], "atomic_blocks", [])
    return any(not getattr(block, "_from_testcase", False) for block in blocks)


class ReadReplicaRouter:
    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        if not replica_reads_allowed() or model._meta.label_lower in PRIMARY_ONLY:
            return PRIMARY
        if REPLICA not in connections.settings:
            return PRIMARY
        if _in_transaction():
            return PRIMARY  # inside a transaction: read what it wrote (and lock what it reads)
        return REPLICA

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # the same rows on both: a replica is a copy of the primary

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db == PRIMARY  # a physical replica follows the primary's schema by itself


class ReadReplicaMiddleware:
    """Marks safe API requests so that the router sends their reads to the replica."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in SAFE_METHODS and request.path.startswith("/api/"):
            with use_replica_for_reads():
                return self.get_response(request)
        return self.get_response(request)
