"""The units core: parsing, conversion, rejection with a message naming the expected dimension."""

import math

import pytest

from lims.units import UnitError, convert, parse_c_rate, parse_quantity


@pytest.mark.parametrize(
    ("text", "dimension", "unit", "expected"),
    [
        ("3.74 g", "mass", "g", 3.74),
        ("3740 mg", "mass", "g", 3.74),
        ("5 mL", "volume", "mL", 5.0),
        ("5.0 uL", "volume", "mL", 0.005),
        ("5.0 µL", "volume", "mL", 0.005),
        ("0.1 mA/cm^2", "current_density", "mA/cm**2", 0.1),
        ("1 A/m^2", "current_density", "mA/cm**2", 0.1),
        ("365 nm", "length", "nm", 365.0),
        ("0.266 mS/cm", "conductivity", "S/m", 0.0266),
        ("20 wt%", "fraction", "dimensionless", 0.2),
        ("50 ppm", "fraction", "ppm", 50.0),
        ("170 mAh/g", "specific_capacity", "mAh/g", 170.0),
        ("300 MPa", "pressure", "MPa", 300.0),
        ("1180 °C", "temperature", "degC", 1180.0),
        ("6 h", "time", "s", 21600.0),
        ("1,5 g", "mass", "g", 1.5),
        ("472 Ω", "resistance", "ohm", 472.0),
    ],
)
def test_quantities_are_read_in_any_compatible_unit_and_stored_canonically(text, dimension, unit, expected):
    assert parse_quantity(text, dimension=dimension, unit=unit).magnitude == pytest.approx(expected)


def test_a_volume_given_for_a_mass_is_refused_naming_both_dimensions():
    with pytest.raises(UnitError, match=r"expected a mass, got a volume: 5 mL"):
        parse_quantity("5 mL", dimension="mass", unit="g")


def test_a_current_given_for_a_mass_is_refused():
    with pytest.raises(UnitError, match=r"expected a mass, got a current: 0.9 mA"):
        parse_quantity("0.9 mA", dimension="mass", unit="g")


@pytest.mark.parametrize("text", ["nan g", "inf g", "-inf g"])
def test_non_finite_values_are_refused(text):
    with pytest.raises(UnitError, match="finite"):
        parse_quantity(text, dimension="mass", unit="g")


def test_negative_masses_are_refused_but_negative_temperatures_are_allowed_where_declared():
    with pytest.raises(UnitError, match="cannot be negative"):
        parse_quantity("-1 g", dimension="mass", unit="g")
    t = parse_quantity("-20 degC", dimension="temperature", unit="degC", allow_negative=True)
    assert t.magnitude == -20.0


def test_zero_is_refused_where_a_positive_value_is_required():
    with pytest.raises(UnitError, match="greater than zero"):
        parse_quantity("0 cm^2", dimension="area", unit="cm**2", allow_zero=False)


def test_unknown_units_and_garbage_are_refused_clearly():
    with pytest.raises(UnitError, match="unknown unit"):
        parse_quantity("5 flurbs", dimension="mass", unit="g")
    with pytest.raises(UnitError):
        parse_quantity("g g g )(", dimension="mass", unit="g")
    with pytest.raises(UnitError, match="empty"):
        parse_quantity("  ", dimension="mass", unit="g")


def test_a_bare_number_is_read_in_the_canonical_unit_unless_a_unit_is_required():
    assert parse_quantity(2.5, dimension="mass", unit="g").magnitude == 2.5
    assert parse_quantity("2.5", dimension="mass", unit="g").magnitude == 2.5
    with pytest.raises(UnitError, match="bare number"):
        parse_quantity("2.5", dimension="mass", unit="g", bare_number_ok=False)


def test_a_magnitude_unit_object_is_accepted():
    assert parse_quantity({"magnitude": 5, "unit": "uL"}, dimension="volume", unit="mL").magnitude == 0.005


def test_convert_between_compatible_units_and_refuse_incompatible():
    assert convert(1.0, "mS/cm", "S/m") == pytest.approx(0.1)
    with pytest.raises(UnitError):
        convert(1.0, "g", "mL")


def test_c_rate_is_its_own_concept():
    """0.5 C of a 1.7 mAh electrode is 0.85 mA; C/10 is 0.1 per hour."""
    assert parse_c_rate("C/10").rate_per_h == pytest.approx(0.1)
    assert parse_c_rate("0.5C").current_A(1.7) == pytest.approx(0.85e-3)
    assert str(parse_c_rate("2 C")) == "2C"
    assert str(parse_c_rate("C/5")) == "C/5"
    with pytest.raises(UnitError):
        parse_c_rate("0.5 mA")
    assert not math.isnan(parse_c_rate("1C").rate_per_h)
