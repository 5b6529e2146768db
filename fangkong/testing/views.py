"""Pages of the testing app: the sampling station, tubes, handovers and receipts, lab result uploads with their
error report, and the recall list with retest recording. Parse → service or selector → render."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from fangkong.core.access import AuthedRequest, requires
from fangkong.core.errors import DomainError, NotFoundError
from fangkong.core.roles import Capability
from fangkong.testing import selectors, services
from fangkong.testing.forms import (
    HandoverForm,
    ReceiptForm,
    ResultUploadForm,
    RetestForm,
    RoundForm,
    ScanForm,
    SiteForm,
)
from fangkong.testing.models import RoundStatus, TubeStatus

MAX_RESULT_FILE_BYTES = 50 * 1024 * 1024


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


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
    context = _station_context(request, _int(request.GET.get("site")), _int(request.GET.get("round")))
    context["form"] = ScanForm()
    return render(request, "testing/station.html", context)


@requires(Capability.TESTING_SAMPLE)
@require_POST
def station_scan(request: AuthedRequest) -> HttpResponse:
    site_id, round_id = _int(request.POST.get("site")), _int(request.POST.get("round"))
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


@requires(Capability.TESTING_VIEW)
def tube_list(request: AuthedRequest) -> HttpResponse:
    user = request.user
    round_id = _int(request.GET.get("round"))
    test_round = selectors.access_round(user, round_id) if round_id else None
    status = request.GET.get("status", "")
    if status not in TubeStatus.values:
        status = ""
    tubes = selectors.tubes_for(user, test_round=test_round, status=status)
    barcode = request.GET.get("barcode", "").strip().upper()
    if barcode:
        tubes = tubes.filter(barcode__startswith=barcode)
    page = Paginator(tubes, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "testing/tubes.html",
        {
            "page": page,
            "rounds": selectors.rounds_for(user),
            "round": test_round,
            "status": status,
            "statuses": TubeStatus.choices,
            "barcode": barcode,
        },
    )


@requires(Capability.TESTING_VIEW)
def tube_detail(request: AuthedRequest, tube_id: int) -> HttpResponse:
    tube = selectors.access_tube(request.user, tube_id)
    return render(request, "testing/tube.html", {"tube": tube, "samples": selectors.samples_in(tube)})


@requires(Capability.TESTING_VIEW)
def handover_list(request: AuthedRequest) -> HttpResponse:
    page = Paginator(selectors.handovers_for(request.user, status=request.GET.get("status", "")), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "testing/handovers.html", {"page": page})


@requires(Capability.TESTING_SAMPLE)
@require_http_methods(["GET", "POST"])
def handover_new(request: AuthedRequest) -> HttpResponse:
    """Put the closed tubes of a site in a round on a transport batch to a lab."""
    user = request.user
    site_id = _int(request.GET.get("site") or request.POST.get("site"))
    round_id = _int(request.GET.get("round") or request.POST.get("round"))
    site = selectors.access_site(user, site_id) if site_id else None
    test_round = selectors.access_round(user, round_id) if round_id else None
    ready = selectors.closed_tubes_at(site, test_round) if site and test_round else None
    if request.method == "POST" and site is not None and test_round is not None:
        form = HandoverForm(request.POST, user=user)
        if form.is_valid():
            try:
                handover = services.hand_over(
                    site,
                    test_round=test_round,
                    lab=form.cleaned_data["lab"],
                    barcodes=form.barcode_list(),
                    courier=form.cleaned_data["courier"],
                    by=user,
                )
            except DomainError as error:
                form.add_error("barcodes", str(error.message))
                details = error.details
            else:
                messages.success(request, _("Handover recorded: %(n)d tubes.") % {"n": handover.tube_count})
                return redirect("testing:handover", handover_id=handover.pk)
        else:
            details = []
    else:
        initial = {"barcodes": "\n".join(t.barcode for t in ready)} if ready is not None else {}
        form, details = HandoverForm(initial=initial, user=user), []
    return render(
        request,
        "testing/handover_new.html",
        {
            "form": form,
            "details": details,
            "site": site,
            "round": test_round,
            "ready": ready,
            "sites": selectors.sites_for(user, active_only=True),
            "rounds": selectors.rounds_for(user).exclude(status=RoundStatus.PLANNED),
        },
    )


@requires(Capability.TESTING_VIEW)
def handover_detail(request: AuthedRequest, handover_id: int) -> HttpResponse:
    handover = selectors.access_handover(request.user, handover_id)
    return render(
        request,
        "testing/handover.html",
        {
            "handover": handover,
            "items": selectors.handover_items(handover),
            "receipt": getattr(handover, "receipt", None) if handover.received_at else None,
            "form": ReceiptForm(
                initial={"barcodes": ""},
            ),
        },
    )


@requires(Capability.TESTING_LAB)
@require_POST
def handover_receive(request: AuthedRequest, handover_id: int) -> HttpResponse:
    handover = selectors.access_handover(request.user, handover_id)
    form = ReceiptForm(request.POST)
    if form.is_valid():
        try:
            receipt = services.confirm_receipt(handover, barcodes=form.barcode_list(), by=request.user)
        except DomainError as error:
            messages.error(request, str(error.message))
        else:
            if receipt.missing_count:
                messages.warning(request, _("%(n)d tubes are missing.") % {"n": receipt.missing_count})
            else:
                messages.success(request, _("All %(n)d tubes received.") % {"n": receipt.received_count})
    else:
        messages.error(request, _("Scan the tubes you unpacked."))
    return redirect("testing:handover", handover_id=handover.pk)


@requires(Capability.TESTING_LAB)
@require_http_methods(["GET", "POST"])
def result_upload(request: AuthedRequest) -> HttpResponse:
    """A lab's result file: all rows are checked; any error refuses the file with a per-row report."""
    user = request.user
    if request.method == "POST":
        form = ResultUploadForm(request.POST, request.FILES, user=user)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > MAX_RESULT_FILE_BYTES:
                form.add_error("file", _("The file is too large."))
            else:
                with tempfile.TemporaryDirectory() as folder:
                    path = Path(folder) / "results"
                    with path.open("wb") as handle:
                        for chunk in upload.chunks():
                            handle.write(chunk)
                    done = services.import_result_file(
                        form.cleaned_data["lab"], path=path, file_name=upload.name or "results", by=user
                    )
                return redirect("testing:result_import", result_import_id=done.pk)
    else:
        form = ResultUploadForm(user=user)
    return render(request, "testing/result_upload.html", {"form": form, "imports": selectors.imports_for(user)[:20]})


@requires(Capability.TESTING_VIEW)
def result_import(request: AuthedRequest, result_import_id: int) -> HttpResponse:
    done = selectors.access_import(request.user, result_import_id)
    return render(
        request, "testing/result_import.html", {"import": done, "results": done.results.select_related("tube")[:500]}
    )


@requires(Capability.TESTING_VIEW)
def recall_list(request: AuthedRequest) -> HttpResponse:
    """The recall list of the user's communities: people of positive pools, until their retest resolves."""
    user = request.user
    show = request.GET.get("show", "open")
    members = selectors.recall_members_for(user, open_only=show == "open")
    page = Paginator(members, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "testing/recalls.html",
        {
            "page": page,
            "show": show,
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
                round_id = _int(request.POST.get("round"))
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
