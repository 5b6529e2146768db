"""Forms check shapes only; the services check meaning and name the field, so one set of rules serves the
pages, the import and the tests."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.core.errors import DomainError
from fangkong.people.models import DocumentKind
from fangkong.venues.importing import FIELDS
from fangkong.venues.models import VenueCategory
from fangkong.venues.services import StaffCheckInInput, VenueInput, VisitorInput

ACCEPT = ".xlsx,.xls,.csv,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class DomainErrorMixin:
    def add_domain_error(self, error: DomainError) -> None:
        form: Any = self
        form.add_error(error.field if error.field in form.fields else None, str(error.message))


class VenueForm(DomainErrorMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    category = forms.ChoiceField(label=_("Kind of venue"), choices=VenueCategory.choices)
    division = forms.ChoiceField(label=_("Village / community"))
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    dwell_minutes = forms.IntegerField(
        label=_("Assumed stay (minutes) when nobody checks out"),
        required=False,
        min_value=1,
        max_value=24 * 60,
        help_text=_("Leave empty for the usual stay of this kind of venue."),
    )
    is_active = forms.BooleanField(label=_("Accepting check-ins"), required=False, initial=True)

    def __init__(self, *args: Any, communities: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["division"]
        field.choices = [("", _("— choose —")), *communities]

    def to_input(self) -> VenueInput:
        data = self.cleaned_data
        return VenueInput(
            name=data["name"],
            category=data["category"],
            division=data["division"],
            address=data["address"],
            dwell_minutes=data["dwell_minutes"],
        )


class VisitorFields(forms.Form):
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
    submission = forms.CharField(max_length=100, required=False, widget=forms.HiddenInput)

    VISITOR_FIELDS = ("name", "document_kind", "document_number", "phone")

    def visitor(self) -> VisitorInput:
        data = self.cleaned_data
        return VisitorInput(
            name=data["name"],
            document_kind=data["document_kind"],
            document_number=data["document_number"],
            phone=data["phone"],
        )

    def visitor_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.VISITOR_FIELDS]


class SelfCheckInForm(DomainErrorMixin, VisitorFields):
    """The public page: the visitor's own identity and mobile, then the code from the SMS."""

    code = forms.CharField(
        label=_("Code from the SMS"),
        max_length=12,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class StaffCheckInForm(DomainErrorMixin, VisitorFields):
    checked_in_at = forms.DateTimeField(
        label=_("Checked in (empty: now)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    checked_out_at = forms.DateTimeField(
        label=_("Checked out (if known)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def to_input(self) -> StaffCheckInInput:
        return StaffCheckInInput(
            visitor=self.visitor(),
            checked_in_at=self.cleaned_data["checked_in_at"],
            checked_out_at=self.cleaned_data["checked_out_at"],
        )


class CheckInUploadForm(forms.Form):
    venue = forms.ChoiceField(label=_("Venue (if the file is for one venue)"), required=False)
    file = forms.FileField(
        label=_("Check-ins (.xlsx, .xls or .csv in UTF-8 or GBK)"),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )

    def __init__(self, *args: Any, venues: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["venue"]
        field.choices = [("", _("— the file has a venue code column —")), *venues]


class MappingForm(forms.Form):
    def __init__(self, *args: Any, headers: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("— not in this file —")), *[(h, h) for h in headers]]
        for spec in FIELDS:
            self.fields[f"map_{spec.name}"] = forms.ChoiceField(label=str(spec.label), choices=choices, required=False)

    def mapping(self) -> dict[str, str]:
        return {
            spec.name: self.cleaned_data[f"map_{spec.name}"]
            for spec in FIELDS
            if self.cleaned_data.get(f"map_{spec.name}")
        }
