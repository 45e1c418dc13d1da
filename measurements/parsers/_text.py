"""Small helpers for text formats: encoding detection and number parsing."""

from __future__ import annotations

import re

_FLOAT_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def decode_text(raw: bytes) -> tuple[str, str]:
    """Decode instrument text: UTF-8 (with or without BOM) if valid, else Windows-1252, else
    Latin-1 (which never fails). Returns ``(text, encoding_name)``."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def is_number(s: str) -> bool:
    """True for ``1``, ``-1.5E+003``, ``1,5`` (decimal comma), ``.5``; False otherwise."""
    return bool(_FLOAT_RE.match(s.strip()))


def looks_binary(head: bytes) -> bool:
    """Heuristic: NUL bytes or many control characters mean it is not a text file."""
    if not head:
        return False
    if b"\x00" in head:
        return True
    sample = head[:4096]
    ctrl = sum(1 for b in sample if b < 32 and b not in (9, 10, 13, 12))
    return ctrl > len(sample) * 0.05
