from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.core.models import Division, User
from fangkong.people.forms import PersonForm
from fangkong.people.selectors import communities_for
from fangkong.screening.models import Outcome, Reason


class AttemptForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
    new_division = forms.ModelChoiceField(
        label=_("Found in community"), queryset=Division.objects.none(), to_field_name="path", required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Found at another address may be anywhere in the city: the entry is handed to that community.
        self.fields["new_division"].queryset = Division.objects.filter(level="community")  # type: ignore[attr-defined]


class ManualListingForm(PersonForm):
    """A community worker registers someone at risk by hand: who they are and why."""

    reason = forms.ChoiceField(label=_("Why at risk"), choices=Reason.choices, initial=Reason.ARRIVAL)
    origin_name = forms.CharField(label=_("Coming from"), max_length=100, required=False)
    arrived_on = forms.DateField(
        label=_("Arrival date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.fields["division"].queryset = communities_for(user)  # type: ignore[attr-defined]
