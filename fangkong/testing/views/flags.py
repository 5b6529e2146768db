"""Sampling flags to review: second swabs in a round and people registered on the spot, by round, kind and
community; a reviewer confirms or dismisses each with a note."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fangkong.core.access import AuthedRequest, requires
from fangkong.core.errors import DomainError
from fangkong.core.roles import Capability
from fangkong.people import selectors as people_selectors
from fangkong.testing import selectors, services
from fangkong.testing.forms import FlagReviewForm
from fangkong.testing.models import FlagKind
from fangkong.testing.views.common import int_or_none


@requires(Capability.TESTING_VIEW)
def flag_list(request: AuthedRequest) -> HttpResponse:
    user = request.user
    round_id = int_or_none(request.GET.get("round"))
    test_round = selectors.access_round(user, round_id) if round_id else None
    kind = request.GET.get("kind", "")
    if kind not in FlagKind.values:
        kind = ""
    show = "all" if request.GET.get("show") == "all" else "open"
    communities = people_selectors.communities_for(user)
    community = request.GET.get("community", "")
    flags = selectors.flags_for(user, open_only=show == "open", test_round=test_round, kind=kind)
    if community and communities.filter(path=community).exists():
        flags = flags.filter(division_id=community)
    else:
        community = ""
    page = Paginator(flags, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "testing/flags.html",
        {
            "page": page,
            "rounds": selectors.rounds_for(user),
            "round": test_round,
            "kind": kind,
            "kinds": FlagKind.choices,
            "show": show,
            "communities": communities,
            "community": community,
            "form": FlagReviewForm(),
            "can_review": user.can(Capability.TESTING_SAMPLE),
        },
    )


@requires(Capability.TESTING_SAMPLE)
@require_POST
def flag_review(request: AuthedRequest, flag_id: int) -> HttpResponse:
    user = request.user
    flag = selectors.access_flag(user, flag_id)
    form = FlagReviewForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.review_flag(flag, decision=form.cleaned_data["decision"], note=form.cleaned_data["note"], by=user)
        except DomainError as domain_error:
            error = str(domain_error.message)
    else:
        error = _("Confirm or dismiss, with a note.")
    flag = selectors.access_flag(user, flag_id)
    if request.htmx:
        return render(
            request,
            "testing/_flag_row.html",
            {"flag": flag, "error": error, "form": FlagReviewForm(), "can_review": True},
            status=400 if error else 200,
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Flag reviewed."))
    return redirect("testing:flags")
