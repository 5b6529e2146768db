"""Placement pages: the queue of contacts awaiting placement (→ place), the waitlist, pickup batches, and one
placement's page (terms frozen at placement, arrival, cancelling a placement made in error)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from fangkong.core.access import AuthedRequest, requires
from fangkong.core.errors import DomainError, NotFoundError
from fangkong.core.roles import Capability
from fangkong.people import services as people_services
from fangkong.quarantine.forms import CompanionForm, PickupForm, ReasonForm
from fangkong.quarantine.models import PickupStatus, ShareReason
from fangkong.quarantine.selectors import placement as selectors
from fangkong.quarantine.selectors import sites as site_selectors
from fangkong.quarantine.services import placement as services
from fangkong.quarantine.services.placement import PlacementRequest
from fangkong.quarantine.views.sites import _form_errors

COMPANION_CHOICES = [(r.value, r.label) for r in services.COMPANION_REASONS]


def _error_message(error: DomainError) -> str:
    lines = [str(error.message)]
    lines += [f"{_('Row')} {int(d['row']) + 1}: {d['message']}" for d in error.details[1:6] if "row" in d]
    return " · ".join(lines)


@requires(Capability.QUARANTINE_VIEW)
def queue(request: AuthedRequest) -> HttpResponse:
    page = Paginator(selectors.awaiting_placement(request.user), 100).get_page(request.GET.get("page"))
    sites = [s for s in site_selectors.sites_with_occupancy(request.user) if s.accepts_placements]
    return render(
        request,
        "quarantine/queue.html",
        {
            "page": page,
            "sites": sites,
            "free_rooms": sum(getattr(s, "free_count", 0) for s in sites),
            "companion_choices": COMPANION_CHOICES,
        },
    )


def _requests_from_form(request: AuthedRequest) -> list[PlacementRequest]:
    """Chosen entries in the user's jurisdiction; each may name another chosen entry whose room they share."""
    chosen = selectors.entries_for_placement(
        request.user, [int(i) for i in request.POST.getlist("entry") if i.isdigit()]
    )
    by_id = {entry.pk: entry for entry in chosen}
    sharing = {}
    for entry in chosen:
        other = request.POST.get(f"with_{entry.pk}", "")
        if other.isdigit() and int(other) in by_id and int(other) != entry.pk:
            sharing[entry.pk] = (int(other), request.POST.get(f"share_{entry.pk}", ShareReason.CHILD_WITH_GUARDIAN))
    holders = [entry for entry in chosen if entry.pk not in sharing]
    requests = [PlacementRequest(entry=entry) for entry in holders]
    index = {entry.pk: n for n, entry in enumerate(holders)}
    for entry in chosen:
        if entry.pk in sharing:
            holder_id, reason = sharing[entry.pk]
            requests.append(PlacementRequest(entry=entry, accompanies=index.get(holder_id, -1), share_reason=reason))
    return requests


@requires(Capability.QUARANTINE_MANAGE)
@require_POST
def place(request: AuthedRequest) -> HttpResponse:
    requests = _requests_from_form(request)
    if not requests:
        messages.error(request, _("Choose the people to place."))
        return redirect("quarantine:queue")
    site_id = request.POST.get("site", "")
    sites = [site_selectors.access_site(request.user, int(site_id))] if site_id.isdigit() else None
    try:
        result = services.place_contacts(
            requests, by=request.user, sites=sites, arrived=request.POST.get("arrived") == "1"
        )
    except DomainError as error:
        messages.error(request, _error_message(error))
    else:
        messages.success(
            request,
            _("Placed in rooms: %(placed)d; home quarantine: %(home)d; on the waitlist: %(waitlisted)d.")
            % result.counts,
        )
    return redirect("quarantine:queue")


@requires(Capability.QUARANTINE_MANAGE)
@require_http_methods(["GET", "POST"])
def place_with_companion(request: AuthedRequest, entry_id: int) -> HttpResponse:
    """Place one person together with a guardian or carer who is not on the ledger: the companion is registered
    in the person registry and shares the room, in one transaction (a refusal leaves neither)."""
    found = selectors.entries_for_placement(request.user, [entry_id])
    if not found:
        raise NotFoundError()
    entry = found[0]
    form = CompanionForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                companion = people_services.register_person(form.to_input(), source="quarantine", by=request.user)
                result = services.place_contacts(
                    [
                        PlacementRequest(entry=entry),
                        PlacementRequest(
                            person=companion.person, accompanies=0, share_reason=form.cleaned_data["share_reason"]
                        ),
                    ],
                    by=request.user,
                    arrived=form.cleaned_data["arrived"],
                )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(
                request,
                _("Placed in rooms: %(placed)d; home quarantine: %(home)d; on the waitlist: %(waitlisted)d.")
                % result.counts,
            )
            return redirect("quarantine:queue")
    return render(
        request, "quarantine/companion_form.html", {"entry": entry, "form": form}, status=400 if form.errors else 200
    )


@requires(Capability.QUARANTINE_VIEW)
def waitlist(request: AuthedRequest) -> HttpResponse:
    page = Paginator(selectors.waitlist(request.user), 100).get_page(request.GET.get("page"))
    return render(request, "quarantine/waitlist.html", {"page": page, "form": ReasonForm()})


@requires(Capability.QUARANTINE_MANAGE)
@require_POST
def waitlist_place(request: AuthedRequest) -> HttpResponse:
    if request.POST.get("all") != "1":
        messages.error(request, _("Confirm placing from the waitlist."))
        return redirect("quarantine:waitlist")
    try:
        result = services.place_waitlisted(by=request.user)
    except DomainError as error:
        messages.error(request, _error_message(error))
    else:
        messages.success(
            request,
            _("Placed in rooms: %(placed)d; still waiting: %(waiting)d.")
            % {"placed": len(result.placed), "waiting": selectors.waitlist(request.user).count()},
        )
    return redirect("quarantine:waitlist")


@requires(Capability.QUARANTINE_MANAGE)
@require_POST
def waitlist_cancel(request: AuthedRequest, waiting_id: int) -> HttpResponse:
    entry = selectors.access_waiting(request.user, waiting_id)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            services.cancel_waitlist_entry(entry, reason=form.cleaned_data["reason"], by=request.user)
        except DomainError as error:
            messages.error(request, str(error.message))
    else:
        messages.error(request, _form_errors(form))
    return redirect("quarantine:waitlist")


@requires(Capability.QUARANTINE_VIEW)
def pickups(request: AuthedRequest) -> HttpResponse:
    waiting = list(selectors.awaiting_pickup(request.user))
    by_site: dict[int, dict[str, object]] = {}
    for placement in waiting:
        group = by_site.setdefault(placement.site_id, {"site": placement.site, "placements": []})  # type: ignore[arg-type]
        group["placements"].append(placement)  # type: ignore[attr-defined]
    return render(
        request,
        "quarantine/pickups.html",
        {
            "batches": selectors.pickup_batches(request.user, show=request.GET.get("show", "open")),
            "groups": list(by_site.values()),
            "form": PickupForm(initial={"scheduled_at": timezone.localtime().replace(second=0, microsecond=0)}),
            "show": request.GET.get("show", "open"),
        },
    )


@requires(Capability.QUARANTINE_WORK)
@require_POST
def pickup_create(request: AuthedRequest, site_id: int) -> HttpResponse:
    site = site_selectors.access_site(request.user, site_id)
    form = PickupForm(request.POST)
    chosen = [
        p
        for p in selectors.awaiting_pickup(request.user, site_id=site.pk)
        if str(p.pk) in request.POST.getlist("placement")
    ]
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("quarantine:pickups")
    try:
        batch = services.create_pickup_batch(site, placements=chosen, by=request.user, **form.cleaned_data)
    except DomainError as error:
        messages.error(request, str(error.message))
        return redirect("quarantine:pickups")
    return redirect("quarantine:pickup_detail", batch_id=batch.pk)


@requires(Capability.QUARANTINE_VIEW)
def pickup_detail(request: AuthedRequest, batch_id: int) -> HttpResponse:
    batch = selectors.access_pickup(request.user, batch_id)
    return render(
        request,
        "quarantine/pickup_detail.html",
        {
            "batch": batch,
            "members": selectors.pickup_members(batch),
            "next_statuses": [(s, PickupStatus(s).label) for s in services.PICKUP_TRANSITIONS[batch.status]],
        },
    )


@requires(Capability.QUARANTINE_WORK)
@require_POST
def pickup_status(request: AuthedRequest, batch_id: int) -> HttpResponse:
    batch = selectors.access_pickup(request.user, batch_id)
    try:
        services.set_pickup_status(batch, status=request.POST.get("status", ""), by=request.user)
    except DomainError as error:
        messages.error(request, str(error.message))
    return redirect("quarantine:pickup_detail", batch_id=batch.pk)


@requires(Capability.QUARANTINE_VIEW)
def placement_detail(request: AuthedRequest, placement_id: int) -> HttpResponse:
    placement = selectors.access_placement(request.user, placement_id)
    return render(
        request,
        "quarantine/placement_detail.html",
        {
            "placement": placement,
            "companions": selectors.companions_of(placement),
            "tests": selectors.tests_of(placement),
            "form": ReasonForm(),
        },
    )


@requires(Capability.QUARANTINE_WORK)
@require_POST
def placement_arrive(request: AuthedRequest, placement_id: int) -> HttpResponse:
    placement = selectors.access_placement(request.user, placement_id)
    try:
        services.record_arrival(placement, by=request.user)
    except DomainError as error:
        messages.error(request, str(error.message))
    return redirect("quarantine:placement_detail", placement_id=placement.pk)


@requires(Capability.QUARANTINE_MANAGE)
@require_POST
def placement_cancel(request: AuthedRequest, placement_id: int) -> HttpResponse:
    placement = selectors.access_placement(request.user, placement_id)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            services.cancel_placement(placement, reason=form.cleaned_data["reason"], by=request.user)
        except DomainError as error:
            messages.error(request, str(error.message))
    else:
        messages.error(request, _form_errors(form))
    return redirect("quarantine:placement_detail", placement_id=placement.pk)
