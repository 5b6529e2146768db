"""The recall list of the user's communities, with retest recording."""

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
from fangkong.testing import selectors, services
from fangkong.testing.forms import RetestForm
from fangkong.testing.models import RecallKind


@requires(Capability.TESTING_VIEW)
def recall_list(request: AuthedRequest) -> HttpResponse:
    """The recall list of the user's communities: people of positive pools and of invalid tubes (to sample
    again), until a retest or a later round sample resolves them."""
    user = request.user
    show = request.GET.get("show", "open")
    kind = request.GET.get("kind", "")
    if kind not in RecallKind.values:
        kind = ""
    members = selectors.recall_members_for(user, open_only=show == "open", kind=kind)
    page = Paginator(members, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "testing/recalls.html",
        {
            "page": page,
            "show": show,
            "kind": kind,
            "kinds": RecallKind.choices,
            "counts": selectors.recall_counts_by_community(user),
            "form": RetestForm(),
        },
    )


@requires(Capability.TESTING_SAMPLE)
@require_POST
def member_retest(request: AuthedRequest, member_id: int) -> HttpResponse:
    member = selectors.access_member(request.user, member_id)
    form = RetestForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.record_retest(member, barcode=form.cleaned_data["barcode"], by=request.user)
        except DomainError as domain_error:
            error = str(domain_error.message)
    else:
        error = _("Scan the single tube's barcode.")
    member = selectors.access_member(request.user, member_id)
    if request.htmx:
        return render(
            request,
            "testing/_member_row.html",
            {"member": member, "error": error, "form": RetestForm()},
            status=400 if error else 200,
        )
    if error:
        messages.error(request, error)
    return redirect("testing:recalls")
