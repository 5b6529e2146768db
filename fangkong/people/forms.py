from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.core.errors import DomainError
from fangkong.core.models import Division, User
from fangkong.people.models import DocumentKind, Sex
from fangkong.people.selectors import communities_for
from fangkong.people.validation import PersonInput


class PersonForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    document_kind = forms.ChoiceField(label=_("Document type"), choices=DocumentKind.choices)
    document_number = forms.CharField(label=_("Document number"), max_length=40, required=False)
    phone = forms.CharField(label=_("Mobile"), max_length=20, required=False)
    sex = forms.ChoiceField(label=_("Sex"), choices=Sex.choices, initial=Sex.UNKNOWN)
    birth_date = forms.DateField(
        label=_("Date of birth"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    division: forms.ModelChoiceField[Division] = forms.ModelChoiceField(
        label=_("Home community"), queryset=Division.objects.none(), to_field_name="path"
    )
    address = forms.CharField(label=_("Address"), max_length=300, required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["division"].queryset = communities_for(user)  # type: ignore[attr-defined]

    def to_input(self) -> PersonInput:
        data = self.cleaned_data
        return PersonInput(
            name=data["name"],
            division=data["division"].path,
            document_kind=data["document_kind"],
            document_number=data["document_number"],
            phone=data["phone"],
            sex=data["sex"],
            birth_date=data["birth_date"],
            address=data["address"],
        )

    def add_domain_error(self, error: DomainError) -> None:
        self.add_error(error.field if error.field in self.fields else None, str(error.message))


class RevealForm(forms.Form):
    field = forms.ChoiceField(choices=[("document", _("Document number")), ("phone", _("Mobile"))])
    reason = forms.CharField(label=_("Reason"), max_length=300, min_length=4)
