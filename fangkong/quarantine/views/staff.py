"""Site staff pages: members and closed-loop periods, the day's tests and health checks, leaving the loop."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from fangkong.core.access import AuthedRequest, requires
from fangkong.core.errors import DomainError
from fangkong.core.roles import Capability
from fangkong.quarantine.forms import LeaveLoopForm, RosterForm, StaffCheckForm, StaffForm
from fangkong.quarantine.selectors import sites as site_selectors
from fangkong.quarantine.selectors import staff as selectors
from fangkong.quarantine.services import staff as services
from fangkong.quarantine.views.sites import _form_errors


def _day(value: str | None) -> date:
    try:
        return date.fromisoformat(value) if value else timezone.localdate()
    except ValueError:
        return timezone.localdate()


@requires(Capability.QUARANTINE_VIEW)
def site_staff(request: AuthedRequest, site_id: int) -> HttpResponse:
    site = site_selectors.access_site(request.user, site_id)
    on = _day(request.GET.get("on"))
    daily = selectors.daily_checks(site, on=on)
    return render(
        request,
        "quarantine/site_staff.html",
        {
            "site": site,
            "on": on,
            "staff": selectors.staff_of(site),
            "rosters": selectors.rosters_of(site)[:200],
            "daily": daily,
            "missing": sum(1 for row in daily if not row.is_complete),
            "left_early": selectors.left_early(site)[:50],
            "staff_form": StaffForm(),
            "roster_form": RosterForm(),
            "check_form": StaffCheckForm(initial={"on": on}),
            "leave_form": LeaveLoopForm(),
        },
    )


@requires(Capability.QUARANTINE_MANAGE)
@require_POST
def staff_add(request: AuthedRequest, site_id: int) -> HttpResponse:
    site = site_selectors.access_site(request.user, site_id)
    form = StaffForm(request.POST)
    if form.is_valid():
        try:
            services.add_staff_member(site, by=request.user, **form.cleaned_data)
        except DomainError as error:
            messages.error(request, str(error.message))
    else:
        messages.error(request, _form_errors(form))
    return redirect("quarantine:site_staff", site_id=site.pk)


@requires(Capability.QUARANTINE_MANAGE)
@require_POST
def roster_start(request: AuthedRequest, staff_id: int) -> HttpResponse:
    member = selectors.access_staff(request.user, staff_id)
    form = RosterForm(request.POST)
    if form.is_valid():
        try:
            services.start_roster(member, by=request.user, **form.cleaned_data)
        except DomainError as error:
            messages.error(request, str(error.message))
    else:
        messages.error(request, _form_errors(form))
    return redirect("quarantine:site_staff", site_id=member.site_id)


@requires(Capability.QUARANTINE_WORK)
@require_POST
def staff_check(request: AuthedRequest, roster_id: int) -> HttpResponse:
    roster = selectors.access_roster(request.user, roster_id)
    form = StaffCheckForm(request.POST)
    if form.is_valid():
        try:
            services.record_staff_check(roster, by=request.user, **form.cleaned_data)
        except DomainError as error:
            messages.error(request, str(error.message))
    else:
        messages.error(request, _form_errors(form))
    on = form.cleaned_data.get("on") if form.is_valid() else None
    url = redirect("quarantine:site_staff", site_id=roster.site_id)
    if on:
        url["Location"] += f"?on={on.isoformat()}"
    return url


@requires(Capability.QUARANTINE_MANAGE)
@require_POST
def roster_leave(request: AuthedRequest, roster_id: int) -> HttpResponse:
    roster = selectors.access_roster(request.user, roster_id)
    form = LeaveLoopForm(request.POST)
    if form.is_valid():
        try:
            services.record_left_loop(roster, reason=form.cleaned_data["reason"], by=request.user)
        except DomainError as error:
            messages.error(request, str(error.message))
    return redirect("quarantine:site_staff", site_id=roster.site_id)
