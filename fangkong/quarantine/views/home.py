"""Home quarantine and home health monitoring for community workers: today's list, a check-in, a violation."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from fangkong.core.access import AuthedRequest, requires
from fangkong.core.errors import DomainError
from fangkong.core.roles import Capability
from fangkong.quarantine.models import CheckInMethod, ViolationKind
from fangkong.quarantine.services import home
from fangkong.quarantine.services.monitoring import SYMPTOMS


@requires(Capability.QUARANTINE_VIEW)
def home_care(request: AuthedRequest) -> HttpResponse:
    today = timezone.localdate()
    return render(
        request,
        "quarantine/care/home.html",
        {
            "rows": home.home_care_list(request.user, on=today),
            "today": today,
            "methods": CheckInMethod.choices,
            "violation_kinds": ViolationKind.choices,
            "symptoms": SYMPTOMS.items(),
        },
    )


@requires(Capability.QUARANTINE_WORK)
@require_POST
def check_in(request: AuthedRequest, placement_id: int) -> HttpResponse:
    placement = home.access_home_placement(request.user, placement_id, on=timezone.localdate())
    try:
        home.record_check_in(
            placement,
            by=request.user,
            method=request.POST.get("method", CheckInMethod.VISIT),
            is_at_home=request.POST.get("is_at_home", "1") == "1",
            temperature=request.POST.get("temperature", ""),
            symptoms=request.POST.getlist("symptoms"),
            note=request.POST.get("note", ""),
        )
    except DomainError as error:
        return render(request, "core/error.html", {"error": error}, status=400)
    return redirect("quarantine:home_care")


@requires(Capability.QUARANTINE_WORK)
@require_POST
def violation(request: AuthedRequest, placement_id: int) -> HttpResponse:
    placement = home.access_home_placement(request.user, placement_id, on=timezone.localdate())
    try:
        home.record_violation(
            placement,
            kind=request.POST.get("kind", ""),
            description=request.POST.get("description", ""),
            action_taken=request.POST.get("action_taken", ""),
            by=request.user,
        )
    except DomainError as error:
        return render(request, "core/error.html", {"error": error}, status=400)
    return redirect("quarantine:home_care")
