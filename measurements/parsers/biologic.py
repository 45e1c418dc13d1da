"""BioLogic EC-Lab files: binary ``.mpr`` (via galvani) and ASCII ``.mpt`` exports (own parser).

``.mpt`` layout (EC-Lab "Export as text")::

    EC-Lab ASCII FILE
    Nb header lines : 70
    <blank>
    Potentio Electrochemical Impedance Spectroscopy      <- technique name (line 4)
    ...  "key : value" settings lines ...
    freq/Hz<TAB>Re(Z)/Ohm<TAB>-Im(Z)/Ohm<TAB>...<TAB>     <- last header line = column names
    1.9999814E+005<TAB>1.0512296E+001<TAB>...             <- data, one row per line

* The text is Windows-1252 (``µF``, ``°C``, ``cm²``); UTF-8 is accepted too.
* Numbers use a decimal comma in some locales (``2,065059947832196E+001``).
* Old/short exports have a 3-line header (no technique line): the technique is then inferred
  from the columns.
* The data block is read with ``pyarrow.csv`` (multi-threaded C++), falling back to the pandas
  C engine for ragged rows; a Python scan of the lines only runs to explain an error.

``.mpr`` files start with ``BIO-LOGIC MODULAR FILE``; galvani decodes the data module, the
technique comes from the first byte of the settings module (ids observed in real files).

Canonical columns (identical rules for .mpr and .mpt so both parse to the same arrays):

* ``time_s`` <- ``time/s``; ``voltage_V`` <- ``Ewe/V`` or ``<Ewe>/V``;
* ``current_A`` <- ``I/mA`` or ``<I>/mA`` (x1e-3); when a file has neither (GCPL .mpr files
  only store ``dq/mA.h``) it is derived as ``dq / dt`` exactly like EC-Lab's export (0 where
  dt = 0);
* ``charge_Ah`` <- ``(Q-Qo)/mA.h`` (x1e-3) or ``(Q-Qo)/C`` (/3600): charge since the start of
  the technique, signed (positive = charge/oxidation);
* ``capacity_charge_Ah`` / ``capacity_discharge_Ah`` <- ``Q charge/discharge/mA.h`` split by
  sign (per half cycle, both >= 0), which equals EC-Lab's exported ``Q charge/mA.h`` /
  ``Q discharge/mA.h``;
* ``cycle`` <- ``cycle number`` (EC-Lab's convention: 0-based for GCPL/CA/CP/MB with
  "Charge/Discharge alternance", 1-based for CV/PEIS loops); when absent (.mpr of GCPL/CA/CP/MB)
  it is derived as ``half cycle // 2``, which is how EC-Lab computes it on export;
* ``half_cycle`` <- ``half cycle``; ``step`` <- ``Ns``; ``freq_Hz`` <- ``freq/Hz``;
  ``z_re_ohm`` <- ``Re(Z)/Ohm``; ``z_im_ohm`` <- ``-Im(Z)/Ohm`` NEGATED (true Im(Z)); files
  with only ``|Z|/Ohm`` and ``Phase(Z)/deg`` (MB .mpr) get Re = |Z| cos(phase),
  Im = |Z| sin(phase);
  ``temperature_C`` <- ``Temperature/°C``.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ._base import AnyArray, FloatArray, ParsedData, ParseError, validate
from ._text import decode_text, is_number

MPR_MAGIC = b"BIO-LOGIC MODULAR FILE\x1a"
MPT_MAGIC = b"EC-Lab ASCII FILE"

#: technique names as written on line 4 of an .mpt header
TECHNIQUE_NAMES: dict[str, str] = {
    "potentio electrochemical impedance spectroscopy": "PEIS",
    "galvano electrochemical impedance spectroscopy": "GEIS",
    "chronoamperometry / chronocoulometry": "CA",
    "chronoamperometry": "CA",
    "chronopotentiometry": "CP",
    "linear sweep voltammetry": "LSV",
    "cyclic voltammetry": "CV",
    "galvanostatic cycling with potential limitation": "GCPL",
    "open circuit voltage": "OCV",
    "modulo bat": "MB",
}
#: first byte of the .mpr settings module -> technique (observed in the EC-Lab files whose .mpt
#: export names the technique; unknown ids fall back to inference from the columns)
MPR_TECHNIQUE_IDS: dict[int, str] = {
    0x04: "GCPL",
    0x06: "CV",
    0x0B: "OCV",
    0x18: "CA",
    0x19: "CP",
    0x1D: "PEIS",
    0x1E: "GEIS",
    0x6C: "LSV",
    0x7F: "MB",
}

# canonical -> list of (source column, factor); the first present wins
_MAP: dict[str, list[tuple[str, float]]] = {
    "time_s": [("time/s", 1.0)],
    "voltage_V": [("Ewe/V", 1.0), ("<Ewe>/V", 1.0), ("Ecell/V", 1.0)],
    "current_A": [("I/mA", 1e-3), ("<I>/mA", 1e-3), ("I/A", 1.0), ("<I>/A", 1.0)],
    "charge_Ah": [("(Q-Qo)/mA.h", 1e-3), ("(Q-Qo)/C", 1.0 / 3600.0), ("(Q-Qo)/A.h", 1.0)],
    "cycle": [("cycle number", 1.0)],
    "half_cycle": [("half cycle", 1.0)],
    "step": [("Ns", 1.0)],
    "freq_Hz": [("freq/Hz", 1.0)],
    "z_re_ohm": [("Re(Z)/Ohm", 1.0)],
    "z_im_ohm": [("-Im(Z)/Ohm", -1.0), ("Im(Z)/Ohm", 1.0)],
    "temperature_C": [("Temperature/°C", 1.0)],
}
_QCD = "Q charge/discharge/mA.h"
_DQ = "dq/mA.h"
_ZMOD = "|Z|/Ohm"
_ZPHASE = "Phase(Z)/deg"
_EXTRA_SOURCES = (_QCD, _DQ, "Q charge/mA.h", "Q discharge/mA.h", _ZMOD, _ZPHASE)


def needed_source_columns(names: list[str]) -> list[str]:
    """The source columns (present in ``names``) the canonical mapping may use."""
    wanted = {src for opts in _MAP.values() for src, _ in opts} | set(_EXTRA_SOURCES)
    return [n for n in names if n in wanted]


def infer_technique(names: list[str] | set[str]) -> str:
    """Guess the technique from the column names when the file does not say it."""
    s = set(names)
    has_z = "freq/Hz" in s and ("Re(Z)/Ohm" in s or "-Im(Z)/Ohm" in s)
    cycling = "half cycle" in s or _QCD in s or _DQ in s
    if has_z and not cycling:
        return "PEIS" if "control/V" in s else "EIS"
    if "control/V/mA" in s:
        return "MB" if has_z else "GCPL"
    if "control/mA" in s and "control/V" not in s:
        return "CP"
    if s <= {"mode", "error", "time/s", "Ewe/V", "flags", "ox/red"} and "Ewe/V" in s:
        return "OCV"
    if cycling:
        return "CYCLING"
    return "UNKNOWN"


def to_canonical(
    get: dict[str, FloatArray],
) -> tuple[dict[str, AnyArray], dict[str, str], list[str]]:
    """Map BioLogic columns to canonical ones. Returns (columns, source_columns, derived)."""
    cols: dict[str, AnyArray] = {}
    source: dict[str, str] = {}
    derived: list[str] = []
    for canon, options in _MAP.items():
        for src, factor in options:
            if src in get:
                v = np.asarray(get[src], dtype=np.float64)
                cols[canon] = v * factor if factor != 1.0 else v
                source[canon] = src
                break
    if "current_A" not in cols and _DQ in get and "time/s" in get:
        t = np.asarray(get["time/s"], dtype=np.float64)
        dq = np.asarray(get[_DQ], dtype=np.float64)
        cur = np.zeros(len(t))
        dt = np.diff(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            cur[1:] = np.where(dt > 0, dq[1:] / np.where(dt > 0, dt, 1.0) * 3600.0, 0.0)
        cols["current_A"] = cur * 1e-3
        source["current_A"] = f"derived: {_DQ} / dt"
        derived.append("current_A")
    if _QCD in get:
        q = np.asarray(get[_QCD], dtype=np.float64) * 1e-3
        cols["capacity_charge_Ah"] = np.where(q > 0, q, 0.0)
        cols["capacity_discharge_Ah"] = np.where(q < 0, -q, 0.0)
        source["capacity_charge_Ah"] = f"{_QCD} (> 0 part)"
        source["capacity_discharge_Ah"] = f"{_QCD} (< 0 part, negated)"
    elif "Q charge/mA.h" in get and "Q discharge/mA.h" in get:
        cols["capacity_charge_Ah"] = np.asarray(get["Q charge/mA.h"], dtype=np.float64) * 1e-3
        cols["capacity_discharge_Ah"] = np.asarray(get["Q discharge/mA.h"], dtype=np.float64) * 1e-3
        source["capacity_charge_Ah"] = "Q charge/mA.h"
        source["capacity_discharge_Ah"] = "Q discharge/mA.h"
    if "freq_Hz" in cols and "z_re_ohm" not in cols and _ZMOD in get and _ZPHASE in get:
        # .mpr files of MB/GCPL+EIS store only |Z| and Phase(Z); EC-Lab's export computes
        # Re(Z) = |Z| cos(phase) and -Im(Z) = -|Z| sin(phase)
        zmod = np.asarray(get[_ZMOD], dtype=np.float64)
        phase = np.deg2rad(np.asarray(get[_ZPHASE], dtype=np.float64))
        cols["z_re_ohm"] = zmod * np.cos(phase)
        cols["z_im_ohm"] = zmod * np.sin(phase)
        source["z_re_ohm"] = f"derived: {_ZMOD} * cos({_ZPHASE})"
        source["z_im_ohm"] = f"derived: {_ZMOD} * sin({_ZPHASE})"
        derived += ["z_re_ohm", "z_im_ohm"]
    if "cycle" not in cols and "half_cycle" in cols:
        hc = cols["half_cycle"]
        if np.all(np.isfinite(hc)):
            cols["cycle"] = np.floor_divide(hc, 2.0)
            source["cycle"] = "derived: half cycle // 2"
            derived.append("cycle")
    return cols, source, derived


# ----------------------------------------------------------------------------------- .mpt


def _parse_ec_lab_date(text: str) -> str | None:
    text = text.strip()
    for fmt in ("%m/%d/%Y %H:%M:%S.%f", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S.%f"):
        try:
            return datetime.strptime(text, fmt).isoformat()
        except ValueError:
            continue
    return None


def _header_settings(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        if " : " in line:
            k, _, v = line.partition(" : ")
            k = k.strip()
            if k and k not in out and len(out) < 300:
                out[k] = v.strip()
    return out


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        if n in seen:
            seen[n] += 1
            out.append(f"{n} ({seen[n]})")
        else:
            seen[n] = 1
            out.append(n)
    return out


#: more header lines than any EC-Lab export has (the longest, Modulo Bat with many sequences, have a few thousand)
MAX_HEADER_LINES = 100_000


def read_mpt_header(fh: io.BufferedReader, source: str) -> tuple[list[str], list[str], int, str]:
    """Read the header of an open .mpt file.

    Returns (header lines, column names, number of header lines, encoding); ``fh`` is left at
    the first data byte.
    """
    first = fh.readline()
    if not first.startswith(MPT_MAGIC):
        raise ParseError(f"{source}: not an EC-Lab ASCII file (line 1 should be 'EC-Lab ASCII FILE')")
    second = fh.readline()
    m = re.match(rb"\s*Nb header lines\s*:\s*(\d+)", second)
    if not m:
        raise ParseError(f"{source}: line 2 should be 'Nb header lines : N', found {second[:60]!r}")
    n_header = int(m.group(1))
    if n_header < 3:
        raise ParseError(f"{source}: line 2 declares {n_header} header lines, at least 3 expected")
    if n_header > MAX_HEADER_LINES:
        # read line by line into memory, a huge count on a file of short lines would exhaust the worker
        raise ParseError(
            f"{source}: line 2 declares {n_header} header lines; EC-Lab writes at most a few thousand "
            f"(limit {MAX_HEADER_LINES}): a damaged or hand-edited file"
        )
    raw = [first, second]
    for i in range(n_header - 2):
        line = fh.readline()
        if not line:
            raise ParseError(
                f"{source}: the header declares {n_header} lines but the file ends at line "
                f"{i + 3} (truncated file?)"
            )
        raw.append(line)
    text, encoding = decode_text(b"".join(raw))
    lines = [ln.rstrip("\r") for ln in text.split("\n")][:n_header]
    names = lines[-1].split("\t")
    while names and not names[-1].strip():
        names.pop()
    names = [n.strip() for n in names]
    if not names or any(is_number(n) for n in names if n):
        raise ParseError(
            f"{source}: line {n_header} should hold the column names (tab-separated), "
            f"found {lines[-1][:80]!r}"
        )
    return lines, names, n_header, encoding


def _last_lines(path: Path, n: int = 2) -> list[bytes]:
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - 65536))
        tail = fh.read()
    parts = tail.rstrip(b"\r\n").split(b"\n")
    return [p.rstrip(b"\r") for p in parts[-n:]]


def _diagnose(
    data: bytes, names: list[str], needed: list[str], decimal: str, first_line: int, source: str
) -> None:
    """Slow scan used only after the fast reader failed: raise a precise ParseError."""
    idx = {n: i for i, n in enumerate(names)}
    lines = data.split(b"\n")
    if lines and lines[-1].strip() == b"":
        lines.pop()
    for k, raw in enumerate(lines):
        line = raw.rstrip(b"\r").decode("latin-1")
        lineno = first_line + k
        if not line.strip():
            raise ParseError(f"{source}: line {lineno} is empty inside the data block")
        fields = line.split("\t")
        if fields and fields[-1] == "":
            fields.pop()
        if len(fields) > len(names):
            raise ParseError(
                f"{source}: line {lineno} has {len(fields)} values but the column-name line "
                f"(line {first_line - 1}) names only {len(names)} columns: a column name is "
                "missing from the header"
            )
        for col in needed:
            j = idx[col]
            if j < len(fields):
                v = fields[j].strip()
                if decimal == ",":
                    v = v.replace(",", ".")
                try:
                    float(v)
                except ValueError:
                    raise ParseError(
                        f"{source}: line {lineno}, column {j + 1} '{col}': {fields[j]!r} is not a number"
                    ) from None


def read_mpt(path: Path, source: str | None = None) -> ParsedData:
    """Parse an EC-Lab ``.mpt`` ASCII export (see the module docstring)."""
    source = source or path.name
    with path.open("rb") as fh:
        lines, names, n_header, encoding = read_mpt_header(fh, source)
        data_offset = fh.tell()
        sample = fh.read(65536)
    first_data = sample.split(b"\n", 1)[0]
    if not first_data.strip():
        raise ParseError(f"{source}: the file has a header but no data rows")
    names = _unique(names)
    technique_name = lines[3].strip() if n_header > 3 else ""
    technique = TECHNIQUE_NAMES.get(technique_name.lower(), "")
    if not technique:
        technique = infer_technique(names)
    if technique in ("PEIS", "GEIS", "EIS"):
        for must in ("freq/Hz", "Re(Z)/Ohm"):
            if must not in names:
                raise ParseError(
                    f"{source}: {technique} file has no '{must}' column (column names on line "
                    f"{n_header}: {', '.join(names[:8])}, ...); an impedance export needs "
                    "freq/Hz, Re(Z)/Ohm and -Im(Z)/Ohm"
                )
    # decimal-comma locales: commas and no dots in the first 64 KiB of data
    decimal = "," if b"," in sample and b"." not in sample else "."
    # truncated last line: fewer values than the line before it
    tail = _last_lines(path, 2)
    if len(tail) == 2:
        n_last, n_prev = tail[1].count(b"\t") + 1, tail[0].count(b"\t") + 1
        if n_last < n_prev:
            raise ParseError(
                f"{source}: the last line has {n_last} values, the previous one {n_prev}: "
                "the file looks truncated (incomplete last row)"
            )
    needed = needed_source_columns(names)
    if not needed:
        raise ParseError(
            f"{source}: none of the EC-Lab columns time/s, Ewe/V, I/mA, freq/Hz... found on "
            f"line {n_header} (found {names[:10]})"
        )
    get = _read_block(path, data_offset, names, needed, decimal, n_header + 1, source)
    cols, src, derived = to_canonical(get)
    start = None
    settings = _header_settings(lines[2:-1])
    for key in ("Acquisition started on", "Technique started on"):
        if key in settings:
            start = _parse_ec_lab_date(settings[key])
            if start:
                break
    meta: dict[str, Any] = {
        "instrument": "BioLogic EC-Lab",
        "technique_name": technique_name or None,
        "technique_source": "header" if technique_name.lower() in TECHNIQUE_NAMES else "columns",
        "start_time": start,
        "encoding": encoding,
        "decimal": decimal,
        "header_lines": n_header,
        "source_columns": src,
        "all_source_columns": names,
        "derived_columns": derived,
        "settings": settings,
    }
    out = ParsedData(format="biologic-mpt", technique=technique, columns=cols, metadata=meta)
    return validate(out, source=source, first_data_line=n_header + 1, required=("time_s",))


def _read_block(
    path: Path,
    offset: int,
    names: list[str],
    needed: list[str],
    decimal: str,
    first_line: int,
    source: str,
) -> dict[str, FloatArray]:
    read_opts = pacsv.ReadOptions(column_names=names, block_size=1 << 24)
    parse_opts = pacsv.ParseOptions(delimiter="\t", quote_char=False, ignore_empty_lines=True)
    conv_opts = pacsv.ConvertOptions(
        include_columns=needed,
        column_types={n: pa.float64() for n in needed},
        decimal_point=decimal,
        strings_can_be_null=False,
    )
    try:
        with pa.memory_map(str(path)) as src:  # native reads, no Python file wrapper
            src.seek(offset)
            table = pacsv.read_csv(
                src, read_options=read_opts, parse_options=parse_opts, convert_options=conv_opts
            )
        # per-chunk Array.to_numpy (ChunkedArray.to_numpy would import pandas: seconds)
        return {
            n: np.concatenate(
                [c.to_numpy(zero_copy_only=False) for c in table.column(n).chunks] or [np.empty(0)]
            ).astype(np.float64, copy=False)
            for n in needed
        }
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    with path.open("rb") as fh:
        fh.seek(offset)
        block = fh.read()
    _diagnose(block, names, needed, decimal, first_line, source)
    # ragged (short) rows: pandas' C engine fills the missing trailing values with NaN
    import pandas as pd

    try:
        df = pd.read_csv(
            io.BytesIO(block),
            sep="\t",
            header=None,
            names=names,
            usecols=needed,
            decimal=decimal,
            dtype=np.float64,
            engine="c",
            skip_blank_lines=True,
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise ParseError(f"{source}: cannot read the data block: {exc}") from None
    return {n: df[n].to_numpy(dtype=np.float64) for n in needed}


# ----------------------------------------------------------------------------------- .mpr


def read_mpr(path: Path, source: str | None = None) -> ParsedData:
    """Parse an EC-Lab binary ``.mpr`` file with galvani (see the module docstring)."""
    source = source or path.name
    try:
        from galvani import BioLogic
    except ImportError as exc:  # pragma: no cover - galvani is a dependency
        raise ParseError(f"{source}: reading .mpr files needs the 'galvani' package") from exc
    try:
        mpr = BioLogic.MPRfile(str(path))
    except NotImplementedError as exc:
        raise ParseError(
            f"{source}: this EC-Lab .mpr file contains a data column the .mpr decoder (galvani) "
            f"does not know ({exc}); export the run as text (.mpt) from EC-Lab and upload that "
            "instead"
        ) from None
    except (ValueError, AssertionError, EOFError, OSError, IndexError, KeyError, TypeError) as exc:
        raise ParseError(
            f"{source}: cannot decode this .mpr file (truncated or unsupported EC-Lab version): "
            f"{type(exc).__name__}: {exc}"
        ) from None
    data = mpr.data
    names = list(data.dtype.names or ())
    get = {n: np.asarray(data[n], dtype=np.float64) for n in needed_source_columns(names)}
    cols, src, derived = to_canonical(get)
    technique = ""
    tech_id: int | None = None
    for mod in mpr.modules:
        if mod["shortname"].strip() == b"VMP Set" and len(mod["data"]) > 0:
            tech_id = int(mod["data"][0])
            technique = MPR_TECHNIQUE_IDS.get(tech_id, "")
    technique_source = "settings" if technique else "columns"
    if not technique:
        technique = infer_technique(names)
    ts = getattr(mpr, "timestamp", None)
    start: str | None = None
    if isinstance(ts, datetime):
        start = ts.isoformat()
    elif isinstance(getattr(mpr, "startdate", None), date):
        start = mpr.startdate.isoformat()
    meta: dict[str, Any] = {
        "instrument": "BioLogic EC-Lab",
        "technique_id": tech_id,
        "technique_source": technique_source,
        "start_time": start,
        "mpr_version": int(getattr(mpr, "version", 0)),
        "source_columns": src,
        "all_source_columns": names,
        "derived_columns": derived,
    }
    out = ParsedData(format="biologic-mpr", technique=technique, columns=cols, metadata=meta)
    return validate(out, source=source, required=("time_s",))
