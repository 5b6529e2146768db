from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.command.planning import PlanRequest
from fangkong.core.models import Division, User
from fangkong.core.selectors import divisions_in_scope


def scenario_choices() -> list[tuple[str, str]]:
    from fangkong.simulate.scenarios import NAMED_SCENARIOS

    return [(name, f"{s.title} ({name})") for name, s in NAMED_SCENARIOS.items()]


class PlanForm(forms.Form):
    scenarios = forms.MultipleChoiceField(
        label=_("Scenarios"),
        choices=scenario_choices,
        widget=forms.CheckboxSelectMultiple,
        initial=["tracing_close_only", "tracing_with_secondary"],
    )
    seeds = forms.IntegerField(label=_("Seeds per scenario"), min_value=1, max_value=50, initial=5)
    people = forms.IntegerField(label=_("Population"), min_value=10_000, max_value=10_000_000, initial=50_000)
    days = forms.IntegerField(label=_("Days"), min_value=14, max_value=365, initial=60)

    def to_request(self) -> PlanRequest:
        data = self.cleaned_data
        return PlanRequest(
            scenarios=list(data["scenarios"]), seeds=data["seeds"], people=data["people"], days=data["days"]
        )


class CampaignForm(forms.Form):
    division = forms.ModelChoiceField(
        label=_("To everyone registered in"), queryset=Division.objects.none(), to_field_name="path"
    )
    text = forms.CharField(label=_("Message"), max_length=300, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["division"].queryset = divisions_in_scope(user).order_by("path")  # type: ignore[attr-defined]
