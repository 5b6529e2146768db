from __future__ import annotations

import json

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from fangkong.core.access import AuthedRequest, requires
from fangkong.core.errors import DomainError
from fangkong.core.roles import Capability
from fangkong.people.selectors import access_person
from fangkong.tracing import selectors, services
from fangkong.tracing.companions import start_companion_screening
from fangkong.tracing.forms import CaseForm, ContactForm, TimelineForm
from fangkong.tracing.models import Category, Clock, ContactStatus
from fangkong.venues.selectors import visits_of


@requires(Capability.TRACING_VIEW)
def case_list(request: AuthedRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    page = Paginator(selectors.cases_for(request.user, query=query), 50).get_page(request.GET.get("page"))
    overdue = selectors.overdue_clocks(request.user).count()
    return render(request, "tracing/case_list.html", {"page": page, "query": query, "overdue": overdue})


@requires(Capability.TRACING_WORK)
@require_http_methods(["GET", "POST"])
def case_register(request: AuthedRequest, person_id: int) -> HttpResponse:
    person = access_person(request.user, person_id)
    form = CaseForm(request.POST or None, initial={"person_id": person.pk})
    if request.method == "POST" and form.is_valid():
        try:
            case = services.register_case(
                person,
                kind=form.cleaned_data["kind"],
                onset_date=form.cleaned_data["onset_date"],
                first_positive_at=form.cleaned_data["first_positive_at"],
                by=request.user,
            )
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error.message))
        else:
            services.suggest_contacts(case, by=request.user)
            return redirect("tracing:case", case_id=case.pk)
    return render(
        request, "tracing/case_register.html", {"form": form, "person": person}, status=400 if form.errors else 200
    )


@requires(Capability.TRACING_VIEW)
def case_detail(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = selectors.access_case(request.user, case_id)
    contacts = list(selectors.contacts_of(case))
    window_start, window_end = services.infectious_window(case)
    return render(
        request,
        "tracing/case.html",
        {
            "case": case,
            "clocks": selectors.clocks_of(case),
            "timeline": case.timeline.all(),
            "suggested": [c for c in contacts if c.status == ContactStatus.SUGGESTED],
            "close": [c for c in contacts if c.status == ContactStatus.CONFIRMED and c.category == Category.CLOSE],
            "secondary": [
                c for c in contacts if c.status == ContactStatus.CONFIRMED and c.category == Category.SECONDARY
            ],
            "infectious_from": services.infectious_period_start(case),
            "venue_visits": visits_of(case.person_id, start=window_start, end=window_end),
            "timeline_form": TimelineForm(),
            "contact_form": ContactForm(),
            "now": timezone.now(),
        },
    )


@requires(Capability.TRACING_WORK)
@require_POST
def clock_done(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = selectors.access_case(request.user, case_id)
    clock = request.POST.get("clock", "")
    if clock in Clock.values:
        services.complete_clock(case, clock=clock, by=request.user)
    return redirect("tracing:case", case_id=case.pk)


@requires(Capability.TRACING_WORK)
@require_POST
def timeline_add(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = selectors.access_case(request.user, case_id)
    form = TimelineForm(request.POST)
    if form.is_valid():
        services.add_timeline_event(case, by=request.user, **form.cleaned_data)
    else:
        raise DomainError("; ".join(f"{k}: {v[0]}" for k, v in form.errors.items()), field=next(iter(form.errors)))
    return redirect("tracing:case", case_id=case.pk)


@requires(Capability.TRACING_WORK)
@require_POST
def contact_decide(request: AuthedRequest, contact_id: int) -> HttpResponse:
    contact = selectors.access_contact(request.user, contact_id)
    if request.POST.get("decision") == "confirm":
        services.confirm_contact(
            contact.case,
            person=contact.person,
            category=contact.category,
            via=contact.via,
            setting=contact.setting,
            evidence=contact.evidence,
            by=request.user,
        )
    else:
        services.reject_contact(contact, by=request.user)
    return redirect("tracing:case", case_id=contact.case_id)


@requires(Capability.TRACING_WORK)
@require_POST
def suggest(request: AuthedRequest, case_id: int) -> HttpResponse:
    """Look for suggested contacts again (check-ins imported since the case was registered, a new household
    member): what is already on the case stays as it is."""
    case = selectors.access_case(request.user, case_id)
    services.suggest_contacts(case, by=request.user)
    return redirect("tracing:case", case_id=case.pk)


@requires(Capability.TRACING_WORK)
@require_POST
def contact_add(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = selectors.access_case(request.user, case_id)
    form = ContactForm(request.POST)
    if not form.is_valid():
        raise DomainError("; ".join(f"{k}: {v[0]}" for k, v in form.errors.items()), field=next(iter(form.errors)))
    person = access_person(request.user, form.cleaned_data["person_id"])
    services.confirm_contact(
        case,
        person=person,
        setting=form.cleaned_data["setting"],
        last_exposure_at=form.cleaned_data["last_exposure_at"],
        by=request.user,
    )
    return redirect("tracing:case", case_id=case.pk)


@requires(Capability.TRACING_VIEW)
def chains(request: AuthedRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    graph = selectors.chain_graph(request.user, person_query=query)
    if request.GET.get("format") == "json":
        response = HttpResponse(json.dumps(graph, ensure_ascii=False), content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="chains.json"'
        return response
    return render(request, "tracing/chains.html", {"graph": graph, "query": query})


@requires(Capability.TRACING_WORK)
@require_POST
def companion_screening(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = selectors.access_case(request.user, case_id)
    job = start_companion_screening([case], by=request.user)
    return redirect("core:job_detail", job_id=job.pk)
