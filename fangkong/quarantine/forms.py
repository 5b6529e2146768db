"""Forms of the site, staff and placement pages: they parse input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.core.errors import DomainError
from fangkong.core.models import Division, User
from fangkong.people.forms import PersonForm
from fangkong.quarantine.models import (
    TEMPERATURE_MAX_C,
    TEMPERATURE_MIN_C,
    RoomType,
    ShareReason,
    SiteKind,
    SiteStatus,
    StaffCheckKind,
    StaffCheckResult,
    StaffRole,
)
from fangkong.quarantine.selectors.sites import site_divisions
from fangkong.quarantine.services.sites import MANUAL_ROOM_STATUSES, SITE_FIELDS


class DomainErrorFormMixin:
    def add_domain_error(self, error: DomainError) -> None:
        field = error.field if error.field in self.fields else None  # type: ignore[attr-defined]
        self.add_error(field, str(error.message))  # type: ignore[attr-defined]


class SiteForm(DomainErrorFormMixin, forms.Form):
    division = forms.ModelChoiceField(
        label=_("Jurisdiction"), queryset=Division.objects.none(), to_field_name="path", required=True
    )
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=SiteKind.choices)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    lat = forms.FloatField(label=_("Latitude"), required=False, min_value=-90, max_value=90)
    lon = forms.FloatField(label=_("Longitude"), required=False, min_value=-180, max_value=180)
    contact_name = forms.CharField(label=_("Contact person"), max_length=100, required=False)
    contact_phone = forms.CharField(label=_("Contact mobile"), max_length=11, required=False)
    clean_zone = forms.CharField(label=_("Clean zone (where)"), max_length=200, required=False)
    buffer_zone = forms.CharField(label=_("Buffer zone (where)"), max_length=200, required=False)
    contaminated_zone = forms.CharField(label=_("Contaminated zone (where)"), max_length=200, required=False)
    staff_passage = forms.CharField(label=_("Staff passage (where)"), max_length=200, required=False)
    resident_passage = forms.CharField(label=_("Resident passage (where)"), max_length=200, required=False)

    def __init__(self, *args: Any, user: User, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["division"]
        else:
            self.fields["division"].queryset = site_divisions(user)  # type: ignore[attr-defined]

    def details(self) -> dict[str, Any]:
        return {key: self.cleaned_data[key] for key in SITE_FIELDS}


class SiteStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=SiteStatus.choices)
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


class ChecklistAddForm(forms.Form):
    label = forms.CharField(label=_("Checklist item"), max_length=200)


class RoomLayoutForm(DomainErrorFormMixin, forms.Form):
    building = forms.CharField(label=_("Building"), max_length=50)
    first_floor = forms.IntegerField(label=_("First floor"), min_value=-5, max_value=200)
    last_floor = forms.IntegerField(label=_("Last floor"), min_value=-5, max_value=200)
    rooms_per_floor = forms.IntegerField(label=_("Rooms per floor"), min_value=1, max_value=200)
    first_number = forms.IntegerField(label=_("First room number on a floor"), min_value=0, initial=1)
    room_type = forms.ChoiceField(label=_("Room type"), choices=RoomType.choices, initial=RoomType.SINGLE)
    beds = forms.IntegerField(label=_("Beds per room"), min_value=1, max_value=10, initial=1)


class RoomStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Room status"), choices=[(s.value, s.label) for s in MANUAL_ROOM_STATUSES])
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


class StaffForm(DomainErrorFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    role = forms.ChoiceField(label=_("Role"), choices=StaffRole.choices)
    phone = forms.CharField(label=_("Mobile"), max_length=11, required=False)


class RosterForm(DomainErrorFormMixin, forms.Form):
    loop_start = forms.DateField(label=_("Loop starts"), widget=forms.DateInput(attrs={"type": "date"}))
    loop_end = forms.DateField(label=_("Loop ends"), widget=forms.DateInput(attrs={"type": "date"}))


class StaffCheckForm(DomainErrorFormMixin, forms.Form):
    on = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(label=_("Check"), choices=StaffCheckKind.choices)
    result = forms.ChoiceField(label=_("Result"), choices=StaffCheckResult.choices)
    temperature = forms.DecimalField(
        label=_("Temperature (°C)"),
        required=False,
        max_digits=4,
        decimal_places=1,
        help_text=_("%(low)s–%(high)s °C") % {"low": TEMPERATURE_MIN_C, "high": TEMPERATURE_MAX_C},
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class LeaveLoopForm(DomainErrorFormMixin, forms.Form):
    reason = forms.CharField(label=_("Reason (required when leaving early)"), max_length=300, required=False)


class PickupForm(DomainErrorFormMixin, forms.Form):
    scheduled_at = forms.DateTimeField(
        label=_("Pick up at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    vehicle = forms.CharField(label=_("Vehicle"), max_length=40, required=False)
    driver_name = forms.CharField(label=_("Driver"), max_length=100, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class CompanionForm(DomainErrorFormMixin, PersonForm):
    """A guardian or carer who is not at risk themselves, placed in the room of the person they accompany."""

    share_reason = forms.ChoiceField(
        label=_("Why they share the room"),
        choices=[
            (r.value, r.label)
            for r in (ShareReason.GUARDIAN_OF_CHILD, ShareReason.CARER, ShareReason.CHILD_WITH_GUARDIAN)
        ],
    )
    arrived = forms.BooleanField(label=_("Already at the site (no pickup needed)"), required=False)
