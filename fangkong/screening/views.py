from __future__ import annotations

import datetime as dt

from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from fangkong.core.access import AuthedRequest, requires
from fangkong.core.errors import DomainError
from fangkong.core.roles import Capability
from fangkong.people import services as people_services
from fangkong.screening import selectors, services
from fangkong.screening.exports import report_workbook
from fangkong.screening.forms import AttemptForm, ManualListingForm
from fangkong.screening.models import Source

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@requires(Capability.SCREENING_WORK)
def work_list(request: AuthedRequest) -> HttpResponse:
    show = request.GET.get("show", "open")
    page = Paginator(selectors.work_list(request.user, show=show), 50).get_page(request.GET.get("page"))
    return render(
        request, "screening/work_list.html", {"page": page, "show": show, "now": timezone.now(), "form": AttemptForm()}
    )


@requires(Capability.SCREENING_VIEW)
def entry_detail(request: AuthedRequest, entry_id: int) -> HttpResponse:
    entry = selectors.access_entry(request.user, entry_id)
    return render(
        request,
        "screening/entry.html",
        {
            "entry": entry,
            "events": selectors.events_of(entry),
            "reports": selectors.reports_of(entry),
            "form": AttemptForm(),
            "now": timezone.now(),
        },
    )


@requires(Capability.SCREENING_WORK)
@require_POST
def attempt(request: AuthedRequest, entry_id: int) -> HttpResponse:
    entry = selectors.access_entry(request.user, entry_id)
    form = AttemptForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            entry = services.record_attempt(
                entry,
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
                new_division=form.cleaned_data["new_division"],
                by=request.user,
            )
        except DomainError as domain_error:
            error = str(domain_error.message)
    else:
        error = "; ".join(str(e) for errors in form.errors.values() for e in errors)
    if request.htmx:
        entry.refresh_from_db()
        return render(
            request,
            "screening/_entry_row.html",
            {"entry": entry, "error": error, "now": timezone.now(), "form": AttemptForm()},
            status=400 if error else 200,
        )
    return redirect("screening:entry", entry_id=entry.pk)


@requires(Capability.SCREENING_WORK)
@require_http_methods(["GET", "POST"])
def register(request: AuthedRequest) -> HttpResponse:
    form = ManualListingForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                person = people_services.register_person(form.to_input(), source="screening", by=request.user).person
                arrived = form.cleaned_data["arrived_on"]
                listing = services.list_person(
                    person,
                    reason=form.cleaned_data["reason"],
                    source=Source.MANUAL,
                    origin_name=form.cleaned_data["origin_name"],
                    arrived_at=dt.datetime.combine(arrived, dt.time(12), tzinfo=timezone.get_current_timezone())
                    if arrived
                    else None,
                    by=request.user,
                )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            return redirect("screening:entry", entry_id=listing.entry.pk)
    return render(request, "screening/register.html", {"form": form}, status=400 if form.errors else 200)


@requires(Capability.SCREENING_VIEW)
def report(request: AuthedRequest) -> HttpResponse:
    parent = request.GET.get("parent", "")
    rows = selectors.nobody_missed(request.user, parent=parent)
    totals = {key: sum(row.counts[key] for row in rows) for key in (rows[0].counts if rows else {})}
    template = "screening/_report_table.html" if request.htmx else "screening/report.html"
    return render(request, template, {"rows": rows, "totals": totals, "parent": parent})


@requires(Capability.SCREENING_VIEW)
def report_names(request: AuthedRequest) -> HttpResponse:
    division, column = request.GET.get("division", ""), request.GET.get("column", "listed")
    entries = selectors.drill_down(request.user, division=division, column=column)
    page = Paginator(entries, 100).get_page(request.GET.get("page"))
    return render(request, "screening/report_names.html", {"page": page, "column": column, "division": division})


@requires(Capability.SCREENING_VIEW)
def report_export(request: AuthedRequest) -> HttpResponse:
    parent = request.GET.get("parent", "")
    rows = selectors.nobody_missed(request.user, parent=parent)
    names = selectors.drill_down(request.user, division=parent or request.user.division_id or "", column="listed")
    response = HttpResponse(report_workbook(rows, names.iterator(chunk_size=2000)), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="nobody-missed.xlsx"'
    return response
