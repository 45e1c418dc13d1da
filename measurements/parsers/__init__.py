"""Instrument file parsers for the LIMS (pure Python, no Django).

Usage::

    from measurements.parsers import parse_file, detect_format, ParseError, ColumnMapping

    data = parse_file("run42.mpr")          # format detected from the content
    data.format, data.technique, data.n_rows
    data.columns["voltage_V"]                # numpy arrays, canonical names, SI units
    data.metadata["start_time"]              # JSON-serialisable metadata

Supported formats (see each module's docstring for the file layout and column rules):
BioLogic ``.mpr`` / ``.mpt`` (:mod:`.biologic`), Neware ``.nda`` / ``.ndax`` (:mod:`.neware`),
Gamry ``.DTA`` (:mod:`.gamry`), Scribner ZPlot ``.z`` (:mod:`.zplot`), impedance CSV,
Battery Data Format CSV and any CSV/TSV with a :class:`ColumnMapping` (:mod:`.csv_formats`), and the
exports of Arbin (CSV, .xlsx), LAND (.xlsx), Maccor (raw ASCII, text), Novonix and EC-Lab CSV
(:mod:`.exports`).

Error policy: every problem is a :class:`ParseError` with a message for a researcher (file,
line/column, what was expected). Truncated files (incomplete last row, damaged binary) are
rejected with ParseError; the one exception is a ZPlot file holding fewer complete rows than its
header declares, which is parsed with ``metadata["truncated"] = True``.
"""

from __future__ import annotations

from pathlib import Path

from ._base import (
    CANONICAL_COLUMNS,
    INTEGER_COLUMNS,
    KEY_COLUMNS,
    TECHNIQUES,
    ParsedData,
    ParseError,
)
from .detect import HEAD_BYTES, detect_format
from .exports import TEXT_FORMATS, XLSX_FORMAT
from .neware import ZipLimits
from .units import ColumnMapping, unit_factor

__all__ = [
    "CANONICAL_COLUMNS",
    "INTEGER_COLUMNS",
    "KEY_COLUMNS",
    "TECHNIQUES",
    "ColumnMapping",
    "ParseError",
    "ParsedData",
    "ZipLimits",
    "detect_format",
    "parse_file",
    "unit_factor",
]


def parse_file(
    path: str | Path,
    *,
    filename: str | None = None,
    mapping: ColumnMapping | None = None,
    zip_limits: ZipLimits | None = None,
) -> ParsedData:
    """Parse one instrument file into canonical columns.

    ``filename`` is the original name (e.g. of an upload stored under a random name); it is used
    in messages and only to break ties in format detection. ``mapping`` is required for
    generic CSV/TSV files and, when given, forces the generic reader for any text file.
    ``zip_limits`` bounds the expansion of Neware ``.ndax`` archives.
    """
    p = Path(path)
    source = filename or p.name
    try:
        with p.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
    except FileNotFoundError:
        raise ParseError(f"{source}: file not found") from None
    except IsADirectoryError:
        raise ParseError(f"{source}: is a directory, not a file") from None
    fmt = detect_format(head, source)
    if mapping is not None:
        if fmt in ("generic-csv", "bdf-csv", "impedance-csv") or fmt in TEXT_FORMATS:
            from .csv_formats import read_generic_csv

            return read_generic_csv(p, mapping, source=source)
        raise ParseError(
            f"{source}: a column mapping was given but the file is a {fmt} file, which is read without one"
        )
    if fmt == "biologic-mpt":
        from .biologic import read_mpt

        return read_mpt(p, source)
    if fmt == "biologic-mpr":
        from .biologic import read_mpr

        return read_mpr(p, source)
    if fmt in ("neware-nda", "neware-ndax"):
        from .neware import read_neware

        return read_neware(p, source, zip_limits)
    if fmt == "gamry-dta":
        from .gamry import read_dta

        return read_dta(p, source)
    if fmt == "zplot-z":
        from .zplot import read_z

        return read_z(p, source)
    if fmt == "impedance-csv":
        from .csv_formats import read_impedance_csv

        return read_impedance_csv(p, source)
    if fmt == "bdf-csv":
        from .csv_formats import read_bdf_csv

        return read_bdf_csv(p, source)
    if fmt in TEXT_FORMATS:
        from .exports import read_text_export

        return read_text_export(p, source)
    if fmt == XLSX_FORMAT:
        from .exports import read_xlsx

        return read_xlsx(p, source, zip_limits)
    if fmt == "generic-csv":
        raise ParseError(
            f"{source}: this looks like a CSV/TSV table from no known instrument; declare its "
            "columns and units with a ColumnMapping to import it"
        )
    raise ParseError(f"{source}: not a recognised instrument file ({fmt})")  # pragma: no cover
