"""Site pages: the list with occupancy, create and edit, the site page (zones, checklist, status, the rooms grid,
rooms floor by floor), room status."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from fangkong.core.access import AuthedRequest, requires
from fangkong.core.errors import DomainError
from fangkong.core.roles import Capability
from fangkong.quarantine.forms import (
    ChecklistAddForm,
    RoomLayoutForm,
    RoomStatusForm,
    SiteForm,
    SiteStatusForm,
)
from fangkong.quarantine.models import SiteStatus
from fangkong.quarantine.selectors import sites as selectors
from fangkong.quarantine.services import sites as services


def _form_errors(form: object) -> str:
    return "; ".join(str(e) for errors in form.errors.values() for e in errors)  # type: ignore[attr-defined]


@requires(Capability.QUARANTINE_VIEW)
def site_list(request: AuthedRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    sites = list(selectors.sites_with_occupancy(request.user, status=status))
    totals = {
        key: sum(getattr(site, key) or 0 for site in sites)
        for key in ("room_count", "free_count", "occupied_count", "cleaning_count", "people_count")
    }
    return render(
        request,
        "quarantine/site_list.html",
        {"sites": sites, "totals": totals, "status": status, "statuses": SiteStatus.choices},
    )


@requires(Capability.QUARANTINE_MANAGE)
@require_http_methods(["GET", "POST"])
def site_create(request: AuthedRequest) -> HttpResponse:
    form = SiteForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            site = services.create_site(division=form.cleaned_data["division"], by=request.user, **form.details())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            return redirect("quarantine:site_detail", site_id=site.pk)
    return render(request, "quarantine/site_form.html", {"form": form}, status=400 if form.errors else 200)


@requires(Capability.QUARANTINE_VIEW)
def site_detail(request: AuthedRequest, site_id: int) -> HttpResponse:
    site = selectors.access_site(request.user, site_id)
    return render(
        request,
        "quarantine/site_detail.html",
        {
            "site": site,
            "checklist": selectors.checklist_of(site),
            "grid": selectors.site_grid(site),
            "status_form": SiteStatusForm(initial={"status": site.status}),
            "checklist_form": ChecklistAddForm(),
            "rooms_form": RoomLayoutForm(initial={"first_number": 1, "beds": 1}),
            "room_status_form": RoomStatusForm(),
        },
    )


@requires(Capability.QUARANTINE_MANAGE)
@require_http_methods(["GET", "POST"])
def site_edit(request: AuthedRequest, site_id: int) -> HttpResponse:
    site = selectors.access_site(request.user, site_id)
    initial = {key: getattr(site, key) for key in services.SITE_FIELDS}
    form = SiteForm(request.POST or None, initial=initial, user=request.user, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_site(site, by=request.user, **form.details())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            return redirect("quarantine:site_detail", site_id=site.pk)
    return render(
        request, "quarantine/site_form.html", {"form": form, "site": site}, status=400 if form.errors else 200
    )


@requires(Capability.QUARANTINE_MANAGE)
@require_POST
def site_status(request: AuthedRequest, site_id: int) -> HttpResponse:
    site = selectors.access_site(request.user, site_id)
    form = SiteStatusForm(request.POST)
    if form.is_valid():
        try:
            services.set_site_status(
                site, status=form.cleaned_data["status"], reason=form.cleaned_data["reason"], by=request.user
            )
        except DomainError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("Status changed."))
    else:
        messages.error(request, _form_errors(form))
    return redirect("quarantine:site_detail", site_id=site.pk)


@requires(Capability.QUARANTINE_MANAGE)
@require_POST
def checklist_toggle(request: AuthedRequest, item_id: int) -> HttpResponse:
    item = selectors.access_checklist_item(request.user, item_id)
    try:
        services.set_checklist_item(
            item, is_done=request.POST.get("is_done") == "1", note=request.POST.get("note", ""), by=request.user
        )
    except DomainError as error:
        messages.error(request, str(error.message))
    return redirect("quarantine:site_detail", site_id=item.site_id)


@requires(Capability.QUARANTINE_MANAGE)
@require_POST
def checklist_add(request: AuthedRequest, site_id: int) -> HttpResponse:
    site = selectors.access_site(request.user, site_id)
    form = ChecklistAddForm(request.POST)
    if form.is_valid():
        try:
            services.add_checklist_item(site, label=form.cleaned_data["label"], by=request.user)
        except DomainError as error:
            messages.error(request, str(error.message))
    else:
        messages.error(request, _form_errors(form))
    return redirect("quarantine:site_detail", site_id=site.pk)


@requires(Capability.QUARANTINE_MANAGE)
@require_POST
def rooms_create(request: AuthedRequest, site_id: int) -> HttpResponse:
    site = selectors.access_site(request.user, site_id)
    form = RoomLayoutForm(request.POST)
    if form.is_valid():
        try:
            count = services.create_rooms(site, layout=services.RoomLayout(**form.cleaned_data), by=request.user)
        except DomainError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("%(n)d rooms created.") % {"n": count})
    else:
        messages.error(request, _form_errors(form))
    return redirect("quarantine:site_detail", site_id=site.pk)


@requires(Capability.QUARANTINE_WORK)
@require_POST
def room_status(request: AuthedRequest, room_id: int) -> HttpResponse:
    room = selectors.access_room(request.user, room_id)
    form = RoomStatusForm(request.POST)
    if form.is_valid():
        try:
            services.set_room_status(
                room, status=form.cleaned_data["status"], reason=form.cleaned_data["reason"], by=request.user
            )
        except DomainError as error:
            messages.error(request, str(error.message))
    else:
        messages.error(request, _form_errors(form))
    return redirect("quarantine:site_detail", site_id=room.site_id)
