"""Forms of the inventory pages. They check shape and units only; the rules live in the services they feed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models

from formulations.domain.cas import CasNumberError, normalise_cas
from formulations.models import Chemical, LotStatus, StockLot, StorageLocation, Supplier
from formulations.services.inventory import LOT_EDITABLE_FIELDS
from lims.edit_guard import LoadedVersionMixin
from lims.fields import QuantityFormField


def _locations() -> Any:
    return StorageLocation.objects.select_related("parent__parent__parent").order_by("name")


class DateInput(forms.DateInput):
    input_type = "date"


class AmountInput(forms.TextInput):
    """Free amount text ("5 mL", "3.74 g", "20 mmol"); static/formulations/inventory.js previews the conversion."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        base = {"class": "lot-amount", "autocomplete": "off", "placeholder": "e.g. 5 mL or 3.74 g"}
        base.update(attrs or {})
        super().__init__(base)


class ReceiveLotForm(forms.Form):
    chemical = forms.ModelChoiceField(queryset=Chemical.objects.order_by("name"))
    quantity = forms.CharField(
        max_length=60,
        widget=AmountInput(attrs={"placeholder": "e.g. 500 g or 250 mL", "data-receive": "1"}),
        help_text="a mass keeps the lot in g, a volume in mL",
    )
    supplier = forms.ModelChoiceField(queryset=Supplier.objects.order_by("name"), required=False)
    supplier_lot_number = forms.CharField(max_length=80, required=False, label="Supplier's lot number")
    purity = QuantityFormField(
        unit="dimensionless", dimension="fraction", required=False, help_text="e.g. '99.5 %' or 0.995"
    )
    received_on = forms.DateField(required=False, widget=DateInput, help_text="today when empty")
    opened_on = forms.DateField(required=False, widget=DateInput)
    expires_on = forms.DateField(required=False, widget=DateInput)
    location = forms.ModelChoiceField(queryset=_locations(), required=False)
    container_count = forms.IntegerField(min_value=1, initial=1)
    water_content = QuantityFormField(
        unit="ppm", dimension="fraction", required=False, help_text="e.g. '50 ppm'"
    )
    status = forms.ChoiceField(
        choices=[(LotStatus.AVAILABLE, "available"), (LotStatus.QUARANTINE, "quarantine (check before use)")],
        initial=LotStatus.AVAILABLE,
    )
    code = forms.CharField(max_length=20, required=False, help_text="label code; generated when empty")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    certificate = forms.FileField(required=False, help_text="certificate of analysis (PDF)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = _locations()  # type: ignore[attr-defined]

    def clean_purity(self) -> float | None:
        value = self.cleaned_data.get("purity")
        if value is not None and not 0 < value <= 1:
            raise forms.ValidationError("a purity lies between 0 and 100 % (e.g. '99.5 %')")
        return value

    def clean_code(self) -> str:
        return str(self.cleaned_data.get("code") or "").strip().upper()

    def service_kwargs(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        if not data.get("certificate"):
            data.pop("certificate", None)
        return data


class ConsumeForm(forms.Form):
    amount = forms.CharField(max_length=60, widget=AmountInput(), help_text="converted to the lot's unit")
    purpose = forms.CharField(max_length=200, required=False, help_text="what the material is for")
    reason = forms.CharField(max_length=300, required=False)
    override_reason = forms.CharField(
        max_length=200,
        required=False,
        label="Manager's override reason",
        help_text="only to use an expired or quarantined lot; managers only",
    )


class ReturnForm(forms.Form):
    """Unused material put back into this lot (services.inventory.return_to_lot): the amount is added to what
    is on hand. Nothing goes back to the supplier; material that leaves the lab is disposed of."""

    amount = forms.CharField(
        max_length=60,
        widget=AmountInput(),
        label="Amount put back",
        help_text=(
            "unused material going back into this lot (e.g. you weighed out too much); it is added to the "
            "quantity on hand. This is not a return to the supplier: for material that leaves the lab, use Dispose."
        ),
    )
    reason = forms.CharField(max_length=300, required=False, help_text="e.g. 'weighed out 0.2 g too much'")


class AdjustForm(forms.Form):
    counted = forms.CharField(
        max_length=60, widget=AmountInput(), label="Counted quantity", help_text="what the stock count found"
    )
    reason = forms.CharField(max_length=300, help_text="e.g. 'stock count 2026-11-01'")


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300)


class LotEditForm(LoadedVersionMixin, forms.ModelForm):
    reason = forms.CharField(max_length=300, required=False, help_text="why (kept in the history)")

    class Meta:
        model = StockLot
        fields = list(LOT_EDITABLE_FIELDS)
        widgets = {
            "received_on": DateInput,
            "opened_on": DateInput,
            "expires_on": DateInput,
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = _locations()  # type: ignore[attr-defined]


class ChemicalForm(LoadedVersionMixin, forms.ModelForm):
    synonyms = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="other names and abbreviations, one per line or separated by commas",
    )

    class Meta:
        model = Chemical
        fields = [
            "name",
            "abbreviation",
            "synonyms",
            "cas_number",
            "formula",
            "role",
            "molar_mass",
            "density",
            "theoretical_density",
            "specific_capacity",
            "moisture_sensitive",
            "store_in_glovebox",
            "light_sensitive",
            "hazard_notes",
            "low_stock_threshold",
        ]
        widgets = {"hazard_notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["synonyms"] = ", ".join(s.name for s in self.instance.synonyms.all())

    def clean_cas_number(self) -> str:
        value = str(self.cleaned_data.get("cas_number") or "").strip()
        if not value:
            return ""
        try:
            return normalise_cas(value)
        except CasNumberError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_synonyms(self) -> list[str]:
        raw = str(self.cleaned_data.get("synonyms") or "")
        return [part.strip() for line in raw.splitlines() for part in line.split(",") if part.strip()]

    def service_kwargs(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


def _https_urls(field: Any, **kwargs: Any) -> Any:
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return field.formfield(**kwargs)


class SupplierForm(LoadedVersionMixin, forms.ModelForm):
    class Meta:
        model = Supplier
        formfield_callback = staticmethod(_https_urls)
        fields = ["name", "website", "contact", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}


class LocationForm(LoadedVersionMixin, forms.ModelForm):
    class Meta:
        model = StorageLocation
        fields = ["name", "kind", "parent"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = _locations()  # type: ignore[attr-defined]


class BulkReceiveForm(forms.Form):
    file = forms.FileField(label="Delivery file (CSV)", help_text="one row per lot; see the columns below")
    supplier = forms.ModelChoiceField(
        queryset=Supplier.objects.order_by("name"), required=False, help_text="for rows that name no supplier"
    )
