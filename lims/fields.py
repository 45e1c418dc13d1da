"""Django and DRF wrappers of lims.units: a model field, a form field and a serializer field for quantities.

A ``QuantityField`` is a FloatField that declares its dimension and its one canonical unit; the column holds the
magnitude in that unit (documented in the field's help text and the OpenAPI schema). Forms and the API accept
text with any compatible unit and convert at the boundary.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from lims.units import DIMENSIONS, UnitError, parse_quantity


class QuantityField(models.FloatField):
    """A float column holding a physical quantity in one canonical unit (e.g. ``unit="g"``, ``dimension="mass"``)."""

    def __init__(
        self,
        *args: Any,
        unit: str = "",
        dimension: str = "",
        allow_negative: bool = False,
        **kwargs: Any,
    ) -> None:
        if dimension and dimension not in DIMENSIONS:
            raise ValueError(f"unknown dimension {dimension!r}")
        self.unit = unit
        self.dimension = dimension
        self.allow_negative = allow_negative
        if unit and "help_text" not in kwargs:
            kwargs["help_text"] = f"{DIMENSIONS[dimension][1]}, stored in {unit}"
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["unit"] = self.unit
        kwargs["dimension"] = self.dimension
        if self.allow_negative:
            kwargs["allow_negative"] = True
        return name, path, args, kwargs

    def to_python(self, value: Any) -> Any:
        if value is None or isinstance(value, float | int) and not isinstance(value, bool):
            return None if value is None else float(value)
        try:
            return parse_quantity(
                value, dimension=self.dimension, unit=self.unit, allow_negative=self.allow_negative
            ).magnitude
        except UnitError as exc:
            raise ValidationError(str(exc), code="unit") from None

    def formfield(self, **kwargs: Any) -> Any:
        defaults: dict[str, Any] = {
            "form_class": QuantityFormField,
            "unit": self.unit,
            "dimension": self.dimension,
            "allow_negative": self.allow_negative,
        }
        defaults.update(kwargs)
        return models.Field.formfield(self, **defaults)  # type: ignore[arg-type]


class QuantityInput(forms.TextInput):
    """A text input that shows its canonical unit and is picked up by the unit preview script."""

    def __init__(self, unit: str, dimension: str, attrs: dict[str, Any] | None = None) -> None:
        base = {"data-unit": unit, "data-dimension": dimension, "autocomplete": "off", "class": "quantity"}
        base.update(attrs or {})
        super().__init__(base)


#: a value a researcher would really type, per canonical unit, for a help text that has no example of its own
#: ("a temperature, e.g. '25 degC'" rather than "1.5 degC"); a field with a typical size of its own passes
#: ``example=`` (a cure wavelength "365 nm", a sintering temperature "1200 degC")
TYPICAL_EXAMPLES: dict[str, str] = {
    "g": "0.5 g",
    "mg": "5 mg",
    "mL": "5 mL",
    "mol": "0.02 mol",
    "um": "100 um",
    "mm": "12 mm",
    "nm": "365 nm",
    "cm**2": "2 cm^2",
    "s": "30 min",
    "degC": "25 degC",
    "MPa": "10 MPa",
    "K/min": "5 K/min",
    "ppm": "0.5 ppm",
    "g/mL": "1.1 g/mL",
    "mg/cm**2": "2 mg/cm^2",
    "V": "4.2 V",
    "ohm": "100 ohm",
    "Hz": "1 MHz",
    "dimensionless": "0.995",
}

#: what a help text calls a quantity in these units when the dimension's name would mislead (a glovebox's O2
#: level in ppm is, strictly, a fraction; nobody calls it one)
_UNIT_NOUNS: dict[str, str] = {"ppm": "parts per million"}


def quantity_help_text(*, unit: str, dimension: str, example: str = "") -> str:
    """ "a temperature, e.g. '25 degC'": what the field holds and a realistic value to type."""
    typed = unit.replace("**", "^")  # what a person types: "cm^2", not Python's "cm**2"
    example = example or TYPICAL_EXAMPLES.get(unit, f"1.5 {typed}")
    return f"{_UNIT_NOUNS.get(unit, DIMENSIONS[dimension][1])}, e.g. '{example}'"


class QuantityFormField(forms.Field):
    """Accepts "3.74 g" or a bare number (read in the canonical unit); cleans to the canonical magnitude.

    The help text names the quantity and gives ``example`` (a value typical of this field, e.g. "365 nm" for a
    cure wavelength), else a typical value of the unit; a ``help_text`` given replaces it."""

    def __init__(
        self,
        *,
        unit: str,
        dimension: str,
        allow_negative: bool = False,
        allow_zero: bool = True,
        example: str = "",
        **kwargs: Any,
    ) -> None:
        kwargs.pop("max_length", None)
        self.unit = unit
        self.dimension = dimension
        self.allow_negative = allow_negative
        self.allow_zero = allow_zero
        self.example = example
        kwargs.setdefault("widget", QuantityInput(unit, dimension))
        kwargs.setdefault("help_text", quantity_help_text(unit=unit, dimension=dimension, example=example))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, float | int) and not isinstance(value, bool):
            return f"{value:g} {self.unit}"
        return value

    def to_python(self, value: Any) -> float | None:
        if value in self.empty_values:
            return None
        try:
            return parse_quantity(
                value,
                dimension=self.dimension,
                unit=self.unit,
                allow_negative=self.allow_negative,
                allow_zero=self.allow_zero,
            ).magnitude
        except UnitError as exc:
            raise ValidationError(str(exc), code="unit") from None


class QuantitySerializerField(serializers.Field):
    """Reads "3.74 g", a number in the canonical unit, or {"magnitude", "unit"}; writes {"magnitude", "unit"}."""

    def __init__(
        self,
        *,
        unit: str,
        dimension: str,
        allow_negative: bool = False,
        allow_zero: bool = True,
        **kwargs: Any,
    ) -> None:
        self.unit = unit
        self.dimension = dimension
        self.allow_negative = allow_negative
        self.allow_zero = allow_zero
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> float:
        try:
            return parse_quantity(
                data,
                dimension=self.dimension,
                unit=self.unit,
                allow_negative=self.allow_negative,
                allow_zero=self.allow_zero,
            ).magnitude
        except UnitError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        return {"magnitude": float(value), "unit": self.unit}


class QuantitySerializerFieldSchema(OpenApiSerializerFieldExtension):
    """OpenAPI of a quantity: what is accepted (text, a bare number, {"magnitude", "unit"}) differs from what is
    answered (always {"magnitude", "unit"} in the field's unit, or null when there is no value)."""

    target_class = "lims.fields.QuantitySerializerField"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        field = self.target
        answered = {
            "type": "object",
            "properties": {
                "magnitude": {"type": "number"},
                "unit": {"type": "string", "example": field.unit},
            },
            "required": ["magnitude", "unit"],
        }
        if direction == "response":
            # a read-only quantity mirrors a model column that may be empty
            return {**answered, "nullable": True} if field.allow_null or field.read_only else answered
        accepted: dict[str, Any] = {
            "oneOf": [{"type": "string", "example": f"3.74 {field.unit}"}, {"type": "number"}, answered]
        }
        return {**accepted, "nullable": True} if field.allow_null else accepted
