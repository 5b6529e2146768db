from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.core.errors import DomainError
from fangkong.people.models import DocumentKind
from fangkong.testing.certificates.codec import MAX_TEXT_LENGTH
from fangkong.testing.certificates.services import LookupInput


class LookupForm(forms.Form):
    """The resident's lookup: shapes only here; the service checks meaning and names the field."""

    document_kind = forms.ChoiceField(
        label=_("Document type"), choices=DocumentKind.choices, initial=DocumentKind.RESIDENT_ID
    )
    document_number = forms.CharField(label=_("ID number"), max_length=40, required=False)
    phone = forms.CharField(
        label=_("Mobile registered for you"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    code = forms.CharField(
        label=_("Code from the SMS"),
        max_length=12,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )

    LOOKUP_FIELDS = ("document_kind", "document_number", "phone")

    def to_input(self) -> LookupInput:
        data = self.cleaned_data
        return LookupInput(
            document_kind=data["document_kind"], document_number=data["document_number"], phone=data["phone"]
        )

    def add_domain_error(self, error: DomainError) -> None:
        self.add_error(error.field if error.field in self.fields else None, str(error.message))

    def lookup_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.LOOKUP_FIELDS]


class VerifyForm(forms.Form):
    certificate = forms.CharField(
        label=_("Certificate (scan the QR code or paste its text)"),
        max_length=MAX_TEXT_LENGTH * 2,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false", "autofocus": True}),
    )
