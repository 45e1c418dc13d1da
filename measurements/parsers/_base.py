"""Core types shared by all parsers: :class:`ParseError`, :class:`ParsedData`, validation.

Canonical columns (SI units, every array has the same length):

===================== ===== =============================================================
name                  unit  meaning
===================== ===== =============================================================
time_s                s     test time since the start of the file, non-decreasing
voltage_V             V     working-electrode potential / cell voltage
current_A             A     current, positive = charge / oxidation (instrument convention)
charge_Ah             Ah    signed charge as the instrument gives it (see each parser)
capacity_charge_Ah    Ah    charge capacity (>= 0) of the current step / half cycle
capacity_discharge_Ah Ah    discharge capacity (>= 0) of the current step / half cycle
energy_Wh             Wh    energy as the instrument gives it (see each parser)
cycle                 -     int, the instrument's cycle number (convention: see parser)
half_cycle            -     int, BioLogic "half cycle" (0-based)
step                  -     int, step / sequence number (BioLogic ``Ns``, Neware ``Step``)
freq_Hz               Hz    EIS frequency
z_re_ohm              Ohm   Re(Z)
z_im_ohm              Ohm   Im(Z), the TRUE imaginary part (negative for capacitive)
temperature_C         degC  temperature
===================== ===== =============================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
AnyArray = npt.NDArray[Any]

CANONICAL_COLUMNS: tuple[str, ...] = (
    "time_s",
    "voltage_V",
    "current_A",
    "charge_Ah",
    "capacity_charge_Ah",
    "capacity_discharge_Ah",
    "energy_Wh",
    "cycle",
    "half_cycle",
    "step",
    "freq_Hz",
    "z_re_ohm",
    "z_im_ohm",
    "temperature_C",
    # mechanical and thermal tests (generic CSV with a mapping)
    "strain",
    "stress_Pa",
    "extension_m",
    "force_N",
    "mass_g",
    "mass_percent",
)
INTEGER_COLUMNS: frozenset[str] = frozenset({"cycle", "half_cycle", "step"})
#: columns that must be finite everywhere (NaN/inf is a ParseError naming the first bad row)
KEY_COLUMNS: tuple[str, ...] = (
    "time_s",
    "voltage_V",
    "current_A",
    "charge_Ah",
    "cycle",
    "half_cycle",
    "step",
    "freq_Hz",
    "z_re_ohm",
    "z_im_ohm",
)
TECHNIQUES: frozenset[str] = frozenset(
    {"PEIS", "GEIS", "CA", "CP", "LSV", "CV", "GCPL", "OCV", "MB", "CYCLING", "EIS", "UNKNOWN"}
)
EIS_TECHNIQUES: frozenset[str] = frozenset({"PEIS", "GEIS", "EIS"})


class ParseError(Exception):
    """An instrument file could not be read.

    The message is meant for a researcher: what is wrong, where (file, line, column) and what was
    expected, e.g. ``"yadg_peis.mpt: PEIS file has no frequency column 'freq/Hz'"``.
    """


@dataclass
class ParsedData:
    """The content of one instrument file, in canonical columns and SI units.

    ``metadata`` holds JSON-serialisable values only (strings, numbers, bools, lists, dicts):
    ``start_time`` (ISO 8601 string when the file gives it), ``source_columns`` (canonical name ->
    original column name), ``encoding``, instrument settings, ...
    """

    format: str
    technique: str
    columns: dict[str, AnyArray]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        """Number of data rows (0 if there is no column)."""
        if not self.columns:
            return 0
        return int(len(next(iter(self.columns.values()))))


def where(source: str | None, first_data_line: int | None, row: int) -> str:
    """Human description of the position of data row ``row`` (0-based) in the file."""
    prefix = f"{source}: " if source else ""
    if first_data_line is not None:
        return f"{prefix}line {first_data_line + row} (data row {row + 1})"
    return f"{prefix}data row {row + 1}"


def to_int_column(
    name: str, values: AnyArray, source: str | None = None, first_data_line: int | None = None
) -> npt.NDArray[np.int64]:
    """Convert a float/int array of counters to int64, refusing NaN/inf and fractional values."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64)
    f = arr.astype(np.float64)
    bad = ~np.isfinite(f)
    if bad.any():
        i = int(np.argmax(bad))
        raise ParseError(
            f"{where(source, first_data_line, i)}: column '{name}' has a missing or non-finite "
            f"value ({float(f[i])!r}); an integer counter was expected"
        )
    r = np.rint(f)
    frac = np.abs(f - r) > 1e-6
    if frac.any():
        i = int(np.argmax(frac))
        raise ParseError(
            f"{where(source, first_data_line, i)}: column '{name}' value {float(f[i])!r} is not an "
            "integer; an integer counter was expected"
        )
    return r.astype(np.int64)


def validate(
    data: ParsedData,
    *,
    source: str | None = None,
    first_data_line: int | None = None,
    required: tuple[str, ...] = (),
) -> ParsedData:
    """Check the invariants every parser guarantees; raise :class:`ParseError` otherwise.

    * at least one row, all columns of the same length, canonical names only;
    * ``required`` columns present (EIS techniques additionally need freq/Re/Im);
    * no NaN/inf in the key columns (the first bad row is named);
    * ``time_s`` non-decreasing (equal consecutive times are allowed);
    * ``cycle`` is an integer counter that never decreases and never skips a value.

    Integer counters are converted to int64 and floats to float64 in place.
    """
    cols = data.columns
    if not cols:
        raise ParseError(f"{source or 'file'}: no data columns found")
    unknown = [c for c in cols if c not in CANONICAL_COLUMNS]
    if unknown:  # programming error in a parser, still a clear message
        raise ParseError(f"{source or 'file'}: non-canonical column names {unknown}")
    lengths = {k: len(v) for k, v in cols.items()}
    if len(set(lengths.values())) != 1:
        raise ParseError(f"{source or 'file'}: columns have different lengths {lengths}")
    n = next(iter(lengths.values()))
    if n == 0:
        raise ParseError(f"{source or 'file'}: the file holds no data rows")
    need = list(required)
    if data.technique in EIS_TECHNIQUES:
        need += ["freq_Hz", "z_re_ohm", "z_im_ohm"]
    missing = [c for c in dict.fromkeys(need) if c not in cols]
    if missing:
        raise ParseError(
            f"{source or 'file'}: {data.technique} data needs the column(s) {missing} "
            f"but the file does not provide them (found {sorted(cols)})"
        )
    for name in list(cols):
        if name in INTEGER_COLUMNS:
            cols[name] = to_int_column(name, cols[name], source, first_data_line)
        else:
            cols[name] = np.asarray(cols[name], dtype=np.float64)
    for name in KEY_COLUMNS:
        if name in cols and name not in INTEGER_COLUMNS:
            bad = ~np.isfinite(cols[name])
            if bad.any():
                i = int(np.argmax(bad))
                raise ParseError(
                    f"{where(source, first_data_line, i)}: column '{name}'"
                    f"{_src(data, name)} has a missing or non-finite value ({float(cols[name][i])!r}); "
                    "a finite number was expected"
                )
    if "time_s" in cols:
        dt = np.diff(cols["time_s"])
        back = dt < 0
        if back.any():
            i = int(np.argmax(back)) + 1
            raise ParseError(
                f"{where(source, first_data_line, i)}: time goes backwards "
                f"({float(cols['time_s'][i - 1])!r} s -> {float(cols['time_s'][i])!r} s); time_s must be "
                "non-decreasing"
            )
    if "cycle" in cols:
        dc = np.diff(cols["cycle"])
        bad = (dc < 0) | (dc > 1)
        if bad.any():
            i = int(np.argmax(bad)) + 1
            a, b = int(cols["cycle"][i - 1]), int(cols["cycle"][i])
            what = f"cycle(s) {a + 1}..{b - 1} missing" if b > a else "cycle number decreases"
            raise ParseError(
                f"{where(source, first_data_line, i)}: cycle number jumps from {a} to {b} "
                f"({what}); consecutive cycle numbers were expected"
            )
    data.metadata.setdefault("n_rows", n)
    return data


def _src(data: ParsedData, name: str) -> str:
    sc = data.metadata.get("source_columns")
    if isinstance(sc, dict) and name in sc:
        return f" (source column '{sc[name]}')"
    return ""
