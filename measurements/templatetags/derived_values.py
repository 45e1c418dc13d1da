"""How a derived value and its uncertainty are printed on the measurement pages: significant figures, never a
rounded-away zero.

``{% load derived_values %}``, then ``{{ row|derived_value }}`` and ``{{ row|derived_uncertainty }}`` for a
:class:`~measurements.models.DerivedProperty` (anything with ``value`` and ``uncertainty``), or
``{{ number|derived_value }}`` for a bare number.

The rule (GUM, JCGM 100:2008, 7.2.6: "at most two significant digits" of an uncertainty): the uncertainty is
shown to ``UNCERTAINTY_DIGITS`` significant figures and the value to the same decimal place, so that both end at
the same digit (0.221346 ± 0.000049, 0.3311 ± 0.0052); a value without an uncertainty has ``VALUE_DIGITS``
significant figures (but no digit before the decimal point is rounded away: 123456.7 -> 123457). A value that is not zero keeps at least one significant figure even when its uncertainty is
larger than it (0.00001 ± 0.50, not 0.00 ± 0.50). Plain notation between 10^-6 and 10^9, scientific outside.
"""

from __future__ import annotations

import math
from typing import Any

from django import template

register = template.Library()

VALUE_DIGITS = 4
UNCERTAINTY_DIGITS = 2
PLAIN_MIN, PLAIN_MAX = 1e-6, 1e9


def _exponent(x: float) -> int:
    """The decimal exponent of the leading digit of x != 0 (0.000049 -> -5, 221.3 -> 2)."""
    return math.floor(math.log10(abs(x)))


def _round_to_digits(x: float, digits: int) -> tuple[float, int]:
    """x rounded to ``digits`` significant figures, and the exponent of its last kept digit (rounding up may add
    a leading digit: 0.0995 to 2 figures is 0.10, last digit 10^-2)."""
    last = _exponent(x) - digits + 1
    rounded = round(x, -last)
    if rounded != 0 and _exponent(rounded) - digits + 1 > last:
        last += 1
        rounded = round(x, -last)
    return rounded, last


def _plain(x: float, last: int) -> str:
    return f"{x:.{max(0, -last)}f}" if last < 0 else f"{round(x, -last):.0f}"


def _scientific(x: float, last: int, exponent: int) -> str:
    return f"{x / 10.0**exponent:.{max(0, exponent - last)}f}e{exponent:+03d}"


def format_value(value: float, uncertainty: float | None = None) -> tuple[str, str]:
    """(value text, uncertainty text) per the rule of this module; the uncertainty text is "" when there is none."""
    v = float(value)
    u = None if uncertainty is None else abs(float(uncertainty))
    if not math.isfinite(v):
        return str(v), "" if u is None else _format_alone(u, UNCERTAINTY_DIGITS)
    if u is None or not math.isfinite(u) or u == 0:
        u_text = "" if u is None else (str(u) if not math.isfinite(u) else "0")
        return _format_alone(v, VALUE_DIGITS), u_text
    u_rounded, u_last = _round_to_digits(u, UNCERTAINTY_DIGITS)
    # a value smaller than the uncertainty's last digit keeps its first significant figure
    last = u_last if v == 0 else min(u_last, _exponent(v))
    biggest = max(abs(v), u_rounded)
    if PLAIN_MIN <= biggest < PLAIN_MAX and last >= -9:
        return _plain(v, last), _plain(u_rounded, u_last)
    return _scientific(v, last, _exponent(v) if v != 0 else _exponent(u_rounded)), _scientific(
        u_rounded, u_last, _exponent(u_rounded)
    )


def _format_alone(x: float, digits: int) -> str:
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    rounded, last = _round_to_digits(x, digits)
    if PLAIN_MIN <= abs(rounded) < PLAIN_MAX:
        text = _plain(x, min(last, 0))  # the digits before the decimal point are kept (10000.4 -> 10000)
        return text.rstrip("0").rstrip(".") if "." in text else text
    exponent = _exponent(rounded)
    text = _scientific(rounded, last, exponent)
    mantissa, _, exp = text.partition("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    return f"{mantissa}e{exp}"


def _pair(obj: Any) -> tuple[Any, Any]:
    if hasattr(obj, "value"):
        return obj.value, getattr(obj, "uncertainty", None)
    return obj, None


@register.filter
def derived_value(obj: Any) -> str:
    """The value of a derived property (or a bare number), to the decimal place of its uncertainty."""
    value, uncertainty = _pair(obj)
    if value is None or value == "":
        return ""
    try:
        return format_value(value, uncertainty)[0]
    except (TypeError, ValueError):
        return str(value)


def derived_texts(obj: Any) -> tuple[str, str]:
    """``(derived_value(obj), derived_uncertainty(obj))``, the value and its uncertainty rounded together once
    (each filter rounds both)."""
    value, uncertainty = _pair(obj)
    if value is None or value == "" or uncertainty is None or uncertainty == "":
        return derived_value(obj), derived_uncertainty(obj)
    try:
        return format_value(value, uncertainty)
    except (TypeError, ValueError):
        return str(value), str(uncertainty)


@register.filter
def derived_uncertainty(obj: Any) -> str:
    """The uncertainty of a derived property to UNCERTAINTY_DIGITS significant figures ("" when it has none)."""
    value, uncertainty = _pair(obj)
    if uncertainty is None or uncertainty == "":
        return ""
    try:
        return format_value(0.0 if value in (None, "") else value, uncertainty)[1]
    except (TypeError, ValueError):
        return str(uncertainty)
