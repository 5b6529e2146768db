from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from fangkong.core.access import AuthedRequest, requires
from fangkong.core.errors import DomainError
from fangkong.core.roles import Capability
from fangkong.people import selectors, services
from fangkong.people.exports import people_workbook
from fangkong.people.forms import PersonForm, RevealForm


@requires(Capability.PEOPLE_VIEW)
def search(request: AuthedRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    division = request.GET.get("division", "")
    people = selectors.search_people(request.user, query=query, division=division)
    page = Paginator(people, 50).get_page(request.GET.get("page"))
    template = "people/_results.html" if request.htmx else "people/search.html"
    return render(
        request,
        template,
        {
            "page": page,
            "query": query,
            "division": division,
            "communities": selectors.communities_for(request.user),
        },
    )


@requires(Capability.PEOPLE_EXPORT)
def export(request: AuthedRequest) -> HttpResponse:
    people = selectors.search_people(
        request.user, query=request.GET.get("q", ""), division=request.GET.get("division", "")
    )
    response = HttpResponse(
        people_workbook(people.iterator(chunk_size=2000)),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = 'attachment; filename="people.xlsx"'
    return response


@requires(Capability.PEOPLE_VIEW)
def detail(request: AuthedRequest, person_id: int) -> HttpResponse:
    person = selectors.access_person(request.user, person_id)
    return render(
        request,
        "people/detail.html",
        {"person": person, "sources": selectors.sources_of(person), "reveal_form": RevealForm()},
    )


@requires(Capability.PEOPLE_EDIT)
@require_http_methods(["GET", "POST"])
def create(request: AuthedRequest) -> HttpResponse:
    form = PersonForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            registration = services.register_person(form.to_input(), source="manual", by=request.user)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            return redirect("people:detail", person_id=registration.person.pk)
    return render(request, "people/form.html", {"form": form})


@requires(Capability.PEOPLE_REVEAL)
@require_POST
def reveal(request: AuthedRequest, person_id: int) -> HttpResponse:
    person = selectors.access_person(request.user, person_id)
    form = RevealForm(request.POST)
    value, error = "", ""
    if form.is_valid():
        try:
            value = services.reveal_identity(
                person, field=form.cleaned_data["field"], reason=form.cleaned_data["reason"], by=request.user
            )
        except DomainError as domain_error:
            error = str(domain_error.message)
    else:
        error = _("State why you need the full value (at least 4 characters).")
    status = 200 if value else 400
    return render(request, "people/_revealed.html", {"value": value, "error": error}, status=status)


@requires(Capability.PEOPLE_MERGE)
def merge_queue(request: AuthedRequest) -> HttpResponse:
    page = Paginator(selectors.pending_merges(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "people/merge_queue.html", {"page": page})


@requires(Capability.PEOPLE_MERGE)
@require_POST
def decide_merge(request: AuthedRequest, candidate_id: int) -> HttpResponse:
    candidate = selectors.access_merge_candidate(request.user, candidate_id)
    if request.POST.get("decision") == "merge":
        services.confirm_merge(candidate, by=request.user)
    else:
        services.reject_merge(candidate, by=request.user)
    return redirect("people:merge_queue")
