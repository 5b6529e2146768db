"""A round's exemptions (infant, bedridden → door to door, away, other): the list of the user's communities,
adding one by ID number, QR or a chosen person, revoking one, and the door-to-door list to print or export."""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fangkong.core.access import AuthedRequest, requires
from fangkong.core.errors import DomainError
from fangkong.core.roles import Capability
from fangkong.people import selectors as people_selectors
from fangkong.people.models import Person
from fangkong.testing import selectors, services
from fangkong.testing.codes import CodeError
from fangkong.testing.forms import ExemptionForm, RevokeExemptionForm
from fangkong.testing.models import TestRound
from fangkong.testing.views.common import int_or_none


def _render_list(request: AuthedRequest, test_round: TestRound, form: ExemptionForm, status: int = 200) -> HttpResponse:
    user = request.user
    page = Paginator(selectors.exemptions_for(user, test_round), 50).get_page(request.GET.get("page"))
    chosen = int_or_none(request.GET.get("person"))
    return render(
        request,
        "testing/exemptions.html",
        {
            "round": test_round,
            "page": page,
            "form": form,
            "revoke_form": RevokeExemptionForm(),
            "chosen": people_selectors.access_person(user, chosen) if chosen else None,
            "can_record": user.can(Capability.TESTING_SAMPLE),
            "door_to_door_count": selectors.door_to_door_list(user, test_round).count(),
        },
        status=status,
    )


@requires(Capability.TESTING_VIEW)
def exemption_list(request: AuthedRequest, round_id: int) -> HttpResponse:
    test_round = selectors.access_round(request.user, round_id)
    return _render_list(request, test_round, ExemptionForm(initial={"person": request.GET.get("person")}))


@requires(Capability.TESTING_SAMPLE)
@require_POST
def exemption_add(request: AuthedRequest, round_id: int) -> HttpResponse:
    user = request.user
    test_round = selectors.access_round(user, round_id)
    form = ExemptionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        person: Person | None = None
        try:
            if data["person"]:
                person = people_selectors.access_person(user, data["person"])
            else:
                person = selectors.person_for_code(user, data["person_code"])
                if person is None:
                    form.add_error("person_code", _("Nobody with this ID number lives in your communities."))
        except CodeError as error:
            form.add_error("person_code", error.message)
        if person is not None:
            try:
                services.record_exemption(
                    person, test_round=test_round, reason=data["reason"], note=data["note"], by=user
                )
            except DomainError as error:
                field = error.field if error.field in form.fields else None
                form.add_error(field, str(error.message))
            else:
                messages.success(request, _("Exemption recorded for %(name)s.") % {"name": person.name})
                return redirect("testing:exemptions", round_id=test_round.pk)
    return _render_list(request, test_round, form, status=400)


@requires(Capability.TESTING_SAMPLE)
@require_POST
def exemption_revoke(request: AuthedRequest, exemption_id: int) -> HttpResponse:
    exemption = selectors.access_exemption(request.user, exemption_id)
    form = RevokeExemptionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.revoke_exemption(exemption, note=note, by=request.user)
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request, _("Exemption revoked: %(name)s is due for sampling.") % {"name": exemption.person.name}
        )
    return redirect("testing:exemptions", round_id=exemption.round_id)


@requires(Capability.TESTING_VIEW)
def door_to_door(request: AuthedRequest, round_id: int) -> HttpResponse:
    """Bedridden people of the round still to be sampled at home, by community: a page to print, or `?format=csv`
    (ID numbers and mobiles masked, as on every list)."""
    user = request.user
    test_round = selectors.access_round(user, round_id)
    people = selectors.door_to_door_list(user, test_round)
    if request.GET.get("format") == "csv":
        buffer = io.StringIO()
        buffer.write("\ufeff")  # Excel opens UTF-8 with a byte-order mark
        writer = csv.writer(buffer)
        writer.writerow([_("Community"), _("Name"), _("ID number"), _("Mobile"), _("Address"), _("Note")])
        for exemption in people:
            person = exemption.person
            writer.writerow(
                [
                    exemption.division.name,
                    person.name,
                    person.masked_document,
                    person.masked_phone,
                    person.address,
                    exemption.note,
                ]
            )
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="door-to-door-{test_round.pk}-{stamp}.csv"'
        return response
    return render(
        request,
        "testing/door_to_door.html",
        {"round": test_round, "people": people, "printed_at": timezone.now()},
    )
