"""Recognise an instrument file from its CONTENT (magic bytes, header lines).

The file name extension is only used to break a tie (e.g. a zip archive whose first member is
not one of the known Neware members); it never decides alone.

========================= ====================================================================
format                    what the start of the file looks like
========================= ====================================================================
biologic-mpr              ``BIO-LOGIC MODULAR FILE\\x1a``
biologic-mpt              ``EC-Lab ASCII FILE`` / ``Nb header lines : N``
neware-nda                ``NEWARE`` followed by a date (binary)
neware-ndax               zip archive (``PK\\x03\\x04``) with Step.xml / TestInfo.xml / data.ndc
gamry-dta                 ``EXPLAIN`` then ``TAG<TAB>...`` (Gamry Framework)
zplot-z                   ``ZPLOT2 ASCII`` (Scribner ZPlot)
bdf-csv                   CSV header with Battery Data Format names ``Test Time / s`` ...
impedance-csv             no header, 3 numeric columns (frequency, Re(Z), Im(Z))
arbin-csv, maccor-raw,    a header line carrying the column names of that cycler's export
maccor-text, novonix-csv, (:mod:`.exports`: ``Data_Point,Test_Time,...``, ``Rec#<TAB>Cyc#...``,
eclab-csv                 ``Run Time (h)``..., ``time/s;...;I/mA``)
xlsx                      zip archive whose first member is ``[Content_Types].xml`` (Arbin, LAND)
generic-csv               other delimited text; needs a :class:`ColumnMapping` to be parsed
========================= ====================================================================
"""

from __future__ import annotations

import re
import struct

from ._base import ParseError
from ._text import decode_text, is_number, looks_binary
from .exports import refuse_known_unreadable, sniff_text_layout

#: member names found in Neware .ndax archives
NDAX_MEMBERS = (
    b"Step.xml",
    b"TestInfo.xml",
    b"VersionInfo.xml",
    b"EditStep.xml",
    b"data.ndc",
    b"DAComment.xml",
)
BDF_MARKERS = ("Test Time / s", "Voltage / V", "Current / A")
HEAD_BYTES = 65536


def _zip_first_member(head: bytes) -> bytes:
    if len(head) < 30:
        return b""
    name_len = struct.unpack("<H", head[26:28])[0]
    return head[30 : 30 + name_len]


def _split_fields(line: str) -> list[str]:
    for sep in ("\t", ";", ","):
        if sep in line:
            return [f.strip() for f in line.split(sep)]
    return line.split()


def detect_format(head: bytes, filename: str | None = None) -> str:
    """Return the format name of a file from its first bytes (64 KiB are plenty).

    Raises :class:`ParseError` for empty input and for content that is not a recognised
    instrument file (binary garbage, unknown archives, ...).
    """
    name = (filename or "").lower()
    if not head:
        raise ParseError(f"{filename or 'file'}: the file is empty (0 bytes)")
    if head.startswith(b"BIO-LOGIC MODULAR FILE"):
        return "biologic-mpr"
    if head.startswith(b"NEWARE"):
        return "neware-nda"
    if head.startswith(b"PK\x03\x04"):
        member = _zip_first_member(head)
        if member in NDAX_MEMBERS or member.endswith(b".ndc"):
            return "neware-ndax"
        if member == b"[Content_Types].xml" or member.startswith(b"xl/") or member.startswith(b"docProps/"):
            return "xlsx"  # an Office Open XML workbook: the export layout is read from its sheets
        if name.endswith(".ndax"):  # tie-break only: a zip whose first member we do not know
            return "neware-ndax"
        raise ParseError(
            f"{filename or 'file'}: not a recognised instrument file: a zip archive whose first "
            f"member is {member[:60]!r}"
        )
    if looks_binary(head):
        raise ParseError(
            f"{filename or 'file'}: not a recognised instrument file: binary content that "
            "matches no known instrument format (BioLogic .mpr, Neware .nda/.ndax)"
        )
    text, _ = decode_text(head)
    text = text.lstrip("\ufeff")
    stripped = text.lstrip()
    if stripped.startswith("EC-Lab ASCII FILE"):
        return "biologic-mpt"
    if stripped.startswith("EXPLAIN") and re.search(r"^TAG\t", text, re.M):
        return "gamry-dta"
    if stripped.startswith("ZPLOT2 ASCII") or stripped.startswith("ZPLOT ASCII"):
        return "zplot-z"
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise ParseError(f"{filename or 'file'}: the file holds only blank lines")
    if all(m in lines[0] for m in BDF_MARKERS[:1]) and (
        "Voltage / V" in lines[0] or "Current / A" in lines[0]
    ):
        return "bdf-csv"
    layout = sniff_text_layout(lines)
    if layout is not None:
        return layout[0].format
    refuse_known_unreadable(lines, filename or "file")
    # at most 50 lines; drop the last line of a full head sample, it may be cut
    sample = lines[: min(50, len(lines) - 1)] if len(head) >= HEAD_BYTES else lines[:50]
    rows = [_split_fields(ln) for ln in sample]
    if rows and all(len(r) == 3 and all(is_number(v) for v in r) for r in rows):
        return "impedance-csv"
    seps = [s for s in ("\t", ";", ",") if s in lines[0]]
    if seps and len(lines) >= 2:
        return "generic-csv"
    if name.endswith((".csv", ".tsv", ".txt")) and len(lines) >= 2:
        return "generic-csv"
    raise ParseError(
        f"{filename or 'file'}: not a recognised instrument file: text starting with "
        f"{lines[0][:60]!r} matches no known format (EC-Lab .mpt, Gamry .DTA, ZPlot .z, "
        "BDF/impedance CSV, Arbin/Maccor/Novonix/EC-Lab CSV exports)"
    )
