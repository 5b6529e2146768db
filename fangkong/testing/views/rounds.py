"""Mass-testing rounds and sampling sites."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from fangkong.core.access import AuthedRequest, requires
from fangkong.core.errors import DomainError, NotFoundError
from fangkong.core.roles import Capability
from fangkong.testing import selectors, services
from fangkong.testing.forms import RoundForm, SiteForm
from fangkong.testing.models import RoundStatus
from fangkong.testing.views.common import int_or_none


@requires(Capability.TESTING_VIEW)
@require_http_methods(["GET", "POST"])
def round_list(request: AuthedRequest) -> HttpResponse:
    """Rounds covering the user's jurisdiction; managers create rounds and sites and open or close rounds."""
    user = request.user
    round_form = RoundForm(user=user, prefix="round")
    site_form = SiteForm(user=user, prefix="site")
    if request.method == "POST":
        if not user.can(Capability.TESTING_MANAGE):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        action = request.POST.get("action")
        try:
            if action == "round":
                round_form = RoundForm(request.POST, user=user, prefix="round")
                if round_form.is_valid():
                    data = round_form.cleaned_data
                    services.create_round(
                        data["division"],
                        name=data["name"],
                        starts_at=data["starts_at"],
                        ends_at=data["ends_at"],
                        pool_size=data["pool_size"],
                        receipt_target_hours=data["receipt_target_hours"],
                        by=user,
                    )
                    return redirect("testing:rounds")
            elif action == "site":
                site_form = SiteForm(request.POST, user=user, prefix="site")
                if site_form.is_valid():
                    data = site_form.cleaned_data
                    services.create_site(
                        data["division"],
                        name=data["name"],
                        kind=data["kind"],
                        hourly_capacity=data["hourly_capacity"],
                        by=user,
                    )
                    return redirect("testing:rounds")
            elif action in (RoundStatus.OPEN, RoundStatus.CLOSED):
                round_id = int_or_none(request.POST.get("round"))
                if round_id is None:
                    raise NotFoundError()
                services.set_round_status(selectors.access_round(user, round_id), status=action, by=user)
                return redirect("testing:rounds")
        except DomainError as error:
            target = site_form if action == "site" else round_form
            target.add_error(None, str(error.message))
    return render(
        request,
        "testing/rounds.html",
        {
            "rounds": selectors.rounds_for(user),
            "sites": selectors.sites_for(user),
            "round_form": round_form,
            "site_form": site_form,
            "can_manage": user.can(Capability.TESTING_MANAGE),
        },
    )
