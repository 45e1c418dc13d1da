"""The project's single pint registry and the quantity parsing used at every boundary.

Every physical quantity enters the LIMS as text or a number with a unit ("3.74 g", "5 mL", "0.1 mA/cm^2",
"365 nm"), is checked against the dimension its field declares, and is stored as a float in that field's one
canonical unit. A mass given in mL is an error, never a guess.

This module has no Django import: forms, serializers and model fields wrap it (lims.fields).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import pint

ureg: pint.UnitRegistry = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
ureg.define("weight_percent = 0.01 = wt_percent")
ureg.define("mole_percent = 0.01 = mol_percent")
if "ppm" not in ureg:
    ureg.define("ppm = 1e-6")
Q_ = ureg.Quantity

#: Dimension name -> (pint dimensionality reference unit, a human noun used in messages).
DIMENSIONS: dict[str, tuple[str, str]] = {
    "mass": ("g", "a mass"),
    "volume": ("mL", "a volume"),
    "amount": ("mol", "an amount of substance"),
    "length": ("m", "a length"),
    "area": ("cm**2", "an area"),
    "time": ("s", "a time"),
    "temperature": ("degC", "a temperature"),
    "current": ("A", "a current"),
    "current_density": ("mA/cm**2", "a current density"),
    "areal_capacity": ("mAh/cm**2", "an areal capacity"),
    "voltage": ("V", "a voltage"),
    "resistance": ("ohm", "a resistance"),
    "conductivity": ("S/m", "a conductivity"),
    "molar_mass": ("g/mol", "a molar mass"),
    "density": ("g/mL", "a density"),
    "areal_mass": ("mg/cm**2", "an areal mass loading"),
    "pressure": ("MPa", "a pressure"),
    "charge": ("mAh", "a charge (capacity)"),
    "specific_capacity": ("mAh/g", "a specific capacity"),
    "energy": ("Wh", "an energy"),
    "frequency": ("Hz", "a frequency"),
    "fraction": ("dimensionless", "a fraction"),
    "molality": ("mol/kg", "a molality"),
    "concentration": ("mol/L", "a concentration"),
    "heating_rate": ("K/min", "a heating rate"),
    "energy_per_particle": ("eV", "an energy"),
    "stress": ("kPa", "a stress"),
}


class UnitError(ValueError):
    """A value whose unit is missing, unknown, or of the wrong dimension; the message is for a researcher."""


_REPLACEMENTS = [
    (re.compile(r"wt\s*%"), " wt_percent"),
    (re.compile(r"mol\s*%"), " mol_percent"),
    (re.compile(r"µ|μ"), "u"),
    (re.compile(r"°\s*C\b"), "degC"),
    (re.compile(r"°\s*F\b"), "degF"),
    (re.compile(r"(?<![A-Za-z])Ω|ohms?\b", re.IGNORECASE), "ohm"),
    (re.compile(r"(?<=\d)\s*C\b(?!\S)"), " degC"),
]


def _normalise(text: str) -> str:
    s = text.strip().replace(",", ".") if text.count(",") == 1 and "." not in text else text.strip()
    for pattern, repl in _REPLACEMENTS:
        s = pattern.sub(repl, s)
    s = s.replace("^", "**").replace("%", " percent")
    return s


def dimension_of(unit: str) -> str | None:
    """The name of the dimension a unit belongs to ("g" -> "mass"), or None when it is not one we know."""
    try:
        dim = ureg.Unit(unit).dimensionality
    except (pint.errors.UndefinedUnitError, AttributeError, TypeError, ValueError):
        return None
    for name, (ref, _noun) in DIMENSIONS.items():
        if ureg.Unit(ref).dimensionality == dim:
            return name
    return None


def _describe(q: pint.Quantity) -> str:
    name = dimension_of(str(q.units))
    if name is None:
        return f"a quantity in {q.units:~P}" if not q.dimensionless else "a plain number"
    return DIMENSIONS[name][1]


@dataclass(frozen=True)
class ParsedQuantity:
    """A value converted to a field's canonical unit, with the text it came from."""

    magnitude: float
    unit: str
    original: str

    def as_dict(self) -> dict[str, Any]:
        return {"magnitude": self.magnitude, "unit": self.unit}


def parse_quantity(
    value: Any,
    *,
    dimension: str,
    unit: str,
    allow_negative: bool = False,
    allow_zero: bool = True,
    bare_number_ok: bool = True,
) -> ParsedQuantity:
    """Parse ``value`` ("5 mL", 3.74, Quantity, {"magnitude":..,"unit":..}) as ``dimension``, converted to ``unit``.

    A bare number is read in the field's canonical unit when ``bare_number_ok``. Raises UnitError with a message
    that names the expected dimension and what was given: "expected a mass, got a volume: 5 mL".
    """
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    noun = DIMENSIONS[dimension][1]
    original = str(value)
    if isinstance(value, dict):
        if "magnitude" not in value or "unit" not in value:
            raise UnitError(f"expected {noun} as {{'magnitude': number, 'unit': text}}")
        value = f"{value['magnitude']} {value['unit']}"
        original = value
    if isinstance(value, bool) or value is None:
        raise UnitError(f"expected {noun}, got {value!r}")
    if isinstance(value, int | float):
        if not bare_number_ok:
            raise UnitError(f"expected {noun} with a unit (e.g. '{1} {unit}'), got a bare number: {value}")
        q = Q_(float(value), unit)
    elif isinstance(value, pint.Quantity):
        q = value
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise UnitError(f"expected {noun}, got an empty value")
        try:
            parsed = ureg.parse_expression(_normalise(text))
        except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError) as exc:
            raise UnitError(f"unknown unit in {text!r}: {exc}") from None
        except Exception:  # tokenizer errors come in many types
            raise UnitError(f"could not read {text!r} as {noun} (e.g. '3.74 g')") from None
        if not isinstance(parsed, pint.Quantity):
            parsed = Q_(float(parsed), "dimensionless")
        if parsed.dimensionless and str(parsed.units) == "dimensionless" and dimension != "fraction":
            if not bare_number_ok:
                raise UnitError(f"expected {noun} with a unit (e.g. '1 {unit}'), got a bare number: {text}")
            parsed = Q_(parsed.magnitude, unit)
        q = parsed
    else:
        raise UnitError(f"expected {noun}, got {type(value).__name__}")

    try:
        converted = q.to(unit)
    except pint.errors.DimensionalityError:
        raise UnitError(f"expected {noun}, got {_describe(q)}: {original}") from None
    magnitude = float(converted.magnitude)
    if math.isnan(magnitude) or math.isinf(magnitude):
        raise UnitError(f"expected a finite number for {noun}, got {original}")
    if dimension == "temperature" and float(converted.to("K").magnitude) < 0:
        raise UnitError(f"A temperature cannot be below absolute zero (0 K = -273.15 degC): {original}")
    if magnitude < 0 and not allow_negative:
        raise UnitError(f"{noun[0].upper()}{noun[1:]} cannot be negative: {original}")
    if magnitude == 0 and not allow_zero:
        raise UnitError(f"{noun[0].upper()}{noun[1:]} must be greater than zero: {original}")
    return ParsedQuantity(magnitude=magnitude, unit=unit, original=original)


def convert(magnitude: float, from_unit: str, to_unit: str) -> float:
    """Convert a magnitude between compatible units (raises UnitError on a dimension mismatch)."""
    try:
        return float(Q_(magnitude, from_unit).to(to_unit).magnitude)
    except pint.errors.DimensionalityError as exc:
        raise UnitError(str(exc)) from None


# --- C-rate: its own concept, not a pint unit ("C" is the coulomb) ------------------------------------------------
_C_RATE = re.compile(r"^\s*(?:(?P<num>\d+(?:\.\d+)?)\s*C|C\s*/\s*(?P<den>\d+(?:\.\d+)?))\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class CRate:
    """A C-rate: the current that would (dis)charge the nominal capacity in 1/rate hours."""

    rate_per_h: float

    def current_A(self, capacity_mAh: float) -> float:
        """I = rate x Q: 0.5 C of a 1.7 mAh cell is 0.85 mA."""
        return self.rate_per_h * capacity_mAh / 1000.0

    def __str__(self) -> str:
        if self.rate_per_h < 1 and round(1 / self.rate_per_h, 6).is_integer():
            return f"C/{int(round(1 / self.rate_per_h))}"
        return f"{self.rate_per_h:g}C"


def parse_c_rate(text: str) -> CRate:
    """Parse "0.5C", "2 C" or "C/10" into a CRate; anything else raises UnitError."""
    m = _C_RATE.match(text or "")
    if not m:
        raise UnitError(f"expected a C-rate such as '0.5C' or 'C/10', got {text!r}")
    rate = float(m["num"]) if m["num"] else 1.0 / float(m["den"])
    if rate <= 0:
        raise UnitError(f"a C-rate must be positive, got {text!r}")
    return CRate(rate)
