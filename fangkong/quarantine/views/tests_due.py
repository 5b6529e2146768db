"""Today's test list per site, worked inline (sample taken, result), overdue tests, and hospital transfers."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from fangkong.core.access import AuthedRequest, requires
from fangkong.core.errors import DomainError
from fangkong.core.roles import Capability
from fangkong.core.scope import get_scoped, scoped
from fangkong.quarantine.models import HospitalTransfer, Site
from fangkong.quarantine.services import scheduled_tests


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return timezone.localdate()


@requires(Capability.QUARANTINE_VIEW)
def tests_today(request: AuthedRequest) -> HttpResponse:
    on = _day(request.GET.get("on", ""))
    raw_site = request.GET.get("site", "")
    site_id = int(raw_site) if raw_site.isdigit() else None
    return render(
        request,
        "quarantine/care/tests.html",
        {
            "on": on,
            "site_id": site_id,
            "sites": scoped(Site.objects.all(), request.user).order_by("name"),
            "tests": scheduled_tests.day_test_list(request.user, on=on, site_id=site_id),
            "overdue": scheduled_tests.overdue_tests(request.user, on=on, site_id=site_id),
            "transfers": scheduled_tests.open_transfers(request.user),
        },
    )


@requires(Capability.QUARANTINE_WORK)
@require_POST
def test_record(request: AuthedRequest, test_id: int) -> HttpResponse:
    """One row of the list: 'sample taken' or a result; with HTMX only the row is swapped."""
    test = scheduled_tests.access_test(request.user, test_id)
    error = None
    outcome = None
    try:
        if request.POST.get("action") == "sample":
            test = scheduled_tests.record_sample(test, by=request.user)
        else:
            outcome = scheduled_tests.record_result(
                test,
                result=request.POST.get("result", ""),
                reagent=request.POST.get("reagent", ""),
                second_reagent=request.POST.get("second_reagent", ""),
                by=request.user,
            )
            test = outcome.test
    except DomainError as failure:
        error = failure
    if not request.htmx:
        if error is not None:
            raise error
        return redirect(_safe_next(request, "quarantine:tests_today"))
    test = scheduled_tests.access_test(request.user, test.pk) if error is None or outcome else test
    return render(
        request,
        "quarantine/care/_test_row.html",
        {"test": test, "error": error, "outcome": outcome},
        status=400 if error else 200,
    )


@requires(Capability.QUARANTINE_WORK)
@require_POST
def transfer_advance(request: AuthedRequest, transfer_id: int) -> HttpResponse:
    transfer = get_scoped(HospitalTransfer.objects.select_related("placement"), request.user, pk=transfer_id)
    scheduled_tests.advance_transfer(
        transfer, status=request.POST.get("status", ""), hospital=request.POST.get("hospital", ""), by=request.user
    )
    return redirect("quarantine:tests_today")


def _safe_next(request: HttpRequest, default: str) -> str:
    """The page to go back to: `next` when it is on this site, else `default`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse(default)
