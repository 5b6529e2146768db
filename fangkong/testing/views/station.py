"""The sampling station: pick the site and round once, then scan person + tube, again and again."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fangkong.core.access import AuthedRequest, requires
from fangkong.core.errors import DomainError, NotFoundError
from fangkong.core.roles import Capability
from fangkong.testing import selectors, services
from fangkong.testing.forms import ScanForm
from fangkong.testing.models import RoundStatus
from fangkong.testing.views.common import int_or_none


def _station_context(request: AuthedRequest, site_id: int | None, round_id: int | None) -> dict[str, Any]:
    user = request.user
    site = selectors.access_site(user, site_id) if site_id else None
    test_round = selectors.access_round(user, round_id) if round_id else None
    context: dict[str, Any] = {
        "sites": selectors.sites_for(user, active_only=True),
        "rounds": selectors.rounds_for(user).exclude(status=RoundStatus.PLANNED),
        "site": site,
        "round": test_round,
    }
    if site is not None and test_round is not None:
        context["open_tubes"] = selectors.open_tubes_at(site, test_round)[:5]
        context["recent"] = selectors.recent_samples_at(site, test_round)
    return context


@requires(Capability.TESTING_SAMPLE)
def station(request: AuthedRequest) -> HttpResponse:
    """The sampling station: pick the site and round once, then scan person + tube, again and again."""
    context = _station_context(request, int_or_none(request.GET.get("site")), int_or_none(request.GET.get("round")))
    context["form"] = ScanForm()
    return render(request, "testing/station.html", context)


@requires(Capability.TESTING_SAMPLE)
@require_POST
def station_scan(request: AuthedRequest) -> HttpResponse:
    site_id, round_id = int_or_none(request.POST.get("site")), int_or_none(request.POST.get("round"))
    if site_id is None or round_id is None:
        raise NotFoundError()
    context = _station_context(request, site_id, round_id)
    form = ScanForm(request.POST)
    result: Any = None
    error = ""
    status = 200
    if form.is_valid():
        try:
            result = services.register_sample(
                context["site"],
                test_round=context["round"],
                item=services.SampleItem(
                    person_code=form.cleaned_data["person_code"],
                    tube_barcode=form.cleaned_data["tube_barcode"],
                    name=form.cleaned_data["name"],
                    phone=form.cleaned_data["phone"],
                ),
                by=request.user,
                device_id=f"web:{request.user.pk}",
            )
        except DomainError as domain_error:
            error, status = str(domain_error.message), 400
            context["error_field"] = domain_error.field
            context["error_code"] = str(domain_error.code)
    else:
        error, status = _("Scan the person and the tube."), 400
    context.update(result=result, error=error)
    if result is not None:
        context = {**_station_context(request, site_id, round_id), "result": result, "error": ""}
        tube = selectors.tube_by_barcode(request.user, result.tube_barcode)
        context["tube"] = tube
        keep = "" if result.tube_closed else result.tube_barcode
        context["form"] = ScanForm(initial={"tube_barcode": keep})
    else:
        context["form"] = form
    template = "testing/_station_panel.html" if request.htmx else "testing/station.html"
    return render(request, template, context, status=status)
