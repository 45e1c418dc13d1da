"""Scribner Associates ZPlot ``.z`` files.

Layout::

    ZPLOT2 ASCII
      Measured Data, ZPlot:       3.2c
      Experiment Type:            Sweep Frequency, Control Voltage
      Date:                       10-12-2018
      Time:                       11:04:34
      ... "key: value" settings ...
      Data Points:                56
      Freq(Hz)	Ampl	Bias	Time(Sec)	Z'(a)	Z''(b)	GD	Err	Range
    End Comments
    3.000000E+05	1.0000E-02	0.0000E+00	2.670000E+00	1.4777E+02	-1.1335E+01	...

``Z''(b)`` is the true Im(Z) (negative for capacitive behaviour). Canonical columns: freq_Hz,
z_re_ohm, z_im_ohm, time_s (``Time(Sec)``).

Fewer rows than ``Data Points`` (a sweep stopped early): the complete rows that are there are
returned and the discrepancy is recorded: ``metadata["declared_points"]``,
``metadata["truncated"] = True`` and a message in ``metadata["warnings"]``. An incomplete last
row (fewer values than column names) is a ParseError.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ._base import AnyArray, ParsedData, ParseError, validate
from ._text import decode_text

_MAP = {"Freq(Hz)": "freq_Hz", "Z'(a)": "z_re_ohm", "Z''(b)": "z_im_ohm", "Time(Sec)": "time_s"}


def read_z(path: Path, source: str | None = None) -> ParsedData:
    """Parse a ZPlot ``.z`` file (see the module docstring)."""
    source = source or path.name
    text, encoding = decode_text(path.read_bytes())
    lines = [ln.rstrip("\r") for ln in text.split("\n")]
    try:
        end = next(i for i, ln in enumerate(lines) if ln.strip() == "End Comments")
    except StopIteration:
        raise ParseError(f"{source}: ZPlot file without an 'End Comments' line") from None
    settings: dict[str, str] = {}
    for ln in lines[1:end]:
        if ":" in ln and "\t" not in ln:
            k, _, v = ln.partition(":")
            settings.setdefault(k.strip(), v.strip())
    names_line = lines[end - 1]
    names = [n.strip() for n in names_line.split("\t")]
    if "Freq(Hz)" not in names:
        raise ParseError(
            f"{source}: line {end} should hold the column names with 'Freq(Hz)', found "
            f"{names_line.strip()[:80]!r}"
        )
    body = [(k + end + 2, ln) for k, ln in enumerate(lines[end + 1 :]) if ln.strip()]
    rows: list[list[float]] = []
    for lineno, ln in body:
        parts = ln.split("\t")
        if len(parts) < len(names):
            raise ParseError(
                f"{source}: line {lineno} has {len(parts)} of {len(names)} values (truncated row)"
            )
        try:
            rows.append([float(p) for p in parts[: len(names)]])
        except ValueError:
            raise ParseError(f"{source}: line {lineno}: {ln[:60]!r} is not a row of numbers") from None
    arr = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(names))
    cols: dict[str, AnyArray] = {}
    src: dict[str, str] = {}
    for name, canon in _MAP.items():
        if name in names:
            cols[canon] = arr[:, names.index(name)]
            src[canon] = name
    declared: int | None = None
    m = re.match(r"\s*(\d+)", settings.get("Data Points", ""))
    if m:
        declared = int(m.group(1))
    warnings: list[str] = []
    if declared is not None and declared != len(rows):
        warnings.append(f"the header declares {declared} data points but the file holds {len(rows)}")
    start = None
    if "Date" in settings:
        for fmt in ("%m-%d-%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S"):
            try:
                start = datetime.strptime(
                    f"{settings['Date']} {settings.get('Time', '00:00:00')}", fmt
                ).isoformat()
                break
            except ValueError:
                continue
    meta: dict[str, Any] = {
        "instrument": "Scribner ZPlot",
        "experiment_type": settings.get("Experiment Type"),
        "start_time": start,
        "encoding": encoding,
        "declared_points": declared,
        "truncated": bool(declared is not None and len(rows) < declared),
        "warnings": warnings,
        "source_columns": src,
        "all_source_columns": names,
        "settings": settings,
    }
    out = ParsedData(format="zplot-z", technique="EIS", columns=cols, metadata=meta)
    return validate(out, source=source, first_data_line=end + 2)
