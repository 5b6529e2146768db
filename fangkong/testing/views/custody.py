"""Tubes, handovers and receipts, and lab result uploads with their error report."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from fangkong.core.access import AuthedRequest, requires
from fangkong.core.errors import DomainError
from fangkong.core.roles import Capability
from fangkong.testing import selectors, services
from fangkong.testing.forms import HandoverForm, ReceiptForm, ResultUploadForm
from fangkong.testing.models import RoundStatus, TubeStatus
from fangkong.testing.views.common import int_or_none

MAX_RESULT_FILE_BYTES = 50 * 1024 * 1024


@requires(Capability.TESTING_VIEW)
def tube_list(request: AuthedRequest) -> HttpResponse:
    user = request.user
    round_id = int_or_none(request.GET.get("round"))
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
    site_id = int_or_none(request.GET.get("site") or request.POST.get("site"))
    round_id = int_or_none(request.GET.get("round") or request.POST.get("round"))
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
