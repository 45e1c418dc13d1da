"""Unit strings -> SI conversion, validated per canonical column, and :class:`ColumnMapping`.

Each canonical column accepts the units of ONE dimension; a unit of another dimension (``mV``
declared for ``current_A``) is a :class:`ParseError` that says what was expected.

Spelling is forgiving: ``mA.h``, ``mA·h``, ``mAh`` are the same; ``µ``/``μ``/``u`` are the same;
``Ohm``/``ohm``/``Ω``; temperatures accept ``C``, ``°C``, ``degC`` and ``K``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ._base import CANONICAL_COLUMNS, ParseError

# dimension -> {normalised unit: (factor, offset)}; SI value = raw * factor + offset
DIMENSIONS: dict[str, dict[str, tuple[float, float]]] = {
    "time": {
        "s": (1.0, 0.0),
        "ms": (1e-3, 0.0),
        "min": (60.0, 0.0),
        "h": (3600.0, 0.0),
        "d": (86400.0, 0.0),
    },
    "voltage": {"V": (1.0, 0.0), "mV": (1e-3, 0.0), "uV": (1e-6, 0.0), "kV": (1e3, 0.0)},
    "current": {
        "A": (1.0, 0.0),
        "mA": (1e-3, 0.0),
        "uA": (1e-6, 0.0),
        "nA": (1e-9, 0.0),
        "pA": (1e-12, 0.0),
    },
    "charge": {
        "Ah": (1.0, 0.0),
        "mAh": (1e-3, 0.0),
        "uAh": (1e-6, 0.0),
        "nAh": (1e-9, 0.0),
        "C": (1.0 / 3600.0, 0.0),
        "mC": (1e-3 / 3600.0, 0.0),
        "uC": (1e-6 / 3600.0, 0.0),
        "As": (1.0 / 3600.0, 0.0),
        "mAs": (1e-3 / 3600.0, 0.0),
    },
    "energy": {
        "Wh": (1.0, 0.0),
        "mWh": (1e-3, 0.0),
        "uWh": (1e-6, 0.0),
        "kWh": (1e3, 0.0),
        "J": (1.0 / 3600.0, 0.0),
        "mJ": (1e-3 / 3600.0, 0.0),
    },
    "frequency": {
        "Hz": (1.0, 0.0),
        "mHz": (1e-3, 0.0),
        "kHz": (1e3, 0.0),
        "MHz": (1e6, 0.0),
    },
    "resistance": {
        "ohm": (1.0, 0.0),
        "mohm": (1e-3, 0.0),
        "uohm": (1e-6, 0.0),
        "kohm": (1e3, 0.0),
        "Mohm": (1e6, 0.0),
    },
    "temperature": {"degC": (1.0, 0.0), "K": (1.0, -273.15)},
    "count": {"": (1.0, 0.0), "1": (1.0, 0.0), "#": (1.0, 0.0), "-": (1.0, 0.0)},
    "ratio": {"": (1.0, 0.0), "1": (1.0, 0.0), "-": (1.0, 0.0), "%": (0.01, 0.0)},
    "percent": {"%": (1.0, 0.0), "": (1.0, 0.0)},
    "pressure": {"Pa": (1.0, 0.0), "kPa": (1e3, 0.0), "MPa": (1e6, 0.0), "GPa": (1e9, 0.0)},
    "length": {"m": (1.0, 0.0), "mm": (1e-3, 0.0), "um": (1e-6, 0.0), "cm": (1e-2, 0.0)},
    "force": {"N": (1.0, 0.0), "mN": (1e-3, 0.0), "kN": (1e3, 0.0)},
    "mass": {"g": (1.0, 0.0), "mg": (1e-3, 0.0), "ug": (1e-6, 0.0), "kg": (1e3, 0.0)},
}

COLUMN_DIMENSION: dict[str, str] = {
    "time_s": "time",
    "voltage_V": "voltage",
    "current_A": "current",
    "charge_Ah": "charge",
    "capacity_charge_Ah": "charge",
    "capacity_discharge_Ah": "charge",
    "energy_Wh": "energy",
    "cycle": "count",
    "half_cycle": "count",
    "step": "count",
    "freq_Hz": "frequency",
    "z_re_ohm": "resistance",
    "z_im_ohm": "resistance",
    "temperature_C": "temperature",
    "strain": "ratio",
    "stress_Pa": "pressure",
    "extension_m": "length",
    "force_N": "force",
    "mass_g": "mass",
    "mass_percent": "percent",
}


def normalise_unit(unit: str, dimension: str | None = None) -> str:
    """Canonical spelling of a unit string (see module docstring)."""
    u = unit.strip()
    u = u.replace("µ", "u").replace("μ", "u").replace("Ω", "ohm")
    u = re.sub(r"[.·\s*]", "", u)
    u = re.sub(r"(?i)ohms?$", "ohm", u)
    if dimension == "temperature" and u in ("°C", "degC", "C", "celsius", "Celsius", "oC", "ºC"):
        return "degC"
    return u


def unit_factor(canonical: str, unit: str) -> tuple[float, float]:
    """``(factor, offset)`` turning values in ``unit`` into the SI unit of ``canonical``.

    Raises :class:`ParseError` for an unknown canonical column, an unknown unit or a unit of
    the wrong dimension.
    """
    if canonical not in COLUMN_DIMENSION:
        raise ParseError(
            f"'{canonical}' is not a canonical column; expected one of {', '.join(CANONICAL_COLUMNS)}"
        )
    dim = COLUMN_DIMENSION[canonical]
    table = DIMENSIONS[dim]
    u = normalise_unit(unit, dim)
    if u in table:
        return table[u]
    other = [d for d, t in DIMENSIONS.items() if normalise_unit(unit, d) in t and d != dim]
    hint = f" ('{unit}' is a {other[0]} unit)" if other else ""
    allowed = ", ".join(k or "'' (dimensionless)" for k in table)
    raise ParseError(
        f"unit '{unit}' is not valid for column {canonical} (a {dim}){hint}; expected one of: {allowed}"
    )


@dataclass
class ColumnMapping:
    """How to read a lab's own CSV/TSV layout.

    ``columns`` maps canonical names to ``(source column name, unit string)``, e.g.::

        ColumnMapping(columns={
            "time_s": ("test_time", "s"),
            "voltage_V": ("voltage", "V"),
            "current_A": ("current", "mA"),
            "cycle": ("cycle", ""),
        })

    Options: ``delimiter`` (None = detect among tab, ``;`` and ``,``), ``decimal`` (``.`` or
    ``,``), ``skip_rows`` (lines to ignore before looking for the header), ``header_row``
    (0-based line index of the column-name line after ``skip_rows``; None = the first line that
    contains all declared source names), ``negate`` (canonical columns whose sign is flipped,
    e.g. ``("z_im_ohm",)`` for a ``-Im(Z)`` column), ``technique`` (None = infer), ``encoding``
    (None = UTF-8, else Windows-1252).

    The mapping is validated on construction: unknown canonical names, unknown units and units of
    the wrong dimension raise :class:`ParseError`.
    """

    columns: dict[str, tuple[str, str]]
    delimiter: str | None = None
    decimal: str = "."
    skip_rows: int = 0
    header_row: int | None = None
    negate: tuple[str, ...] = ()
    technique: str | None = None
    encoding: str | None = None
    factors: dict[str, tuple[float, float]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.columns:
            raise ParseError("column mapping is empty: declare at least time_s or freq_Hz")
        if self.decimal not in (".", ","):
            raise ParseError(f"decimal must be '.' or ',', not {self.decimal!r}")
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise ParseError(f"delimiter must be one character, not {self.delimiter!r}")
        if self.skip_rows < 0 or (self.header_row is not None and self.header_row < 0):
            raise ParseError("skip_rows and header_row must be >= 0")
        self.factors = {}
        for canon, spec in self.columns.items():
            if not (isinstance(spec, tuple | list) and len(spec) == 2):
                raise ParseError(f"mapping for {canon} must be (source column name, unit), got {spec!r}")
            self.factors[canon] = unit_factor(canon, str(spec[1]))
        for c in self.negate:
            if c not in self.columns:
                raise ParseError(f"negate names {c!r}, which is not a mapped column")
