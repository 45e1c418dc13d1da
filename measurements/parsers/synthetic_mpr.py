"""Write synthetic BioLogic EC-Lab binary (``.mpr``) files from canonical SI arrays.

Used by the demo, so that its raw files include the binary format a VMP potentiostat writes; read back by
:func:`measurements.parsers.parse_file` (through galvani) into the same canonical arrays.

The layout is the one galvani decodes (the format is undocumented; galvani reverse-engineered it):

* the magic ``BIO-LOGIC MODULAR FILE\\x1a`` padded to 48 bytes, then 4 zero bytes;
* modules, each ``MODULE`` + short name (10 bytes) + long name (25) + data length (u4) + version (u4) + date
  (8, ``mm/dd/yy``) + the data;
* ``VMP Set``: the settings; its first byte is the technique id (0x1D PEIS, 0x04 GCPL, ...);
* ``VMP data`` version 2: the number of points (u4), of columns (u1), the column ids (u2 each), zeros up to byte
  405, then the records, one packed struct per point, in the column order (time/s f8, Ewe/V f4, I/mA f4, ...).

Values the format keeps in float32 (potential, current, impedance) lose digits beyond ~7 significant figures,
as in a real file.

Example::

    write_mpr(path, "PEIS", {"time_s": t, "freq_Hz": f, "z_re_ohm": zr, "z_im_ohm": zi})
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .biologic import MPR_TECHNIQUE_IDS

MAGIC = b"BIO-LOGIC MODULAR FILE\x1a".ljust(48) + b"\x00\x00\x00\x00"
DATA_HEADER_BYTES = 405  # version-2 data module: the records start here

# canonical -> (galvani column id, dtype, factor from SI to the BioLogic unit), in the order they are written
_COLUMNS: dict[str, tuple[int, str, float]] = {
    "time_s": (4, "<f8", 1.0),  # time/s
    "voltage_V": (6, "<f4", 1.0),  # Ewe/V
    "current_A": (8, "<f4", 1e3),  # I/mA
    "charge_Ah": (13, "<f8", 1e3),  # (Q-Qo)/mA.h
    "cycle": (24, "<f8", 1.0),  # cycle number
    "freq_Hz": (32, "<f4", 1.0),  # freq/Hz
    "z_re_ohm": (37, "<f4", 1.0),  # Re(Z)/Ohm
    "z_im_ohm": (38, "<f4", -1.0),  # -Im(Z)/Ohm
    "temperature_C": (462, "<f4", 1.0),  # Temperature/°C
}
_TECHNIQUE_ID = {name: tid for tid, name in MPR_TECHNIQUE_IDS.items()}


def _module(short: bytes, long: bytes, data: bytes, version: int, start: datetime) -> bytes:
    header = (
        b"MODULE"
        + short.ljust(10)
        + long.ljust(25)
        + len(data).to_bytes(4, "little")
        + version.to_bytes(4, "little")
        + start.strftime("%m/%d/%y").encode("ascii")
    )
    return header + data


def write_mpr(
    path: str | Path,
    technique: str,
    columns: Mapping[str, npt.ArrayLike],
    *,
    start: datetime | None = None,
    comment: str = "",
) -> Path:
    """Write ``columns`` (canonical names, SI units; see ``_COLUMNS``) as an EC-Lab ``.mpr`` of ``technique``."""
    technique = technique.upper()
    if technique not in _TECHNIQUE_ID:
        raise ValueError(f"no .mpr technique id for {technique!r}; known: {', '.join(sorted(_TECHNIQUE_ID))}")
    unknown = sorted(set(columns) - set(_COLUMNS))
    if unknown:
        raise ValueError(f"columns {unknown} have no .mpr column id here; known: {', '.join(_COLUMNS)}")
    if "time_s" not in columns:
        raise ValueError("an .mpr needs time_s")
    start = start or datetime(2024, 1, 1, 9, 0, 0)
    names = [c for c in _COLUMNS if c in columns]
    arrays = {c: np.asarray(columns[c], dtype=np.float64) * _COLUMNS[c][2] for c in names}
    n = len(arrays["time_s"])
    if any(len(a) != n for a in arrays.values()):
        raise ValueError("all columns must have the same length")
    record = np.dtype([(c, _COLUMNS[c][1]) for c in names])
    rows = np.empty(n, dtype=record)
    for c in names:
        rows[c] = arrays[c]
    head = (
        n.to_bytes(4, "little")
        + len(names).to_bytes(1, "little")
        + b"".join(_COLUMNS[c][0].to_bytes(2, "little") for c in names)
    )
    data = head.ljust(DATA_HEADER_BYTES, b"\x00") + rows.tobytes()
    settings = bytes([_TECHNIQUE_ID[technique]]) + comment.encode("utf-8")[:255].ljust(256, b"\x00")
    out = Path(path)
    out.write_bytes(
        MAGIC
        + _module(b"VMP Set", b"VMP settings", settings, 0, start)
        + _module(b"VMP data", b"VMP data", data, 2, start)
    )
    return out
