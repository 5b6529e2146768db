from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.tracing.models import CaseKind, PlaceKind, Setting


class CaseForm(forms.Form):
    person_id = forms.IntegerField(label=_("Person (registry number)"), widget=forms.HiddenInput)
    kind = forms.ChoiceField(label=_("Kind"), choices=CaseKind.choices)
    onset_date = forms.DateField(
        label=_("Symptom onset"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    first_positive_at = forms.DateTimeField(
        label=_("First positive sample"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


class TimelineForm(forms.Form):
    starts_at = forms.DateTimeField(label=_("From"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    ends_at = forms.DateTimeField(label=_("Until"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    kind = forms.ChoiceField(label=_("Kind"), choices=PlaceKind.choices)
    place = forms.CharField(label=_("Place"), max_length=200)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class ContactForm(forms.Form):
    person_id = forms.IntegerField(label=_("Person (registry number)"))
    setting = forms.ChoiceField(label=_("Setting"), choices=Setting.choices)
    last_exposure_at = forms.DateTimeField(
        label=_("Last exposure"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
