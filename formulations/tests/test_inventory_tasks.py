"""The daily expiry task marks available lots past their date, once, and leaves the rest alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from formulations.models import LotStatus, StockLot
from formulations.services import inventory as services
from formulations.tasks import mark_expired_lots
from formulations.tests.test_inventory_fixtures import *  # noqa: F403  (fixtures)

pytestmark = pytest.mark.django_db


def _lot(chemical, user, *, expires_in_days, status=LotStatus.AVAILABLE):
    today = timezone.localdate()
    lot = services.receive_lot(
        chemical=chemical,
        quantity="5 g",
        actor=user,
        received_on=today - timedelta(days=100),
        status=status,
        expires_on=today + timedelta(days=30),
    )
    # the date passes: move the expiry into the past without the service re-marking it
    StockLot.objects.filter(pk=lot.pk).update(expires_on=today + timedelta(days=expires_in_days))
    return lot


def test_the_task_is_registered_under_the_name_the_beat_schedule_uses():
    assert settings.CELERY_BEAT_SCHEDULE["mark-expired-lots"]["task"] == mark_expired_lots.name
    assert mark_expired_lots.name == "formulations.tasks.mark_expired_lots"


def test_the_expiry_task_marks_lots_past_their_date_once_and_records_why(lifsi, researcher):
    past = _lot(lifsi, researcher, expires_in_days=-1)
    today_lot = _lot(lifsi, researcher, expires_in_days=0)
    future = _lot(lifsi, researcher, expires_in_days=5)
    held = _lot(lifsi, researcher, expires_in_days=-3, status=LotStatus.QUARANTINE)

    assert mark_expired_lots.delay().get() == 1
    statuses = dict(StockLot.objects.values_list("pk", "status"))
    assert statuses == {
        past.pk: LotStatus.EXPIRED,
        today_lot.pk: LotStatus.AVAILABLE,  # usable through its last day
        future.pk: LotStatus.AVAILABLE,
        held.pk: LotStatus.QUARANTINE,  # already held back; consuming it needs a manager anyway
    }
    record = past.history.latest()
    assert (record.history_change_reason, record.history_via) == (
        f"expired on {timezone.localdate() - timedelta(days=1)}",
        "celery:mark_expired_lots",
    )
    assert mark_expired_lots.delay().get() == 0  # idempotent
