"""Forms of the cells pages: unit-aware inputs; every rule is checked by cells.services, not here."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from cells.models import CellFormat, CellState, Configuration
from cells.services import CellSpec, standard_components
from formulations.models import ChemicalRole, Electrode, LotStatus, Membrane, Pellet, StockLot
from lims.drawn_forms import FormDrawing
from lims.fields import QuantityFormField
from lims.models import AttachmentKind, Role, Team
from lims.permissions import scope_to_teams, teams_for


class _LotChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} · {obj.chemical.name} · {obj.quantity_on_hand:g} {obj.quantity_unit} on hand"


class _CodeChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.code)


def _area(label: str, required: bool = False, example: str = "2 cm^2") -> QuantityFormField:
    """An electrode area; 2 cm² is a 16 mm disc."""
    return QuantityFormField(
        unit="cm**2", dimension="area", required=required, allow_zero=False, label=label, example=example
    )


class AssembleForm(forms.Form):
    """One cell (or, in BulkAssembleForm, N identical cells): configuration, electrolyte, electrodes, conditions."""

    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
    code = forms.CharField(
        max_length=40, required=False, help_text="leave empty for an automatic code such as SYM-261125-001"
    )
    configuration = forms.ChoiceField(choices=Configuration.choices)
    cell_format = forms.ChoiceField(choices=CellFormat.choices, label="Format")
    format_detail = forms.CharField(max_length=40, required=False, help_text="e.g. CR2032")
    membrane = _CodeChoice(queryset=Membrane.objects.none(), required=False)
    pellet = _CodeChoice(queryset=Pellet.objects.none(), required=False)
    cathode = _CodeChoice(
        queryset=Electrode.objects.none(), required=False, label="Cathode electrode (full cells)"
    )
    li_foil_lot = _LotChoice(queryset=StockLot.objects.none(), required=False, label="Li foil lot")
    li_foil_amount = QuantityFormField(
        unit="mg",
        dimension="mass",
        required=False,
        allow_zero=False,
        label="Li foil mass per electrode",
        example="5 mg",
    )
    li_foil_area = _area("Li foil area per electrode")
    stainless_area = _area("Stainless-steel electrode area")
    area_override = _area("Active area (overrides the smallest electrode)")
    stack_pressure = QuantityFormField(
        unit="MPa", dimension="pressure", required=False, label="Stack pressure", example="5 MPa"
    )
    assembled_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="Assembled at"
    )
    glovebox_o2 = QuantityFormField(
        unit="ppm", dimension="fraction", required=False, label="Glovebox O2 (ppm)", example="0.5 ppm"
    )
    glovebox_h2o = QuantityFormField(
        unit="ppm", dimension="fraction", required=False, label="Glovebox H2O (ppm)", example="0.1 ppm"
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        writable = teams_for(user, Role.RESEARCHER)
        self.fields["team"].queryset = writable  # type: ignore[attr-defined]
        if writable.count() <= 1:
            self.fields["team"].widget = forms.HiddenInput()
        self.fields["membrane"].queryset = scope_to_teams(Membrane.objects.all(), user)  # type: ignore[attr-defined]
        self.fields["pellet"].queryset = scope_to_teams(Pellet.objects.all(), user)  # type: ignore[attr-defined]
        self.fields["cathode"].queryset = scope_to_teams(  # type: ignore[attr-defined]
            Electrode.objects.filter(cells__isnull=True), user
        )
        self.fields["li_foil_lot"].queryset = StockLot.objects.select_related("chemical").filter(  # type: ignore[attr-defined]
            chemical__role=ChemicalRole.ANODE_METAL, status=LotStatus.AVAILABLE
        )
        if not self.is_bound and "assembled_at" not in self.initial:
            self.initial["assembled_at"] = timezone.localtime().strftime("%Y-%m-%dT%H:%M")

    def chosen_team(self) -> Team | None:
        return self.cleaned_data.get("team")

    def to_spec(self) -> CellSpec:
        d = self.cleaned_data
        amount = f"{d['li_foil_amount']} mg" if d.get("li_foil_amount") else None
        return CellSpec(
            configuration=d["configuration"],
            cell_format=d["cell_format"],
            format_detail=d.get("format_detail", ""),
            membrane=d.get("membrane"),
            pellet=d.get("pellet"),
            cathode=d.get("cathode"),
            components=standard_components(
                configuration=d["configuration"],
                li_foil_lot=d.get("li_foil_lot"),
                li_foil_amount=amount,
                li_foil_area_cm2=d.get("li_foil_area"),
                stainless_area_cm2=d.get("stainless_area"),
            ),
            area_override_cm2=d.get("area_override"),
            stack_pressure_MPa=d.get("stack_pressure"),
            assembled_at=d.get("assembled_at"),
            glovebox_o2_ppm=d.get("glovebox_o2"),
            glovebox_h2o_ppm=d.get("glovebox_h2o"),
            notes=d.get("notes", ""),
        )


class BulkAssembleForm(AssembleForm):
    count = forms.IntegerField(min_value=1, max_value=200, label="Number of identical cells")
    code_base = forms.CharField(
        max_length=30, required=False, help_text="codes are <base>-001, <base>-002, ..."
    )
    cathodes = forms.ModelMultipleChoiceField(
        queryset=Electrode.objects.none(),
        required=False,
        label="Cathode electrodes (full cells: one per cell)",
    )
    field_order = ["team", "count", "code_base", "configuration"]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        del self.fields["code"]
        del self.fields["cathode"]
        del self.fields["pellet"]
        self.fields["membrane"].required = True
        self.fields["cathodes"].queryset = scope_to_teams(  # type: ignore[attr-defined]
            Electrode.objects.filter(cells__isnull=True), user
        )


class StateChangeForm(forms.Form):
    to_state = forms.ChoiceField(choices=CellState.choices, widget=forms.HiddenInput())
    version = forms.IntegerField(widget=forms.HiddenInput())
    reason = forms.CharField(max_length=300, required=False)


class ObservedSelect(forms.NullBooleanSelect):
    """yes / no / not checked, with the recorded answer selected (a plain ``Select`` of "true"/"false" selected
    nothing for True or False, so saving the form again set a recorded observation back to "not checked")."""

    def __init__(self, attrs: Any = None) -> None:
        super().__init__(attrs)
        self.choices = [("unknown", "not checked"), ("true", "yes"), ("false", "no")]


class PostmortemForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput())
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), required=False, label="Post-mortem notes"
    )
    dendrites_observed = forms.NullBooleanField(
        required=False, widget=ObservedSelect(), label="Dendrites observed"
    )
    delamination_observed = forms.NullBooleanField(
        required=False, widget=ObservedSelect(), label="Delamination observed"
    )
    file = forms.FileField(required=False, label="SEM image or photo")
    file_kind = forms.ChoiceField(
        choices=[
            (AttachmentKind.SEM, "SEM image"),
            (AttachmentKind.PHOTO, "photo"),
            (AttachmentKind.DATA, "data"),
        ],
        label="File kind",
    )
    caption = forms.CharField(max_length=300, required=False)


#: the post-mortem form as the cell page shows it, filled in from the cell (lims/drawn_forms.py)
POSTMORTEM_DRAWING = FormDrawing(
    PostmortemForm, varying=("version", "notes", "dendrites_observed", "delamination_observed")
)


class LookupForm(forms.Form):
    code = forms.CharField(max_length=40, label="Cell code")
