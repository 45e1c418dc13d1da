"""The texts list pages make for their rows (lims/presentation.py) are what the template expressions they stand
for write: the date to the minute in local time, ``widthratio``, ``floatformat``, a choice's label."""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.utils import timezone, translation

from lims.presentation import choice_label, fixed, labels, minute_text, percent_text


def _render(source: str, **context: Any) -> str:
    return Template(source).render(Context(context))


MOMENTS = [
    datetime.datetime(2026, 12, 6, 0, 8, 32, 998240, tzinfo=datetime.UTC),
    datetime.datetime(2026, 3, 29, 0, 59, tzinfo=datetime.UTC),  # the hour Europe moves its clocks
    datetime.datetime(999, 1, 2, 3, 4, tzinfo=datetime.UTC),  # a year of three digits: Django pads it
    datetime.datetime(2026, 7, 1, 23, 30),  # naive: printed as it is
]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "Asia/Kolkata", "America/St_Johns"])
@pytest.mark.parametrize("moment", MOMENTS, ids=str)
def test_minute_text_is_the_date_filter_in_local_time(zone: str, moment: datetime.datetime) -> None:
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        expected = _render('{{ v|date:"Y-m-d H:i" }}', v=moment)
        assert minute_text(moment) == expected
        assert minute_text(moment, timezone.get_current_timezone()) == expected  # the zone read once per list
    assert minute_text(None) == ""


@pytest.mark.parametrize("fraction", [0.0, 0.2, 0.125, 0.135, 0.005, 0.015, 0.6, 1.0, 0.33333, 2.5e-7])
def test_percent_text_is_widthratio_of_the_fraction(fraction: float) -> None:
    assert percent_text(fraction) == _render("{% widthratio f 1 100 %}", f=fraction)
    assert percent_text(None) is None


NUMBERS: list[Any] = [
    1.13,
    0.0,
    -0.0,
    2.5e-5,
    1234567.891,
    -3.14159,
    7,
    0.0005,
    1e300,
    float("inf"),
    float("nan"),
]
NUMBERS += [Decimal("1.50"), Decimal("-0.0005"), Decimal("NaN"), 10**30, "2.5", None, True]


@pytest.mark.parametrize("value", NUMBERS, ids=repr)
@pytest.mark.parametrize("digits", [0, 3, 4, 5, -1, -3])
def test_fixed_is_floatformat(value: Any, digits: int) -> None:
    expected = _render(f'{{{{ v|floatformat:"{digits}" }}}}', v=value)
    assert fixed(value, digits) == expected
    assert fixed(value, digits) == expected  # remembered: the same answer


def test_fixed_remembers_per_language_and_forgets_when_a_setting_changes() -> None:
    """The remembered answers are the filter's in each language and under each setting that formats numbers."""
    for _ in range(2):
        for language in ("en-gb", "de", "fr"):
            with translation.override(language):
                for value in (1234567.891, 0.5, 1.13):
                    assert fixed(value, 3) == _render('{{ v|floatformat:"3" }}', v=value)
    before = fixed(1234567.891, 2)
    with override_settings(USE_THOUSAND_SEPARATOR=True, NUMBER_GROUPING=3, THOUSAND_SEPARATOR=","):
        grouped = _render('{{ v|floatformat:"2" }}', v=1234567.891)
        assert grouped != before  # the setting does change what the filter writes
        assert fixed(1234567.891, 2) == grouped
    assert fixed(1234567.891, 2) == before


def test_choice_label_is_get_display_and_falls_back_to_the_value() -> None:
    table = labels([("on_test", "On test"), ("done", "Done <b>")])
    assert choice_label(table, "on_test") == "On test"
    assert choice_label(table, "done") == "Done <b>"  # escaped by the template that prints it, not here
    assert choice_label(table, "unknown") == "unknown"
