"""CAS Registry Numbers: format and check digit (pure Python, no Django).

A CAS number is written ``NNNNNNN-NN-R``: two to seven digits, a hyphen, two digits, a hyphen and one check digit.
The check digit R is the sum of the other digits, each multiplied by its position counted from the right
(starting at 1), modulo 10. Reference: CAS, "CAS Registry Number Verification",
https://www.cas.org/support/documentation/chemical-substances/checkdig

Example, water 7732-18-5: digits 7 7 3 2 1 8 from the left, weights 6 5 4 3 2 1,
7x6 + 7x5 + 3x4 + 2x3 + 1x2 + 8x1 = 42 + 35 + 12 + 6 + 2 + 8 = 105, 105 mod 10 = 5.
"""

from __future__ import annotations

import re

_CAS = re.compile(r"^(\d{2,7})-(\d{2})-(\d)$")


class CasNumberError(ValueError):
    """A CAS number that is malformed or whose check digit is wrong; the message says which."""


def cas_check_digit(body: str) -> int:
    """The check digit of the digits before it ("773218" -> 5 for water, 7732-18-5)."""
    if not body.isdigit():
        raise CasNumberError(f"a CAS number has only digits and hyphens, got {body!r}")
    return sum(int(d) * weight for weight, d in enumerate(reversed(body), start=1)) % 10


def normalise_cas(text: str) -> str:
    """Return the CAS number in canonical form (leading zeros dropped, hyphens in place) or raise CasNumberError.

    Accepts "7732-18-5", " 7732-18-5 " and the hyphen-less "7732185".
    """
    raw = (text or "").strip()
    if not raw:
        raise CasNumberError("the CAS number is empty")
    if raw.isdigit():
        if not 5 <= len(raw) <= 10:
            raise CasNumberError(f"a CAS number has 5 to 10 digits, got {len(raw)}: {raw!r}")
        raw = f"{raw[:-3]}-{raw[-3:-1]}-{raw[-1]}"
    m = _CAS.match(raw)
    if not m:
        raise CasNumberError(
            f"a CAS number looks like 7732-18-5 (2-7 digits, 2 digits, 1 check digit), got {raw!r}"
        )
    first, second, check = m.groups()
    first = first.lstrip("0") or "0"
    if len(first) < 2:
        raise CasNumberError(f"the first part of a CAS number has at least 2 digits, got {raw!r}")
    expected = cas_check_digit(first + second)
    if int(check) != expected:
        raise CasNumberError(
            f"{raw} is not a valid CAS number: its check digit should be {expected}, not {check}"
        )
    return f"{first}-{second}-{check}"


def is_valid_cas(text: str) -> bool:
    try:
        normalise_cas(text)
    except CasNumberError:
        return False
    return True
