"""Form and serializer fields wrap the units core the same way."""

import pytest
from django import forms
from rest_framework import serializers

from lims.fields import QuantityFormField, QuantitySerializerField


class MassForm(forms.Form):
    mass = QuantityFormField(unit="g", dimension="mass")


class MassSerializer(serializers.Serializer):
    mass = QuantitySerializerField(unit="g", dimension="mass")


def test_form_field_cleans_text_to_the_canonical_magnitude():
    form = MassForm(data={"mass": "3740 mg"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["mass"] == pytest.approx(3.74)


def test_form_field_shows_the_dimension_error_next_to_the_field():
    form = MassForm(data={"mass": "5 mL"})
    assert not form.is_valid()
    assert form.errors["mass"] == ["expected a mass, got a volume: 5 mL"]


def test_serializer_field_accepts_text_and_returns_magnitude_and_unit():
    s = MassSerializer(data={"mass": "0.9 g"})
    assert s.is_valid(), s.errors
    assert s.validated_data["mass"] == pytest.approx(0.9)
    assert MassSerializer({"mass": 0.9}).data["mass"] == {"magnitude": 0.9, "unit": "g"}


def test_serializer_field_rejects_wrong_dimension_with_the_message():
    s = MassSerializer(data={"mass": "0.9 mA"})
    assert not s.is_valid()
    assert str(s.errors["mass"][0]) == "expected a mass, got a current: 0.9 mA"
