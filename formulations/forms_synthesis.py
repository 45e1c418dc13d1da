"""Forms of the synthesis pages. They read text ("3.74 g", "0.9 mL") and hand it to the same services as the
API; the services' DomainErrors are shown next to the fields (see ``views_synthesis.add_service_error``)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.forms import formset_factory

from formulations.models import (
    AmountKind,
    Batch,
    Chemical,
    ChemicalRole,
    Mould,
    MouldShape,
    PressMode,
    RecipeComponent,
    RecipeVersion,
    StepKind,
    StockLot,
)
from formulations.selectors_synthesis import AMOUNT_UNITS, ScaledLine, chemical_label, lot_choice_label
from formulations.services.synthesis import ROOM_TEMPERATURE_C, parse_amount
from lims.errors import DomainError
from lims.fields import QuantityFormField
from lims.models import Role, Team
from lims.permissions import teams_for


def _text(label: str, placeholder: str = "", required: bool = False, **attrs: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        widget=forms.TextInput(attrs={"placeholder": placeholder, "autocomplete": "off", **attrs}),
    )


class TeamChoiceMixin:
    """Limits the ``team`` field to the teams where the user may write, preselected when there is one."""

    def _limit_team(self, user: Any) -> None:
        field = self.fields["team"]  # type: ignore[attr-defined]
        field.queryset = teams_for(user, Role.RESEARCHER)
        if field.queryset.count() == 1:
            field.initial = field.queryset.first()


# ------------------------------------------------------------------------------------------------ recipes


class RecipeForm(TeamChoiceMixin, forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none())
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limit_team(user)


def _quantity_text(
    label: str,
    placeholder: str,
    dimension: str,
    unit: str,
    *,
    required: bool = False,
    room_temperature: str = "",
) -> forms.CharField:
    """A free-text quantity ("90 min", "RT", "5 mL") that static/lims/lims.js previews in ``unit`` as you type
    (several dimensions separated by "|" are tried in turn); the service parses it on save."""
    field = _text(label, placeholder, required)
    field.widget.attrs.update({"class": "quantity", "data-dimension": dimension, "data-unit": unit})
    if room_temperature:
        field.widget.attrs["data-room-temperature"] = room_temperature  # "RT" is this many degC
    return field


class ComponentLineForm(forms.Form):
    chemical = forms.ModelChoiceField(queryset=Chemical.objects.order_by("name"))
    amount = _quantity_text(
        "Amount", "3.74 g, 5 mL, 5.0 uL or 0.02 mol", "mass|volume|amount", "g|mL|mol", required=True
    )
    role = forms.ChoiceField(choices=[("", "(the chemical's role)"), *ChemicalRole.choices], required=False)
    order = forms.IntegerField(min_value=0, required=False)

    def clean_amount(self) -> str:
        text: str = self.cleaned_data["amount"]
        try:
            parse_amount(text)
        except DomainError as exc:
            raise forms.ValidationError(str(exc)) from None
        return text


def formset_lines(formset: forms.BaseFormSet) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    """The filled-in, not deleted rows of a (valid) formset as service input."""
    rows = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None)
        if not data or data.get("DELETE"):
            continue
        rows.append({k: v for k, v in data.items() if k != "DELETE" and v not in (None, "")})
    return rows


ComponentFormSet = formset_factory(ComponentLineForm, extra=2, can_delete=True)


class StepLineForm(forms.Form):
    kind = forms.ChoiceField(choices=StepKind.choices)
    description = forms.CharField(max_length=300, required=False)
    duration = _quantity_text("Duration", "1 h", "time", "h")
    temperature = _quantity_text(
        "Temperature",
        "RT, 60 C",
        "temperature",
        "degC",
        room_temperature=f"{ROOM_TEMPERATURE_C:g}",
    )
    wavelength = _quantity_text("Wavelength", "365 nm", "length", "nm")
    atmosphere = _text("Atmosphere", "Ar, air")
    pressure = _quantity_text("Pressure", "300 MPa", "pressure", "MPa")
    press_mode = forms.ChoiceField(choices=[("", "—"), *PressMode.choices], required=False)
    ramp_rate = _quantity_text("Ramp", "5 K/min", "heating_rate", "K/min")
    dwell = _quantity_text("Dwell", "6 h", "time", "h")
    mother_powder = forms.NullBooleanField(required=False, widget=forms.NullBooleanSelect)
    grits = _text("Grits", "400, 800, 1200")
    order = forms.IntegerField(min_value=0, required=False)


StepFormSet = formset_factory(StepLineForm, extra=1, can_delete=True)


def initial_lines(version: RecipeVersion) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A version's components and steps as formset initial data."""
    components = [
        {
            "chemical": c.chemical_id,
            "amount": c.entered_as or f"{c.amount:g} {AMOUNT_UNITS[c.amount_kind]}",
            "role": c.role,
            "order": c.order,
        }
        for c in version.components.all()
    ]
    steps = []
    for st in version.steps.all():
        row: dict[str, Any] = {"kind": st.kind, "description": st.description, "order": st.order}
        for name, unit in (
            ("duration", "s"),
            ("temperature", "degC"),
            ("wavelength", "nm"),
            ("pressure", "MPa"),
            ("ramp_rate", "K/min"),
            ("dwell", "s"),
        ):
            value = getattr(st, name)
            if value is not None:
                row[name] = (
                    f"{value / 3600:g} h" if unit == "s" and value % 3600 == 0 else f"{value:g} {unit}"
                )
        row.update(
            {
                "atmosphere": st.atmosphere,
                "press_mode": st.press_mode,
                "grits": st.grits,
                "mother_powder": st.mother_powder,
            }
        )
        steps.append(row)
    return components, steps


class AddComponentForm(ComponentLineForm):
    pass


class FillerSeriesForm(forms.Form):
    filler = forms.ModelChoiceField(queryset=Chemical.objects.filter(role=ChemicalRole.CERAMIC_FILLER))
    fractions = forms.CharField(initial="0, 20, 40, 60", help_text="filler wt%, comma separated")
    recipe_name = forms.CharField(required=False, help_text="default: <filler>-<recipe>, e.g. LLZTO-PMA")

    def clean_fractions(self) -> list[float]:
        try:
            values = [
                float(x) / 100.0
                for x in self.cleaned_data["fractions"].replace("%", "").split(",")
                if x.strip()
            ]
        except ValueError:
            raise forms.ValidationError("give the wt% as numbers, e.g. 0, 20, 40, 60") from None
        if not values or any(not 0 <= v < 1 for v in values):
            raise forms.ValidationError("each wt% must be at least 0 and below 100")
        return values


# ------------------------------------------------------------------------------------------------ batches


class BatchSizeForm(forms.Form):
    """Step 1 of logging a synthesis: which recipe version, and how much."""

    version = forms.ModelChoiceField(queryset=RecipeVersion.objects.none(), label="Recipe version")
    target_mass = _quantity_text(
        "Batch size (total mass)", "e.g. 21 g; empty = the recipe as written", "mass", "g"
    )

    def __init__(self, *args: Any, versions: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = versions  # type: ignore[attr-defined]


class LogSynthesisForm(forms.Form):
    """Step 2: per recipe line, the amount actually weighed (any unit) and the lot it came from."""

    scale_factor = forms.FloatField(widget=forms.HiddenInput)
    tolerance_percent = forms.FloatField(
        label="Deviation tolerance (%)", initial=2.0, min_value=0, max_value=99
    )
    started_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ended_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    conditions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="conditions actually used (glovebox ppm, stirring, UV lamp)",
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(
        self, *args: Any, lines: list[ScaledLine], lots: dict[int, list[StockLot]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            c = line.component
            name = chemical_label(c.chemical)
            self.fields[f"c{c.pk}_amount"] = _text(
                f"{name}: amount weighed",
                f"planned {line.planned_amount:.4g} {line.unit}",
                required=line.planned_amount > 0,
            )
            choices = [("", "— choose a lot —")] + [
                (str(lot.pk), lot_choice_label(lot)) for lot in lots.get(c.chemical_id, [])
            ]
            self.fields[f"c{c.pk}_lot"] = forms.ChoiceField(
                label=f"{name}: lot", choices=choices, required=line.planned_amount > 0
            )

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "line": line,
                "amount": self[f"c{line.component.pk}_amount"],
                "lot": self[f"c{line.component.pk}_lot"],
            }
            for line in self.lines
        ]

    def draws(self) -> list[dict[str, Any]]:
        return [
            {
                "component": line.component,
                "lot": int(self.cleaned_data[f"c{line.component.pk}_lot"] or 0) or None,
                "amount": self.cleaned_data[f"c{line.component.pk}_amount"],
            }
            for line in self.lines
        ]


class CancelBatchForm(forms.Form):
    reason = forms.CharField(max_length=300)


class AttachmentForm(forms.Form):
    file = forms.FileField()
    caption = forms.CharField(max_length=300, required=False)


# ------------------------------------------------------------------------------------------------ products


def mould_choice_label(mould: Mould) -> str:
    """The mould as a choice: "PTFE disc (2 cm²)", or only its name when the name already gives the area
    ("PTFE disc 2 cm²", not "PTFE disc 2 cm² (2 cm2)")."""
    area = f"{mould.area:g}"
    if re.search(rf"(?<![\d.]){re.escape(area)}\s*cm", mould.name):
        return mould.name
    return f"{mould.name} ({area} cm²)"


class _MouldChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return mould_choice_label(obj)


class MouldForm(forms.Form):
    name = forms.CharField(max_length=120)
    shape = forms.ChoiceField(choices=MouldShape.choices)
    area = QuantityFormField(unit="cm**2", dimension="area", allow_zero=False, example="2 cm^2")
    material = forms.CharField(max_length=60, initial="glass", required=False)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class MembraneForm(forms.Form):
    batch = forms.ModelChoiceField(queryset=Batch.objects.none())
    mould = _MouldChoice(queryset=Mould.objects.order_by("name"))
    cast_mass = QuantityFormField(unit="g", dimension="mass", allow_zero=False, example="0.6 g")
    slurry_density = QuantityFormField(
        unit="g/mL",
        dimension="density",
        required=False,
        allow_zero=False,
        help_text=(
            "measured, e.g. '1.1 g/mL'; leave empty to estimate it from the batch's components "
            "(labelled as an estimate)"
        ),
    )
    thickness_measured = QuantityFormField(
        unit="um", dimension="length", required=False, label="Measured thickness", example="150 um"
    )
    cure_wavelength = QuantityFormField(unit="nm", dimension="length", required=False, example="365 nm")
    cure_duration = QuantityFormField(unit="s", dimension="time", required=False, example="10 min")
    cure_temperature = QuantityFormField(
        unit="degC", dimension="temperature", required=False, allow_negative=True, example="60 degC"
    )
    cure_atmosphere = forms.CharField(max_length=60, required=False)
    appearance = forms.CharField(max_length=300, required=False)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, batches: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["batch"].queryset = batches  # type: ignore[attr-defined]


class PelletForm(TeamChoiceMixin, forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none())
    lot = forms.ModelChoiceField(queryset=StockLot.objects.none(), label="Powder lot")
    powder_mass = QuantityFormField(unit="g", dimension="mass", allow_zero=False, example="0.5 g")
    press_pressure = QuantityFormField(unit="MPa", dimension="pressure", allow_zero=False, example="300 MPa")
    press_mode = forms.ChoiceField(choices=PressMode.choices)
    sinter_temperature = QuantityFormField(unit="degC", dimension="temperature", example="1200 degC")
    sinter_ramp = QuantityFormField(unit="K/min", dimension="heating_rate", required=False, example="5 K/min")
    sinter_dwell = QuantityFormField(unit="s", dimension="time", allow_zero=False, example="6 h")
    sinter_atmosphere = forms.CharField(max_length=60, initial="air", required=False)
    mother_powder = forms.BooleanField(required=False, initial=True, label="Covered in mother powder")
    sanding_grits = forms.CharField(max_length=120, required=False)
    green_diameter = QuantityFormField(unit="mm", dimension="length", required=False, example="13 mm")
    green_thickness = QuantityFormField(unit="mm", dimension="length", required=False, example="1.5 mm")
    final_diameter = QuantityFormField(unit="mm", dimension="length", allow_zero=False, example="11 mm")
    final_thickness = QuantityFormField(unit="mm", dimension="length", allow_zero=False, example="1.2 mm")
    final_mass = QuantityFormField(unit="g", dimension="mass", allow_zero=False, example="0.45 g")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, user: Any, lots: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limit_team(user)
        self.fields["lot"].queryset = lots  # type: ignore[attr-defined]
        self.fields["lot"].label_from_instance = lot_choice_label  # type: ignore[attr-defined]


class ElectrodeForm(TeamChoiceMixin, forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none())
    active_lot = forms.ModelChoiceField(queryset=StockLot.objects.none(), label="Active material lot")
    conductive_lot = forms.ModelChoiceField(queryset=StockLot.objects.none(), required=False)
    binder_lot = forms.ModelChoiceField(queryset=StockLot.objects.none(), required=False)
    active_fraction = forms.FloatField(min_value=0, max_value=1, initial=0.8, help_text="mass fraction, 0-1")
    conductive_fraction = forms.FloatField(min_value=0, max_value=1, initial=0.1)
    binder_fraction = forms.FloatField(min_value=0, max_value=1, initial=0.1)
    loading = QuantityFormField(
        unit="mg/cm**2",
        dimension="areal_mass",
        required=False,
        label="Active loading",
        help_text="active material per area, e.g. '2 mg/cm^2'",
    )
    coating_mass = QuantityFormField(
        unit="g",
        dimension="mass",
        required=False,
        help_text="or the weighed coating without the collector, e.g. '2.5 mg'",
    )
    area = QuantityFormField(
        unit="cm**2", dimension="area", required=False, allow_zero=False, example="1.13 cm^2"
    )
    diameter = QuantityFormField(
        unit="mm",
        dimension="length",
        required=False,
        allow_zero=False,
        label="Disc diameter",
        help_text="instead of the area, for a disc, e.g. '12 mm'",
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, user: Any, lots: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limit_team(user)
        for name in ("active_lot", "conductive_lot", "binder_lot"):
            self.fields[name].queryset = lots  # type: ignore[attr-defined]
            self.fields[name].label_from_instance = lambda lot: f"{lot.chemical} · {lot_choice_label(lot)}"  # type: ignore[attr-defined]


class CRateForm(forms.Form):
    c_rate = forms.CharField(
        required=False, label="C-rate", widget=forms.TextInput(attrs={"placeholder": "0.5C or C/10"})
    )


class MembraneUpdateForm(forms.Form):
    thickness_measured = QuantityFormField(
        unit="um", dimension="length", required=False, label="Measured thickness", example="150 um"
    )
    appearance = forms.CharField(max_length=300, required=False)
    reason = forms.CharField(
        max_length=100, required=False, help_text="why it changed (kept in the history), e.g. 're-measured'"
    )


def component_unit(component: RecipeComponent) -> str:
    return AMOUNT_UNITS[AmountKind(component.amount_kind)]
