"""The audit trail: django-simple-history with the actor and the reason taken from context.

Every model of every app declares ``history = AuditedHistory()`` (or inherits it from ``lims.models.Audited``).
Changes made during a web request are attributed to the request's user by simple-history's middleware (a DRF token
user included: DRF sets the user on the underlying request). Changes made by services outside a request (Celery
tasks, management commands) are attributed with ``acting_as(user, reason=..., via=...)``. History rows are
append-only: the historical model refuses updates and deletes (``ImmutableHistory``), one row or in bulk (its
querysets, ``Model.history.filter(...).delete()`` included).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import models
from simple_history.manager import HistoricalQuerySet
from simple_history.models import HistoricalRecords


@dataclass(frozen=True)
class AuditContext:
    user: Any
    reason: str = ""
    via: str = ""


_current: ContextVar[AuditContext | None] = ContextVar("lims_audit_context", default=None)


@contextmanager
def acting_as(user: Any, *, reason: str = "", via: str = "service") -> Iterator[AuditContext]:
    """Attribute every change made inside the block to ``user`` with an optional ``reason``."""
    ctx = AuditContext(user=user, reason=reason, via=via)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def current_context() -> AuditContext | None:
    return _current.get()


class HistoryImmutableError(RuntimeError):
    pass


class _NoBulkChanges:
    """Queryset methods that would change or remove history rows in bulk, refused."""

    def update(self, **kwargs: Any) -> int:
        raise HistoryImmutableError("history rows cannot be changed")

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise HistoryImmutableError("history rows cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise HistoryImmutableError("history rows cannot be deleted")


class ImmutableRowsQuerySet(_NoBulkChanges, models.QuerySet):  # type: ignore[misc]
    """The default manager's querysets of a historical model."""


class ImmutableHistoryQuerySet(_NoBulkChanges, HistoricalQuerySet):  # type: ignore[misc]
    """The querysets of ``Model.history``."""


class ImmutableHistory(models.Model):
    """Base of every historical model: a history row is written once and never changed by the application."""

    history_via = models.CharField(max_length=40, blank=True, default="")

    objects = models.Manager.from_queryset(ImmutableRowsQuerySet)()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise HistoryImmutableError("history rows cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise HistoryImmutableError("history rows cannot be deleted")


#: bookkeeping that changes on every save or repeats another field: not a change of the record
NOT_DIFFED = frozenset({"id", "created_at", "updated_at", "name_lower"})


class AuditedHistory(HistoricalRecords):
    """HistoricalRecords that knows the actor and reason from ``acting_as`` and how the change arrived."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("bases", [ImmutableHistory])
        kwargs.setdefault("historical_queryset", ImmutableHistoryQuerySet)
        super().__init__(**kwargs)

    def get_history_user(self, instance: Any) -> Any:
        explicit = getattr(instance, "_history_user", None)
        if explicit is not None:
            return explicit
        ctx = _current.get()
        if ctx is not None and ctx.user is not None:
            return ctx.user
        return super().get_history_user(instance)

    def get_change_reason_for_object(self, instance: Any, history_type: Any, using: Any) -> Any:
        reason = super().get_change_reason_for_object(instance, history_type, using)
        if reason:
            return reason
        ctx = _current.get()
        return ctx.reason if ctx is not None else None

    def post_save(self, instance: Any, created: bool, using: Any = None, **kwargs: Any) -> None:
        """A save of excluded fields only (a login writing ``last_login``, a token its ``last_used_at``), or a save
        that leaves every tracked field as the record's last history row has it (a form saved unchanged),
        changes nothing the trail tracks: no history row, rather than a row that records nothing. A save with
        an explicit reason is always recorded."""
        update_fields = kwargs.get("update_fields")
        if not created and update_fields and set(update_fields) <= set(self.excluded_fields):
            return
        if not created and not kwargs.get("raw") and self._changes_nothing(instance, using):
            return
        super().post_save(instance, created, using=using, **kwargs)

    def _changes_nothing(self, instance: Any, using: Any) -> bool:
        ctx = _current.get()
        if getattr(instance, "_change_reason", None) or (ctx is not None and ctx.reason):
            return False
        history = getattr(instance, self.manager_name, None)
        if history is None:
            return False
        latest = history.using(using).order_by("-history_date", "-history_id").first()
        if latest is None:
            return False
        return all(
            getattr(latest, field.attname) == getattr(instance, field.attname)
            for field in history.model.tracked_fields
            if field.name not in NOT_DIFFED
        )

    def create_historical_record(self, instance: Any, history_type: Any, using: Any = None) -> Any:
        instance._history_via = _via_for_current_change()
        return super().create_historical_record(instance, history_type, using=using)


def _via_for_current_change() -> str:
    ctx = _current.get()
    if ctx is not None:
        return ctx.via
    request = getattr(HistoricalRecords.context, "request", None)
    if request is None:
        return "system"
    if request.path.startswith("/admin/"):
        return "admin"
    if request.path.startswith("/api/"):
        auth = getattr(request, "lims_token", None)
        return f"api-token:{auth.key_prefix}" if auth is not None else "api-session"
    return "web"


def _set_via(sender: Any, **kwargs: Any) -> None:
    history_instance = kwargs["history_instance"]
    instance = kwargs["instance"]
    history_instance.history_via = getattr(instance, "_history_via", "") or ""


def connect_signals() -> None:
    from simple_history.signals import pre_create_historical_record

    pre_create_historical_record.connect(_set_via, dispatch_uid="lims-audit-via")
