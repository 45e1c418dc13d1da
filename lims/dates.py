"""Dates of what happened in the lab cannot lie in the future: a lot received, a pellet sintered, a cell assembled,
a measurement started. Services refuse them (DomainError: 400 in the API, a form error on pages; a failed upload
for an instrument file), with a slack for clocks and time zones: a day for dates, ten minutes for times.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from lims.errors import DomainError

TIME_SLACK = timedelta(minutes=10)
DATE_SLACK = timedelta(days=1)


def refuse_future(value: Any, *, what: str, slack: timedelta | None = None) -> None:
    """Raise DomainError when ``value`` (a date or an aware datetime; None passes) is in the future."""
    if value is None:
        return
    if isinstance(value, datetime):
        now = timezone.now()
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        if value > now + (slack or TIME_SLACK):
            raise DomainError(
                f"{what} {value:%Y-%m-%d %H:%M} is in the future (now {timezone.localtime(now):%Y-%m-%d %H:%M}); "
                "check the date"
            )
    elif isinstance(value, date):
        today = timezone.localdate()
        if value > today + (slack or DATE_SLACK):
            raise DomainError(f"{what} {value} is in the future (today is {today}); check the date")
