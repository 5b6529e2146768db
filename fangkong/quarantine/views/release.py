"""Release: who may go home today (with the reason when not yet), releasing, the printable certificate, and the
home community's acknowledgement of the handover."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from fangkong.core.access import AuthedRequest, requires
from fangkong.core.editions import load_edition
from fangkong.core.errors import DomainError
from fangkong.core.masking import mask_id_number
from fangkong.core.roles import Capability
from fangkong.core.scope import get_scoped, scoped
from fangkong.quarantine.models import Placement, Site
from fangkong.quarantine.services import release


@requires(Capability.QUARANTINE_VIEW)
def release_list(request: AuthedRequest) -> HttpResponse:
    raw_site = request.GET.get("site", "")
    site_id = int(raw_site) if raw_site.isdigit() else None
    today = timezone.localdate()
    rows = [
        {"placement": p, "eligibility": e, "why": "" if e.is_eligible else release.explain(p, e)}
        for p, e in release.releasable(request.user, on=today, site_id=site_id)
    ]
    return render(
        request,
        "quarantine/care/release_list.html",
        {
            "rows": rows,
            "today": today,
            "site_id": site_id,
            "sites": scoped(Site.objects.all(), request.user).order_by("name"),
            "handed_over": release.in_health_monitoring(request.user, on=today)[:200],
        },
    )


@requires(Capability.QUARANTINE_WORK)
@require_POST
def release_placement(request: AuthedRequest, placement_id: int) -> HttpResponse:
    placement = get_scoped(Placement.objects.all(), request.user, pk=placement_id)
    try:
        certificate = release.release_placement(placement, by=request.user)
    except DomainError as error:
        return render(request, "core/error.html", {"error": error}, status=400)
    return redirect("quarantine:certificate", certificate_id=certificate.pk)


@requires(Capability.QUARANTINE_VIEW)
def certificate(request: AuthedRequest, certificate_id: int) -> HttpResponse:
    found = release.access_certificate(request.user, certificate_id)
    person = found.placement.person
    return render(
        request,
        "quarantine/care/certificate.html",
        {
            "certificate": found,
            "person": person,
            "document": mask_id_number(person.primary_document_number),
            "edition": load_edition(found.edition_id),
            "placement": found.placement,
        },
    )


@requires(Capability.QUARANTINE_WORK)
@require_POST
def handover_acknowledge(request: AuthedRequest, certificate_id: int) -> HttpResponse:
    found = release.access_certificate(request.user, certificate_id)
    release.acknowledge_handover(found, by=request.user)
    return redirect("quarantine:release_list")
