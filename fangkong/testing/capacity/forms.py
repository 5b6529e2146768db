from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.testing.capacity.planner import POOL_SIZES, PlannerInput


class PlannerForm(forms.Form):
    """The planner's inputs; sent by GET (the page changes nothing), prefilled from the jurisdiction."""

    population = forms.IntegerField(label=_("People to test"), min_value=1, max_value=100_000_000)
    sampling_points = forms.IntegerField(label=_("Sampling points"), min_value=1, max_value=1_000_000)
    people_per_point_per_hour = forms.IntegerField(label=_("People per point per hour"), min_value=1, max_value=10_000)
    sampling_hours_per_day = forms.IntegerField(label=_("Sampling hours per day"), min_value=1, max_value=24)
    pool_size = forms.TypedChoiceField(
        label=_("People per tube"), choices=[(n, str(n)) for n in POOL_SIZES], coerce=int
    )
    runs_per_day = forms.IntegerField(label=_("Transport runs per day"), min_value=1, max_value=1440)
    tubes_per_run = forms.IntegerField(label=_("Tubes per run"), min_value=1, max_value=10_000_000)
    transport_hours = forms.FloatField(label=_("Hours on the road per run"), min_value=0, max_value=168)
    lab_tubes_per_day = forms.IntegerField(label=_("Lab capacity (tubes per day)"), min_value=1, max_value=100_000_000)
    lab_run_hours = forms.FloatField(label=_("Hours from lab start to result"), min_value=0, max_value=168)
    target_hours = forms.FloatField(label=_("Target: all results within (hours)"), min_value=1, max_value=24 * 30)

    def to_input(self) -> PlannerInput:
        return PlannerInput(**self.cleaned_data)

    @staticmethod
    def initial_from(data: PlannerInput) -> dict[str, object]:
        return {name: getattr(data, name) for name in PlannerForm.base_fields}
