from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.core.errors import DomainError
from fangkong.people.models import DocumentKind
from fangkong.screening.selfreport.selectors import CommunityChoices
from fangkong.screening.selfreport.services import SelfReportInput


class SelfReportForm(forms.Form):
    """The public form. Only shapes are checked here; the service checks meaning (ID check character, mobile,
    dates, community) and names the field, so one set of rules serves the page and the tests."""

    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    document_kind = forms.ChoiceField(
        label=_("Document type"), choices=DocumentKind.choices, initial=DocumentKind.RESIDENT_ID
    )
    document_number = forms.CharField(label=_("ID number"), max_length=40, required=False)
    phone = forms.CharField(
        label=_("Mobile"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    origin_name = forms.CharField(label=_("Coming from (city, district or risk area)"), max_length=100, required=False)
    arrived_on = forms.DateField(
        label=_("Arrival date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    community = forms.CharField(label=_("Village / community where you stay"), max_length=12, required=False)
    address = forms.CharField(
        label=_("Detailed address (building, unit, room)"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    code = forms.CharField(
        label=_("Code from the SMS"),
        max_length=12,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )
    submission = forms.CharField(max_length=100, required=False, widget=forms.HiddenInput)

    REPORT_FIELDS = ("name", "document_kind", "document_number", "phone", "origin_name", "arrived_on", "community")

    def __init__(self, *args: Any, communities: CommunityChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[Any] = [("", _("— choose —")), *communities]
        self.fields["community"].widget = forms.Select(choices=choices)

    def to_input(self) -> SelfReportInput:
        data = self.cleaned_data
        return SelfReportInput(
            name=data["name"],
            document_kind=data["document_kind"],
            document_number=data["document_number"],
            phone=data["phone"],
            origin_name=data["origin_name"],
            arrived_on=data["arrived_on"],
            community=data["community"],
            address=data["address"],
        )

    def add_domain_error(self, error: DomainError) -> None:
        self.add_error(error.field if error.field in self.fields else None, str(error.message))

    def report_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in (*self.REPORT_FIELDS, "address")]
