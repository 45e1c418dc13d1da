"""How the pages write values, as plain functions over column values (for list pages that print rows).

A page that shows a list of records as model instances lets the template call ``get_state_display``, ``str()`` of
each related record, ``|date`` and ``|floatformat`` for every cell of every row; on the cell list page that was most
of its 25 ms (the template engine resolves every attribute through several look-ups, the date filter localises its
format per call). The hot list pages read rows (``values_list``) and make each row's texts here, once, with the
functions below; the template then prints ready texts. Each function writes what the template expression it stands
for writes (named in its docstring); ``lims/tests/test_presentation.py`` compares them on hostile values.
"""

from __future__ import annotations

import datetime
import decimal
import functools
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.signals import setting_changed
from django.template.defaultfilters import floatformat
from django.utils import timezone
from django.utils.translation import get_language


def labels(choices: Iterable[tuple[Any, Any]]) -> Mapping[Any, str]:
    """``value -> label`` of a field's choices, for ``get_<field>_display`` (``choice_label``)."""
    return {value: str(label) for value, label in choices}


def choice_label(table: Mapping[Any, str], value: Any) -> Any:
    """``{{ obj.get_<field>_display }}``: the label of the value, else the value itself."""
    return table.get(value, value)


def minute_text(value: datetime.datetime | None, zone: datetime.tzinfo | None = None) -> str:
    """``{{ value|date:"Y-m-d H:i" }}``: the local time (USE_TZ) to the minute; "" for None. ``zone``: the current
    time zone (``timezone.get_current_timezone()``), when the caller has read it once for a whole list."""
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value, zone)
    return minute_digits(value)


def minute_digits(value: datetime.datetime) -> str:
    """Django's ``Y-m-d H:i`` of a time as it is (no conversion): zero-padded to 4, 2, 2, 2 and 2 digits."""
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:{value.minute:02d}"


def percent_text(fraction: float | None) -> str | None:
    """``{% widthratio fraction 1 100 %}``: a fraction (0-1) as a whole percent (Python's rounding); None for
    None (the templates write a dash)."""
    if fraction is None:
        return None
    return str(round(float(fraction) / 1.0 * 100))


#: ``fixed``'s language argument when the caller did not read it
CURRENT_LANGUAGE: Any = object()


def fixed(value: Any, digits: int, language: Any = CURRENT_LANGUAGE) -> str:
    """``{{ value|floatformat:digits }}`` (Django's own filter). Its answer depends only on the text of the number,
    the digits and the language's number format; it costs ~30 µs (decimal arithmetic, the locale's formats), and
    a list page's numbers repeat (a mould's area on every cell), so the answers for numbers are remembered
    (``_fixed_text``; emptied when a setting changes, as Django's formats cache is). ``language``: the active
    language (``get_language()``), when the caller has read it once for a whole list."""
    kind: Any = type(value)
    if kind is float or kind is int or kind is decimal.Decimal:
        if language is CURRENT_LANGUAGE:
            language = get_language()
        return _fixed_text(kind, str(value), digits, language)
    return str(floatformat(value, digits))


@functools.lru_cache(maxsize=4096)
def _fixed_text(kind: Any, text: str, digits: int, language: str | None) -> str:
    return str(floatformat(kind(text), digits))  # float(str(x)) == x, int and Decimal likewise


def _forget_fixed(**kwargs: Any) -> None:
    _fixed_text.cache_clear()


setting_changed.connect(_forget_fixed)
