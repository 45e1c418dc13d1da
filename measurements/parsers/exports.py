"""Exports of other cyclers, read from their documented column layouts (text and .xlsx).

A :class:`Layout` names an export by the column names on its header line (its *signature*), never by
the file extension, and says which source column is which canonical column in which unit. Text exports
are read with pandas' C reader over the data block; ``.xlsx`` workbooks with openpyxl in read-only mode
(sheet by sheet, the first sheet whose header matches a layout wins), after the zip directory has been
checked against :class:`~measurements.parsers.neware.ZipLimits`.

Layouts (each checked on a real file of ``../shared/echem_data`` or, for LAND, on the documented layout):

* **arbin-csv** -- Arbin MITS Pro CSV export: ``Data_Point, Test_Time, ..., Current, Voltage,
  Charge_Capacity, Discharge_Capacity`` in s, A, V, Ah.
* **arbin-xlsx** -- Arbin Excel export: sheets ``Channel_<n>_<k>`` with ``Test_Time(s), Voltage(V),
  Current(A), Cycle_Index, Step_Index, Charge_Capacity(Ah), Discharge_Capacity(Ah)``; several
  ``Channel_`` sheets of one test are concatenated in order.
* **land-xlsx** -- LAND (Wuhan LAND / LANHE) export from LANDdt with English headers: ``Record,
  TestTime/Sec, Cycle-Index, Step-Index, Voltage/V, Current/mA, Capacity/mAh`` (the column layout
  cellpy documents for these files).
* **maccor-raw** -- Maccor raw ASCII (``.NNN``): a ``Today's Date`` line, then tab-separated
  ``Rec#, Cyc#, Step, Test (Sec), Step (Sec), Amp-hr, Watt-hr, Amps, Volts, State``; Amps signed
  (negative on discharge).
* **maccor-text** -- Maccor text export with ``TestTime, Cap. [Ah], Current [A], Voltage [V]`` in a
  decimal-comma locale. ``TestTime`` is in MINUTES in this export (checked on the sample: one row per
  minute of ``DPT Time`` advances it by 1.0).
* **novonix-csv** -- Novonix HPC: ``[Summary]`` and ``[Protocol]`` sections, then ``[Data]`` with
  ``Run Time (h), Current (A), Potential (V), Capacity (Ah), Temperature (°C), Cycle Number, Step
  Number``; every data line may be wrapped in double quotes.
* **eclab-csv** -- EC-Lab "export as text" with ``;`` separators (``mode;ox;error;time/s;Ecell/V;
  ...;I/mA``), where ``time/s`` may hold absolute timestamps: they become seconds since the first row.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._base import AnyArray, FloatArray, ParsedData, ParseError, validate
from ._text import decode_text
from .neware import DEFAULT_ZIP_LIMITS, ZipLimits
from .units import unit_factor


@dataclass(frozen=True)
class Layout:
    """One instrument's export: how to recognise it and what each column means."""

    format: str
    label: str
    signature: tuple[str, ...]  # every one of these names is on the header line
    columns: Mapping[str, tuple[str, str]]  # canonical -> (source column, unit); all required
    optional: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    decimal: str = "."
    delimiter: str | None = None  # None: the first of tab, ';', ',' found on the header line
    timestamp_time: bool = False  # the time column may hold date-times instead of seconds
    kind: str = "text"  # "text" or "xlsx"
    technique: str = "CYCLING"


LAYOUTS: tuple[Layout, ...] = (
    Layout(
        format="arbin-csv",
        label="Arbin CSV export",
        signature=("Data_Point", "Test_Time", "Step_Index", "Cycle_Index", "Current", "Voltage"),
        columns={"time_s": ("Test_Time", "s"), "voltage_V": ("Voltage", "V"), "current_A": ("Current", "A")},
        optional={
            "cycle": ("Cycle_Index", ""),
            "step": ("Step_Index", ""),
            "capacity_charge_Ah": ("Charge_Capacity", "Ah"),
            "capacity_discharge_Ah": ("Discharge_Capacity", "Ah"),
            "temperature_C": ("Temperature", "degC"),
        },
        delimiter=",",
    ),
    Layout(
        format="arbin-xlsx",
        label="Arbin Excel export",
        signature=("Test_Time(s)", "Voltage(V)", "Current(A)", "Cycle_Index"),
        columns={
            "time_s": ("Test_Time(s)", "s"),
            "voltage_V": ("Voltage(V)", "V"),
            "current_A": ("Current(A)", "A"),
        },
        optional={
            "cycle": ("Cycle_Index", ""),
            "step": ("Step_Index", ""),
            "capacity_charge_Ah": ("Charge_Capacity(Ah)", "Ah"),
            "capacity_discharge_Ah": ("Discharge_Capacity(Ah)", "Ah"),
        },
        kind="xlsx",
    ),
    Layout(
        format="land-xlsx",
        label="LAND (LANHE) Excel export",
        signature=("TestTime/Sec", "Voltage/V", "Current/mA"),
        columns={
            "time_s": ("TestTime/Sec", "s"),
            "voltage_V": ("Voltage/V", "V"),
            "current_A": ("Current/mA", "mA"),
        },
        optional={
            "cycle": ("Cycle-Index", ""),
            "step": ("Step-Index", ""),
            "charge_Ah": ("Capacity/mAh", "mAh"),
        },
        kind="xlsx",
    ),
    Layout(
        format="maccor-raw",
        label="Maccor raw ASCII",
        signature=("Rec#", "Cyc#", "Step", "Test (Sec)", "Amps", "Volts"),
        columns={"time_s": ("Test (Sec)", "s"), "voltage_V": ("Volts", "V"), "current_A": ("Amps", "A")},
        optional={"cycle": ("Cyc#", ""), "step": ("Step", ""), "charge_Ah": ("Amp-hr", "Ah")},
        delimiter="\t",
    ),
    Layout(
        format="maccor-text",
        label="Maccor text export (decimal comma)",
        signature=("TestTime", "Current [A]", "Voltage [V]", "Cap. [Ah]"),
        columns={
            "time_s": ("TestTime", "min"),
            "voltage_V": ("Voltage [V]", "V"),
            "current_A": ("Current [A]", "A"),
        },
        optional={"cycle": ("Cycle C", ""), "step": ("Step", ""), "charge_Ah": ("Cap. [Ah]", "Ah")},
        decimal=",",
        delimiter="\t",
    ),
    Layout(
        format="novonix-csv",
        label="Novonix HPC CSV",
        signature=("Run Time (h)", "Current (A)", "Potential (V)"),
        columns={
            "time_s": ("Run Time (h)", "h"),
            "voltage_V": ("Potential (V)", "V"),
            "current_A": ("Current (A)", "A"),
        },
        optional={
            "cycle": ("Cycle Number", ""),
            "step": ("Step Number", ""),
            "charge_Ah": ("Capacity (Ah)", "Ah"),
            "temperature_C": ("Temperature (°C)", "degC"),
        },
        delimiter=",",
    ),
    Layout(
        format="eclab-csv",
        label="EC-Lab text export (';'-separated)",
        signature=("time/s", "I/mA"),
        columns={"time_s": ("time/s", "s"), "current_A": ("I/mA", "mA")},
        optional={
            "voltage_V": ("Ecell/V", "V"),
            "cycle": ("cycle number", ""),
            "charge_Ah": ("(Q-Qo)/mA.h", "mAh"),
        },
        delimiter=";",
        timestamp_time=True,
    ),
)

#: exports we recognise but do not read, with what to upload instead (signature on the first line)
NOT_READ: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("Cycle Index", "Chg. Cap.(Ah)", "DChg. Cap.(Ah)"),
        "a Neware BTS CSV export (cycle, step and record rows interleaved in one table) is not read; "
        "upload the .nda or .ndax file the tester wrote, which holds the same records",
    ),
    (
        ("test_id", "device_id", "iv_ch_id", "schedule_file_name"),
        "an Arbin test metadata file (schedule, channel and start time, no measured data); upload the "
        "data export of the same test (Arbin CSV or .xlsx)",
    ),
)

TEXT_FORMATS: frozenset[str] = frozenset(x.format for x in LAYOUTS if x.kind == "text")
XLSX_FORMAT = "xlsx"  # the container; the layout is found from the sheets' headers
_HEADER_SCAN_LINES = 200


def _fields(line: str, delimiter: str) -> list[str]:
    return [f.strip().strip('"').strip() for f in line.strip().strip('"').split(delimiter)]


def _match(fields: Sequence[str], kind: str) -> Layout | None:
    present = set(fields)
    for layout in LAYOUTS:
        if layout.kind == kind and all(s in present for s in layout.signature):
            return layout
    return None


def _delimiters(layout_delimiter: str | None, line: str) -> list[str]:
    if layout_delimiter:
        return [layout_delimiter]
    return [d for d in ("\t", ";", ",") if d in line]


def sniff_text_layout(lines: Sequence[str]) -> tuple[Layout, int] | None:
    """The layout and the index of its header line among the first lines of a text file, or None."""
    for i, line in enumerate(lines[:_HEADER_SCAN_LINES]):
        for d in ("\t", ";", ","):
            if d not in line:
                continue
            layout = _match(_fields(line, d), "text")
            if layout is not None and (layout.delimiter in (None, d)):
                return layout, i
    return None


def refuse_known_unreadable(lines: Sequence[str], source: str) -> None:
    """Raise a ParseError that names the export when the first line is one we know but do not read."""
    if not lines:
        return
    first = set(_fields(lines[0], ","))
    for signature, message in NOT_READ:
        if all(s in first for s in signature):
            raise ParseError(f"{source}: {message}")


# --------------------------------------------------------------------------------------------- text exports
def read_text_export(path: Path, source: str | None = None) -> ParsedData:
    """Parse a text export whose header matches one of :data:`LAYOUTS`."""
    source = source or path.name
    raw = path.read_bytes()
    if not raw:
        raise ParseError(f"{source}: the file is empty (0 bytes)")
    text, encoding = decode_text(raw)
    lines = text.splitlines()
    found = sniff_text_layout(lines)
    if found is None:
        raise ParseError(
            f"{source}: no header line of a known cycler export in the first {_HEADER_SCAN_LINES} lines"
        )
    layout, hdr = found
    delim = layout.delimiter or _delimiters(None, lines[hdr])[0]
    fields = _fields(lines[hdr], delim)
    body = [ln.strip().strip('"') if ln.startswith('"') else ln for ln in lines[hdr + 1 :]]
    # blank separator lines (Maccor puts one after the header) and padding made only of delimiters
    first = 0
    while first < len(body) and not body[first].replace(delim, "").strip():
        first += 1
    body = body[first:]
    while body and not body[-1].replace(delim, "").strip():
        body.pop()
    if not body:
        raise ParseError(f"{source}: the {layout.label} header is on line {hdr + 1} but no data rows follow")
    first_line = hdr + 2 + first
    counts = np.fromiter((ln.count(delim) + 1 for ln in body), dtype=np.int64, count=len(body))
    short = counts < len(fields)
    if short.any():
        k = int(np.argmax(short))
        raise ParseError(
            f"{source}: line {first_line + k} has {int(counts[k])} of the {len(fields)} fields of the "
            f"{layout.label} header on line {hdr + 1}"
            + ("; the file looks truncated (incomplete last row)" if k == len(body) - 1 else "")
        )
    names = [f if f else f"_unnamed_{k}" for k, f in enumerate(fields)]
    unique = len(set(names)) == len(names)
    wanted = _wanted_columns(layout, set(names))
    try:
        df = pd.read_csv(
            io.StringIO("\n".join(body)),
            sep=delim,
            header=None,
            names=names if unique else None,
            usecols=[src for src, _ in wanted.values()] if unique else None,
            dtype=str,
            keep_default_na=False,
            engine="c",
            quoting=3,  # csv.QUOTE_NONE: quotes were stripped per line above
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise ParseError(f"{source}: cannot read the {layout.label} data rows: {exc}") from None
    if not unique:
        df.columns = names[: len(df.columns)]
    frame = {src: df[src].astype(str).to_numpy() for src, _ in wanted.values()}
    meta: dict[str, Any] = {"encoding": encoding, "delimiter": delim, "header_line": hdr + 1}
    meta["preamble"] = _preamble(lines[:hdr])
    return _finish(layout, wanted, frame, source, first_line, meta)


def _wanted_columns(layout: Layout, present: set[str]) -> dict[str, tuple[str, str]]:
    missing = [src for src, _ in layout.columns.values() if src not in present]
    if missing:  # pragma: no cover - the signature holds the required names
        raise ParseError(f"{layout.label}: missing column(s) {missing}")
    wanted = dict(layout.columns)
    wanted.update({c: spec for c, spec in layout.optional.items() if spec[0] in present})
    return wanted


def _preamble(lines: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for ln in lines[:200]:
        parts = [p.strip().strip('"') for p in re.split(r"\t|;|:\s", ln, maxsplit=1)]
        if len(parts) == 2 and parts[0] and parts[1] and len(out) < 100:
            out.setdefault(parts[0][:80], parts[1][:200])
    return out


def _numbers(values: AnyArray, decimal: str, column: str, first_line: int, source: str) -> FloatArray:
    s = pd.Series(values, dtype=object).map(lambda v: "" if v is None else str(v).strip())
    if decimal == ",":
        s = s.str.replace(",", ".", regex=False)
    num = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(num) & (s != "").to_numpy() & ~s.str.lower().isin(["nan", "na", "n/a"]).to_numpy()
    if bad.any():
        k = int(np.argmax(bad))
        raise ParseError(f"{source}: line {first_line + k}, column '{column}': {values[k]!r} is not a number")
    return num


def _seconds(values: AnyArray, column: str, first_line: int, source: str) -> FloatArray:
    """Seconds since the first row from date-time strings (or datetime objects)."""
    stamps = pd.to_datetime(pd.Series(values), errors="coerce", dayfirst=False, format="mixed")
    bad = stamps.isna().to_numpy()
    if bad.any():
        k = int(np.argmax(bad))
        raise ParseError(
            f"{source}: line {first_line + k}, column '{column}': {values[k]!r} is neither a number of "
            "seconds nor a date-time"
        )
    ns = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return (ns - ns[0]).astype(np.float64) / 1e9


def _finish(
    layout: Layout,
    wanted: Mapping[str, tuple[str, str]],
    frame: Mapping[str, AnyArray],
    source: str,
    first_line: int,
    meta: dict[str, Any],
) -> ParsedData:
    cols: dict[str, AnyArray] = {}
    for canon, (src, unit) in wanted.items():
        values = frame[src]
        if canon == "time_s" and layout.timestamp_time and len(values) and not _is_numeric(values[0], layout):
            cols[canon] = _seconds(values, src, first_line, source)
            meta["time_from_timestamps"] = True
            continue
        factor, offset = unit_factor(canon, unit)
        v = _numbers(values, layout.decimal, src, first_line, source)
        cols[canon] = v * factor + offset if (factor, offset) != (1.0, 0.0) else v
    meta.update(
        {
            "export": layout.label,
            "source_columns": {c: s for c, (s, _) in wanted.items()},
            "source_units": {c: u for c, (_, u) in wanted.items()},
            "start_time": None,
        }
    )
    data = ParsedData(format=layout.format, technique=layout.technique, columns=cols, metadata=meta)
    return validate(data, source=source, first_data_line=first_line, required=("time_s",))


def _is_numeric(value: Any, layout: Layout) -> bool:
    if isinstance(value, int | float | np.number):
        return True
    s = str(value).strip()
    if layout.decimal == ",":
        s = s.replace(",", ".")
    try:
        float(s)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------------------------- xlsx exports
def check_xlsx_zip(path: Path, limits: ZipLimits, source: str) -> None:
    """Refuse zip bombs and non-workbooks before openpyxl decompresses anything."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ParseError(f"{source}: damaged or truncated .xlsx workbook: {exc}") from None
    if len(infos) > limits.max_members:
        raise ParseError(f"{source}: the workbook has {len(infos)} zip members (limit {limits.max_members})")
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if total > limits.max_total_bytes:
        raise ParseError(
            f"{source}: the workbook would expand to {total / 1e6:.1f} MB, more than the limit of "
            f"{limits.max_total_bytes / 1e6:.1f} MB; refusing to open it"
        )
    ratio = total / max(packed, 1)
    if ratio > limits.max_ratio:
        raise ParseError(
            f"{source}: the workbook has a compression ratio of {ratio:.0f}:1 (limit {limits.max_ratio:.0f}:1): "
            "looks like a zip bomb, refusing to open it"
        )
    if not any(i.filename.startswith("xl/worksheets/") for i in infos):
        raise ParseError(f"{source}: a zip archive that is not an Excel workbook (no xl/worksheets/)")


def _sheet_rows(ws: Any) -> Iterator[tuple[Any, ...]]:
    yield from ws.iter_rows(values_only=True)


def read_xlsx(path: Path, source: str | None = None, zip_limits: ZipLimits | None = None) -> ParsedData:
    """Parse an .xlsx export: the sheets whose header row matches an xlsx layout, concatenated in order."""
    import openpyxl

    source = source or path.name
    check_xlsx_zip(path, zip_limits or DEFAULT_ZIP_LIMITS, source)
    fh = path.open("rb")  # a file object: openpyxl would refuse a path by its extension alone
    try:
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on damaged workbooks
        fh.close()
        raise ParseError(f"{source}: cannot open the workbook: {type(exc).__name__}: {exc}") from None
    layout: Layout | None = None
    parts: list[dict[str, list[Any]]] = []
    sheets: list[str] = []
    wanted: dict[str, tuple[str, str]] = {}
    try:
        for ws in wb.worksheets:
            rows = _sheet_rows(ws)
            for header in rows:
                names = [str(v).strip() if v is not None else "" for v in header]
                found = _match(names, "xlsx")
                if found is None:
                    if sum(1 for v in header if v is not None) > 3:
                        break  # a table of something else (e.g. Global_Info): next sheet
                    continue
                if layout is not None and found.format != layout.format:
                    break
                layout = found
                wanted = _wanted_columns(layout, set(names))
                index = {src: names.index(src) for src, _ in wanted.values()}
                block: dict[str, list[Any]] = {src: [] for src in index}
                for row in rows:
                    if all(v is None for v in row):
                        continue
                    for src, k in index.items():
                        block[src].append(row[k] if k < len(row) else None)
                parts.append(block)
                sheets.append(ws.title)
                break
    finally:
        wb.close()
        fh.close()
    if layout is None or not parts:
        formats = ", ".join(x.label for x in LAYOUTS if x.kind == "xlsx")
        raise ParseError(f"{source}: no sheet of this workbook has the header of a known export ({formats})")
    frame = {src: np.array([v for p in parts for v in p[src]], dtype=object) for src in parts[0]}
    if not len(next(iter(frame.values()))):
        raise ParseError(f"{source}: the {layout.label} sheet(s) {sheets} hold no data rows")
    meta: dict[str, Any] = {"sheets": sheets}
    return _finish(layout, wanted, frame, source, 2, meta)
