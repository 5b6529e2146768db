"""Forms of the testing pages. Choices come from scoped selectors; services do the checking."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.core.models import Division, DivisionLevel, Organization, User
from fangkong.core.scope import scoped
from fangkong.testing import selectors
from fangkong.testing.models import ExemptionReason, FlagDecision, SiteKind


def _barcode_list(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


class ScanForm(forms.Form):
    person_code = forms.CharField(label=_("ID number or personal QR"), max_length=200)
    tube_barcode = forms.CharField(label=_("Tube barcode"), max_length=40)
    name = forms.CharField(label=_("Name (only for someone not yet registered)"), max_length=100, required=False)
    phone = forms.CharField(label=_("Mobile (optional)"), max_length=20, required=False)


class HandoverForm(forms.Form):
    lab: forms.ModelChoiceField[Organization] = forms.ModelChoiceField(
        label=_("Laboratory"), queryset=Organization.objects.none()
    )
    barcodes = forms.CharField(label=_("Tube barcodes, one a line"), widget=forms.Textarea(attrs={"rows": 8}))
    courier = forms.CharField(label=_("Courier"), max_length=100, required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lab"].queryset = selectors.labs_for(user)  # type: ignore[attr-defined]

    def barcode_list(self) -> list[str]:
        return _barcode_list(self.cleaned_data["barcodes"])


class ReceiptForm(forms.Form):
    barcodes = forms.CharField(
        label=_("Barcodes of the tubes unpacked, one a line"), widget=forms.Textarea(attrs={"rows": 8})
    )

    def barcode_list(self) -> list[str]:
        return _barcode_list(self.cleaned_data["barcodes"])


class ResultUploadForm(forms.Form):
    lab: forms.ModelChoiceField[Organization] = forms.ModelChoiceField(
        label=_("Laboratory"), queryset=Organization.objects.none()
    )
    file = forms.FileField(label=_("Result file (.xlsx, .xls or .csv)"))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labs = selectors.labs_for(user)
        if user.organization_id is not None:
            own = labs.filter(pk=user.organization_id)
            labs = own if own.exists() else labs
        self.fields["lab"].queryset = labs  # type: ignore[attr-defined]


class RetestForm(forms.Form):
    barcode = forms.CharField(label=_("Single-tube barcode"), max_length=40)


class RoundForm(forms.Form):
    division: forms.ModelChoiceField[Division] = forms.ModelChoiceField(
        label=_("Area"), queryset=Division.objects.none()
    )
    name = forms.CharField(label=_("Name"), max_length=100)
    starts_at = forms.DateTimeField(label=_("Starts"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    ends_at = forms.DateTimeField(label=_("Ends"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    pool_size = forms.TypedChoiceField(
        label=_("People per tube"), coerce=int, choices=[(1, "1"), (5, "5"), (10, "10"), (20, "20")], initial=10
    )
    receipt_target_hours = forms.IntegerField(label=_("Sampling → lab receipt target (h)"), min_value=1, initial=6)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["division"].queryset = scoped(  # type: ignore[attr-defined]
            Division.objects.exclude(level=DivisionLevel.PROVINCE), user
        )


class SiteForm(forms.Form):
    division: forms.ModelChoiceField[Division] = forms.ModelChoiceField(
        label=_("Community"), queryset=Division.objects.none()
    )
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=SiteKind.choices)
    hourly_capacity = forms.IntegerField(label=_("People per hour"), min_value=1, initial=120)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["division"].queryset = scoped(  # type: ignore[attr-defined]
            Division.objects.filter(level=DivisionLevel.COMMUNITY), user
        )


class ExemptionForm(forms.Form):
    """Who (an ID number or personal QR, or a person chosen elsewhere: `person`), why, and a note."""

    person_code = forms.CharField(label=_("ID number or personal QR"), max_length=200, required=False)
    person = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = forms.ChoiceField(label=_("Reason"), choices=ExemptionReason.choices)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("person") and not (data.get("person_code") or "").strip():
            self.add_error("person_code", _("Scan or type the person's ID number."))
        return data


class RevokeExemptionForm(forms.Form):
    note = forms.CharField(label=_("Why"), max_length=300, required=False)


class FlagReviewForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=FlagDecision.choices)
    note = forms.CharField(label=_("Note"), max_length=300)
