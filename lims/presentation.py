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
from collections.abc import Iterable, Mapping
from typing import Any

from django.template.defaultfilters import floatformat
from django.utils import timezone


def labels(choices: Iterable[tuple[Any, Any]]) -> Mapping[Any, str]:
    """``value -> label`` of a field's choices, for ``get_<field>_display`` (``choice_label``)."""
    return {value: str(label) for value, label in choices}


def choice_label(table: Mapping[Any, str], value: Any) -> Any:
    """``{{ obj.get_<field>_display }}``: the label of the value, else the value itself."""
    return table.get(value, value)


def minute_text(value: datetime.datetime | None) -> str:
    """``{{ value|date:"Y-m-d H:i" }}``: the local time (USE_TZ) to the minute; "" for None."""
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:{value.minute:02d}"


def percent_text(fraction: float | None) -> str | None:
    """``{% widthratio fraction 1 100 %}``: a fraction (0-1) as a whole percent (Python's rounding); None for
    None (the templates write a dash)."""
    if fraction is None:
        return None
    return str(round(float(fraction) / 1.0 * 100))


def fixed(value: Any, digits: int) -> str:
    """``{{ value|floatformat:digits }}`` (Django's own filter)."""
    return str(floatformat(value, digits))
