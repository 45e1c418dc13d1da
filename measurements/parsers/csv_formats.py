"""Delimited text formats: generic CSV/TSV with a :class:`ColumnMapping`, impedance CSV, BDF CSV.

* **generic-csv** -- any lab layout: an optional preamble (``key;value`` lines, comments), one
  column-name line, then data rows. The caller declares which source column is which canonical
  column and in which unit (:class:`~measurements.parsers.units.ColumnMapping`). Trailing lines
  made only of delimiters (``;;;;``) are ignored. A row with fewer fields than the header is a
  ParseError (truncated file); so are missing/NaN/inf values in the key columns and missing
  cycle numbers.
* **impedance-csv** -- no header, three numeric columns ``frequency [Hz], Re(Z) [Ohm],
  Im(Z) [Ohm]`` (impedance.py's format). Im(Z) is taken AS GIVEN: it is the true imaginary part
  (negative for capacitive behaviour), not ``-Im(Z)``.
* **bdf-csv** -- Battery Data Format (https://battery-data-alliance.github.io): column names are
  ``Quantity / unit`` (``Test Time / s``, ``Voltage / V``, ``Current / A``,
  ``Cycle Count / 1``...); other columns (e.g. the original Arbin ones) are kept out.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._base import AnyArray, FloatArray, ParsedData, ParseError, validate
from ._text import decode_text, is_number
from .units import ColumnMapping


def _read_text(path: Path, encoding: str | None = None) -> tuple[str, str]:
    raw = path.read_bytes()
    if not raw:
        raise ParseError(f"{path.name}: the file is empty (0 bytes)")
    if encoding:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise ParseError(f"{path.name}: cannot decode as {encoding}: {exc}") from None
    return decode_text(raw)


def _split(line: str, delim: str) -> list[str]:
    return [f.strip().strip('"') for f in line.split(delim)]


def _find_header(
    lines: list[str], names: list[str], mapping: ColumnMapping, source: str
) -> tuple[int, str, list[str]]:
    """Locate the column-name line. Returns (line index, delimiter, field names)."""
    delims = [mapping.delimiter] if mapping.delimiter else ["\t", ";", ","]
    start = mapping.skip_rows
    if mapping.header_row is not None:
        i = start + mapping.header_row
        if i >= len(lines):
            raise ParseError(f"{source}: header_row {mapping.header_row} is past the end of the file")
        line = lines[i]
        delim = next((d for d in delims if d in line), delims[0])
        fields = _split(line, delim)
        missing = [n for n in names if n not in fields]
        if missing:
            raise ParseError(_missing_msg(source, i, fields, missing, mapping))
        return i, delim, fields
    best: tuple[int, int, str, list[str]] | None = None
    for i in range(start, min(len(lines), start + 1000)):
        for d in delims:
            if d not in lines[i]:
                continue
            fields = _split(lines[i], d)
            hits = sum(1 for n in names if n in fields)
            if hits == len(names):
                return i, d, fields
            if hits and (best is None or hits > best[0]):
                best = (hits, i, d, fields)
    if best is None:
        raise ParseError(
            f"{source}: no line holds any of the declared column names {', '.join(repr(n) for n in names)}"
        )
    _, i, _, fields = best
    missing = [n for n in names if n not in fields]
    raise ParseError(_missing_msg(source, i, fields, missing, mapping))


def _missing_msg(source: str, i: int, fields: list[str], missing: list[str], mapping: ColumnMapping) -> str:
    canon = {src: c for c, (src, _) in mapping.columns.items()}
    what = ", ".join(f"'{m}' (for {canon.get(m, '?')})" for m in missing)
    return (
        f"{source}: column {what} not found in the header on line {i + 1}; the header has: "
        f"{', '.join(f for f in fields if f)}"
    )


def _infer_technique(cols: dict[str, Any]) -> str:
    if "freq_Hz" in cols and "z_re_ohm" in cols:
        return "EIS"
    if "cycle" in cols or "current_A" in cols:
        return "CYCLING"
    return "UNKNOWN"


def read_generic_csv(
    path: Path, mapping: ColumnMapping, source: str | None = None, fmt: str = "generic-csv"
) -> ParsedData:
    """Parse a delimited text file with a declared :class:`ColumnMapping`."""
    source = source or path.name
    text, encoding = _read_text(path, mapping.encoding)
    lines = text.splitlines()
    names = [src for src, _ in mapping.columns.values()]
    hdr, delim, fields = _find_header(lines, names, mapping, source)
    fields = [f if f else f"_unnamed_{k}" for k, f in enumerate(fields)]
    body = lines[hdr + 1 :]
    # trailing lines made only of delimiters / whitespace are padding, not data
    while body and not body[-1].replace(delim, "").strip():
        body.pop()
    if not body:
        raise ParseError(f"{source}: the header is on line {hdr + 1} but no data rows follow")
    n_fields = len(fields)
    counts = np.fromiter((ln.count(delim) + 1 for ln in body), dtype=np.int64, count=len(body))
    short = counts < n_fields
    if short.any():
        k = int(np.argmax(short))
        last = k == len(body) - 1
        raise ParseError(
            f"{source}: line {hdr + 2 + k} has {int(counts[k])} of the {n_fields} fields named on "
            f"line {hdr + 1}" + ("; the file looks truncated (incomplete last row)" if last else "")
        )
    usecols = list(dict.fromkeys(names))
    try:
        df = pd.read_csv(
            io.StringIO("\n".join(body)),
            sep=delim,
            header=None,
            names=fields if len(set(fields)) == len(fields) else None,
            usecols=usecols if len(set(fields)) == len(fields) else None,
            decimal=mapping.decimal,
            engine="c",
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise ParseError(f"{source}: cannot read the data rows: {exc}") from None
    cols: dict[str, AnyArray] = {}
    src: dict[str, str] = {}
    units: dict[str, str] = {}
    for canon, (col, unit) in mapping.columns.items():
        raw = df[col]
        vals = _to_float(raw, mapping.decimal, col, hdr + 2, source)
        factor, offset = mapping.factors[canon]
        v = vals * factor + offset if (factor, offset) != (1.0, 0.0) else vals
        if canon in mapping.negate:
            v = -v
        cols[canon] = v
        src[canon] = col
        units[canon] = unit
    technique = mapping.technique or _infer_technique(cols)
    meta: dict[str, Any] = {
        "encoding": encoding,
        "delimiter": delim,
        "decimal": mapping.decimal,
        "header_line": hdr + 1,
        "source_columns": src,
        "source_units": units,
        "all_source_columns": fields,
        "preamble": _preamble(lines[:hdr], delim),
        "start_time": None,
    }
    out = ParsedData(format=fmt, technique=technique, columns=cols, metadata=meta)
    required = ("time_s",) if "time_s" in mapping.columns else ()
    return validate(out, source=source, first_data_line=hdr + 2, required=required)


def _to_float(raw: pd.Series, decimal: str, col: str, first_line: int, source: str) -> FloatArray:
    s = raw.astype(str).str.strip()
    if decimal == ",":
        s = s.str.replace(",", ".", regex=False)
    num = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64)
    # a value that is present but not a number (and not nan/inf spelled out) is an error
    bad = np.isnan(num) & (s != "").to_numpy() & ~s.str.lower().isin(["nan", "na", "n/a"]).to_numpy()
    if bad.any():
        k = int(np.argmax(bad))
        raise ParseError(f"{source}: line {first_line + k}, column '{col}': {raw.iloc[k]!r} is not a number")
    return num


def _preamble(lines: list[str], delim: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for ln in lines[:200]:
        parts = [p.strip() for p in ln.split(delim) if p.strip()]
        if len(parts) >= 2 and not parts[0].startswith("#") and len(out) < 100:
            out.setdefault(parts[0], parts[1])
    return out


def read_impedance_csv(path: Path, source: str | None = None) -> ParsedData:
    """Parse a header-less ``freq, Re(Z), Im(Z)`` CSV (Im(Z) taken as the true Im(Z))."""
    source = source or path.name
    text, encoding = _read_text(path)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise ParseError(f"{source}: the file holds only blank lines")
    delim = next((d for d in ("\t", ";", ",") if d in lines[0]), None)
    rows: list[list[float]] = []
    for k, ln in enumerate(lines):
        parts = ln.split(delim) if delim else ln.split()
        parts = [p.strip() for p in parts]
        if len(parts) != 3:
            raise ParseError(
                f"{source}: line {k + 1} has {len(parts)} values; 3 were expected (frequency, Re(Z), Im(Z))"
            )
        if not all(is_number(p) or p.lower() in ("nan", "inf", "-inf") for p in parts):
            raise ParseError(f"{source}: line {k + 1}: {ln.strip()[:60]!r} is not 3 numbers")
        rows.append([float(p.replace(",", ".")) if delim != "," else float(p) for p in parts])
    arr = np.asarray(rows, dtype=np.float64)
    cols: dict[str, AnyArray] = {"freq_Hz": arr[:, 0], "z_re_ohm": arr[:, 1], "z_im_ohm": arr[:, 2]}
    meta: dict[str, Any] = {
        "encoding": encoding,
        "delimiter": delim or "whitespace",
        "im_sign": "Im(Z) as given in the file (true imaginary part, negative = capacitive)",
        "source_columns": {"freq_Hz": "column 1", "z_re_ohm": "column 2", "z_im_ohm": "column 3"},
        "start_time": None,
    }
    out = ParsedData(format="impedance-csv", technique="EIS", columns=cols, metadata=meta)
    return validate(out, source=source, first_data_line=1)


# BDF quantity name (lower case) -> canonical column; the first present wins
BDF_QUANTITIES: list[tuple[str, str]] = [
    ("test time", "time_s"),
    ("voltage", "voltage_V"),
    ("current", "current_A"),
    ("net capacity", "charge_Ah"),
    ("charging capacity", "capacity_charge_Ah"),
    ("discharging capacity", "capacity_discharge_Ah"),
    ("net energy", "energy_Wh"),
    ("cycle count", "cycle"),
    ("step count", "step"),
    ("temperature t1", "temperature_C"),
    ("ambient temperature", "temperature_C"),
]
_BDF_COL = re.compile(r"^\s*(.+?)\s*/\s*(.*?)\s*$")


def read_bdf_csv(path: Path, source: str | None = None) -> ParsedData:
    """Parse a Battery Data Format CSV: map the ``Quantity / unit`` columns it has."""
    source = source or path.name
    with path.open("rb") as fh:
        first = fh.readline()
    header, _ = decode_text(first)
    delim = next((d for d in (",", "\t", ";") if d in header), ",")
    fields = _split(header.rstrip("\r\n"), delim)
    mapped: dict[str, tuple[str, str]] = {}
    for quantity, canon in BDF_QUANTITIES:
        if canon in mapped:
            continue
        for f in fields:
            m = _BDF_COL.match(f)
            if m and m.group(1).lower() == quantity:
                mapped[canon] = (f, m.group(2))
                break
    if "time_s" not in mapped:
        raise ParseError(f"{source}: BDF file without a 'Test Time / s' column")
    mapping = ColumnMapping(columns=mapped, delimiter=delim, header_row=0)
    out = read_generic_csv(path, mapping, source=source, fmt="bdf-csv")
    out.technique = "CYCLING"
    return out
