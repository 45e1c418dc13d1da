"""Gamry Framework ``.DTA`` files (EXPLAIN format).

Layout: tab-separated ``KEY<TAB>TYPE<TAB>VALUE<TAB>label`` lines, then one or more tables::

    EXPLAIN
    TAG	EISPOT                       <- experiment type (EISPOT, EISGALV, CV, CHRONOA, CORPOT...)
    DATE	LABEL	4/23/2018	Date
    TIME	LABEL	16:43:15	Time
    NOTES	NOTES	2	&Notes...          <- followed by 2 indented note lines
    VDC	POTEN	-5.00000E-002	T	DC &Voltage (V)
    ZCURVE	TABLE	72                  <- table name, TABLE, (optional) row count
        Pt	Time	Freq	Zreal	Zimag	...  <- column names (line starts with a TAB)
        #	s	Hz	ohm	ohm	...          <- units
        0	1	10000	224.6	-3.77	...      <- rows, each starting with a TAB

A table ends at the first line that does not start with a TAB. EIS data is the ``ZCURVE`` table;
CA/CP/OCP data the ``CURVE`` table; CV data ``CURVE1``..``CURVEn`` (one per cycle, concatenated
here with ``cycle`` = the curve number, 1-based). ``OCVCURVE`` (the pre-measurement OCV) is not
returned, only its row count in metadata.

Canonical columns: ``T``/``Time`` -> time_s, ``Vf`` (or ``Vdc`` for EIS) -> voltage_V (V vs.
reference), ``Im`` (or ``Idc``) -> current_A, ``Freq`` -> freq_Hz, ``Zreal`` -> z_re_ohm,
``Zimag`` -> z_im_ohm (Gamry already gives the TRUE Im(Z), negative for capacitive behaviour),
``Temp`` -> temperature_C unless it is Gamry's "no sensor" value -327.67.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ._base import AnyArray, ParsedData, ParseError, validate
from ._text import decode_text, is_number

TAG_TECHNIQUES: dict[str, str] = {
    "EISPOT": "PEIS",
    "EISGALV": "GEIS",
    "CV": "CV",
    "RCV": "CV",
    "CHRONOA": "CA",
    "CHRONOP": "CP",
    "CORPOT": "OCV",
    "LSV": "LSV",
    "GALVCYC": "CYCLING",
}
_COLUMN_MAP: list[tuple[str, tuple[str, ...]]] = [
    ("time_s", ("T", "Time")),
    ("voltage_V", ("Vf", "Vdc")),
    ("current_A", ("Im", "Idc")),
    ("freq_Hz", ("Freq",)),
    ("z_re_ohm", ("Zreal",)),
    ("z_im_ohm", ("Zimag",)),
    ("temperature_C", ("Temp",)),
]
_NO_SENSOR = -327.67


class _Table:
    def __init__(self, name: str, line: int) -> None:
        self.name = name
        self.line = line
        self.columns: list[str] = []
        self.units: list[str] = []
        self.rows: list[list[str]] = []
        self.first_row_line = 0


def _parse_date(date: str | None, time: str | None) -> str | None:
    if not date:
        return None
    d = date.replace("-", "/").replace(".", "/")
    for fmt in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y"):
        try:
            text = f"{d} {time}" if "%H" in fmt and time else d
            return datetime.strptime(text, fmt).isoformat()
        except ValueError:
            continue
    return None


def read_dta(path: Path, source: str | None = None) -> ParsedData:
    """Parse a Gamry ``.DTA`` file (see the module docstring)."""
    source = source or path.name
    raw = path.read_bytes()
    if not raw:
        raise ParseError(f"{source}: the file is empty (0 bytes)")
    text, encoding = decode_text(raw)
    lines = [ln.rstrip("\r") for ln in text.split("\n")]
    if not lines[0].strip().startswith("EXPLAIN"):
        raise ParseError(f"{source}: not a Gamry EXPLAIN file (line 1 should be 'EXPLAIN')")
    settings: dict[str, Any] = {}
    tables: list[_Table] = []
    ignored: list[int] = []
    i = 1
    n = len(lines)
    while i < n:
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        fields = line.split("\t")
        key = fields[0].strip()
        kind = fields[1].strip() if len(fields) > 1 else ""
        if key and kind == "TABLE":
            tab = _Table(key, i + 1)
            i += 1
            if i < n and lines[i].startswith("\t"):
                tab.columns = [c.strip() for c in lines[i].split("\t")[1:]]
                i += 1
            if i < n and lines[i].startswith("\t"):
                first = lines[i].split("\t")[1:]
                if first and not is_number(first[0]):
                    tab.units = [u.strip() for u in first]
                    i += 1
            tab.first_row_line = i + 1
            while i < n and lines[i].startswith("\t"):
                tab.rows.append(lines[i].split("\t")[1:])
                i += 1
            tables.append(tab)
            continue
        if key and kind == "NOTES":
            try:
                n_notes = int(fields[2])
            except (IndexError, ValueError):
                n_notes = 0
            settings[key] = "\n".join(ln.strip() for ln in lines[i + 1 : i + 1 + n_notes])
            i += 1 + n_notes
            continue
        if key and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            if key == "TAG" or len(fields) < 3:
                settings[key] = fields[1].strip() if len(fields) > 1 else ""
            else:
                settings[key] = fields[2].strip()
        else:
            ignored.append(i + 1)
        i += 1
    tag = str(settings.get("TAG", ""))
    technique = TAG_TECHNIQUES.get(tag.upper(), "UNKNOWN")
    if not tables:
        raise ParseError(f"{source}: Gamry file without any data TABLE")
    eis = [t for t in tables if t.name == "ZCURVE"]
    if technique in ("PEIS", "GEIS") or eis:
        data_tables = eis
        if not data_tables:
            raise ParseError(f"{source}: Gamry EIS file ({tag}) without a ZCURVE table")
    else:
        data_tables = [t for t in tables if re.fullmatch(r"CURVE\d*", t.name)]
        if not data_tables:
            data_tables = [t for t in tables if t.name != "OCVCURVE"] or tables
    columns0 = data_tables[0].columns
    for t in data_tables[1:]:
        if t.columns != columns0:
            raise ParseError(
                f"{source}: table {t.name} (line {t.line}) has columns {t.columns}, table "
                f"{data_tables[0].name} has {columns0}"
            )
    cols: dict[str, AnyArray] = {}
    src: dict[str, str] = {}
    for canon, names in _COLUMN_MAP:
        for name in names:
            if name in columns0:
                j = columns0.index(name)
                vals: list[float] = []
                for t in data_tables:
                    for k, row in enumerate(t.rows):
                        try:
                            vals.append(float(row[j]))
                        except (IndexError, ValueError):
                            got = row[j] if j < len(row) else "nothing"
                            raise ParseError(
                                f"{source}: line {t.first_row_line + k}, column '{name}' of "
                                f"table {t.name}: {got!r} is not a number"
                            ) from None
                cols[canon] = np.asarray(vals, dtype=np.float64)
                src[canon] = name
                break
    if "temperature_C" in cols and np.all(np.isclose(cols["temperature_C"], _NO_SENSOR)):
        del cols["temperature_C"]
        del src["temperature_C"]
    numbered = [re.fullmatch(r"CURVE(\d+)", t.name) for t in data_tables]
    if len(data_tables) > 1 or (numbered and numbered[0]):
        cyc: list[int] = []
        for t, m in zip(data_tables, numbered, strict=True):
            cyc += [int(m.group(1)) if m else 1] * len(t.rows)
        cols["cycle"] = np.asarray(cyc, dtype=np.int64)
        src["cycle"] = "CURVEn table number"
    meta: dict[str, Any] = {
        "instrument": "Gamry",
        "tag": tag,
        "title": settings.get("TITLE"),
        "start_time": _parse_date(
            str(settings.get("DATE")) if settings.get("DATE") else None,
            str(settings.get("TIME")) if settings.get("TIME") else None,
        ),
        "encoding": encoding,
        "tables": {t.name: len(t.rows) for t in tables},
        "source_columns": src,
        "all_source_columns": columns0,
        "units": dict(zip(columns0, data_tables[0].units, strict=False)),
        "settings": {k: v for k, v in settings.items() if isinstance(v, str)},
        "ignored_lines": ignored[:50],
    }
    out = ParsedData(format="gamry-dta", technique=technique, columns=cols, metadata=meta)
    first_line = data_tables[0].first_row_line if len(data_tables) == 1 else None
    return validate(out, source=source, first_data_line=first_line)
