"""Venue pages: the list, registration, a venue's page with its check-ins (masked) and staff check-in, the
printable poster with the venue's QR code (SVG); the public check-in page the QR code opens (two steps on one
page, plain forms: works without JavaScript); and the bulk check-in import (upload → mapping → job)."""

from __future__ import annotations

from typing import Any

import qrcode
import qrcode.image.svg
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.core.access import AuthedRequest, public, requires
from fangkong.core.errors import DomainError
from fangkong.core.jobs import live_progress
from fangkong.core.masking import mask_phone
from fangkong.core.roles import Capability
from fangkong.notify.otp import RateLimitedError
from fangkong.people.selectors import communities_for
from fangkong.venues import importing, selectors, services
from fangkong.venues.forms import CheckInUploadForm, MappingForm, SelfCheckInForm, StaffCheckInForm, VenueForm
from fangkong.venues.importing import FIELDS
from fangkong.venues.models import Venue

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CODE_FIELDS = {"code", "token"}


def _communities(request: AuthedRequest) -> list[tuple[str, str]]:
    return list(communities_for(request.user).order_by("path").values_list("path", "name"))


@requires(Capability.VENUES_VIEW)
@require_GET
def venue_list(request: AuthedRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:100]
    page = Paginator(selectors.venues_for(request.user, query=query), 50).get_page(request.GET.get("page"))
    return render(request, "venues/list.html", {"page": page, "query": query})


@requires(Capability.VENUES_MANAGE)
@require_http_methods(["GET", "POST"])
def venue_create(request: AuthedRequest) -> HttpResponse:
    form = VenueForm(request.POST or None, communities=_communities(request))
    if request.method == "POST" and form.is_valid():
        try:
            venue = services.register_venue(form.to_input(), by=request.user)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            return redirect("venues:detail", venue_id=venue.pk)
    status = 400 if form.errors else 200
    return render(request, "venues/form.html", {"form": form, "venue": None}, status=status)


@requires(Capability.VENUES_MANAGE)
@require_http_methods(["GET", "POST"])
def venue_edit(request: AuthedRequest, venue_id: int) -> HttpResponse:
    venue = selectors.access_venue(request.user, venue_id)
    initial = {
        "name": venue.name,
        "category": venue.category,
        "division": venue.division_id,
        "address": venue.address,
        "dwell_minutes": venue.dwell_minutes,
        "is_active": venue.is_active,
    }
    form = VenueForm(request.POST or None, initial=initial, communities=_communities(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_venue(venue, form.to_input(), is_active=form.cleaned_data["is_active"], by=request.user)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            return redirect("venues:detail", venue_id=venue.pk)
    status = 400 if form.errors else 200
    return render(request, "venues/form.html", {"form": form, "venue": venue}, status=status)


def _detail(request: AuthedRequest, venue: Venue, form: StaffCheckInForm, *, status: int = 200) -> HttpResponse:
    page = Paginator(selectors.check_ins_at(venue), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "venues/detail.html",
        {"venue": venue, "page": page, "form": form, "check_in_url": _check_in_url(request, venue)},
        status=status,
    )


@requires(Capability.VENUES_VIEW)
@require_GET
def venue_detail(request: AuthedRequest, venue_id: int) -> HttpResponse:
    venue = selectors.access_venue(request.user, venue_id)
    form = StaffCheckInForm(initial={"submission": services.new_submission_token()})
    return _detail(request, venue, form)


@requires(Capability.VENUES_MANAGE)
@require_POST
def staff_check_in(request: AuthedRequest, venue_id: int) -> HttpResponse:
    venue = selectors.access_venue(request.user, venue_id)
    form = StaffCheckInForm(request.POST)
    if form.is_valid():
        try:
            services.check_in_by_staff(
                venue, form.to_input(), submission=form.cleaned_data["submission"], by=request.user
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            return redirect("venues:detail", venue_id=venue.pk)
    return _detail(request, venue, form, status=400)


@requires(Capability.VENUES_MANAGE)
@require_POST
def staff_check_out(request: AuthedRequest, check_in_id: int) -> HttpResponse:
    check_in = selectors.access_check_in(request.user, check_in_id)
    services.check_out(check_in, by=request.user)
    return redirect("venues:detail", venue_id=check_in.venue_id)


def _check_in_url(request: HttpRequest, venue: Venue) -> str:
    return request.build_absolute_uri(reverse("venues:check_in", kwargs={"venue_code": venue.code}))


def _qr_svg(request: HttpRequest, venue: Venue) -> str:
    image = qrcode.make(
        _check_in_url(request, venue),
        image_factory=qrcode.image.svg.SvgPathImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
    )
    return str(image.to_string(encoding="unicode"))


@requires(Capability.VENUES_VIEW)
@require_GET
def qr_svg(request: AuthedRequest, venue_id: int) -> HttpResponse:
    """The venue's QR code as SVG (for a print shop): the address of its public check-in page."""
    venue = selectors.access_venue(request.user, venue_id)
    response = HttpResponse(_qr_svg(request, venue), content_type="image/svg+xml")
    response["Content-Disposition"] = f'inline; filename="venue-{venue.code}.svg"'
    return response


@requires(Capability.VENUES_VIEW)
@require_GET
def poster(request: AuthedRequest, venue_id: int) -> HttpResponse:
    """A printable poster: the venue's name, its code, the QR code and how to check in."""
    venue = selectors.access_venue(request.user, venue_id)
    return render(
        request,
        "venues/poster.html",
        {
            "venue": venue,
            "qr": mark_safe(_qr_svg(request, venue)),  # noqa: S308 - SVG drawn by qrcode from our own URL
            "check_in_url": _check_in_url(request, venue),
        },
    )


# --- the public check-in page --------------------------------------------------------------------------------


def _limited(request: HttpRequest, venue: Venue, error: RateLimitedError) -> HttpResponse:
    minutes = max(1, (error.retry_after + 59) // 60)
    context = {"venue": venue, "error": error, "minutes": minutes}
    response = render(request, "venues/public/limited.html", context, status=429)
    response["Retry-After"] = str(error.retry_after)
    return response


def _public_venue(venue_code: str) -> Venue:
    venue = selectors.venue_by_code(venue_code)
    if venue is None:
        raise Http404
    return venue


@public
@never_cache
@require_http_methods(["GET", "POST"])
def check_in(request: HttpRequest, venue_code: str) -> HttpResponse:
    venue = _public_venue(venue_code)
    page = "venues/public/check_in.html"
    if request.method == "GET":
        form = SelfCheckInForm()
        return render(request, page, {"venue": venue, "form": form, "step": "details"})
    form = SelfCheckInForm(request.POST)
    action = request.POST.get("action", "send")
    ip_address = request.META.get("REMOTE_ADDR") or None
    if not form.is_valid():
        return render(request, page, {"venue": venue, "form": form, "step": "details"}, status=400)
    if action == "edit":
        return render(request, page, {"venue": venue, "form": form, "step": "details"})
    visitor = form.visitor()
    try:
        if action == "confirm":
            result = services.submit_self_check_in(
                venue,
                visitor,
                code=form.cleaned_data["code"],
                submission=form.cleaned_data["submission"],
                ip_address=ip_address,
            )
            context = {
                "venue": venue,
                "receipt": result.receipt,
                "check_in": result.check_in,
                "token": services.checkout_token(result.check_in),
            }
            return render(request, "venues/public/done.html", context)
        issued = services.request_check_in_code(venue, visitor, ip_address=ip_address)
    except RateLimitedError as error:
        return _limited(request, venue, error)
    except DomainError as error:
        form.add_domain_error(error)
        step = "code" if error.field in CODE_FIELDS else "details"
        context = {"venue": venue, "form": form, "step": step, "phone": mask_phone(form.cleaned_data.get("phone", ""))}
        return render(request, page, context, status=400)
    # A new code: keep the form's token when asking again, so the same form stays one check-in.
    submission = form.cleaned_data["submission"] or services.new_submission_token()
    code_form = SelfCheckInForm(initial={**form.cleaned_data, "submission": submission, "code": ""})
    context = {"venue": venue, "form": code_form, "step": "code", "issued": issued, "phone": mask_phone(visitor.phone)}
    return render(request, page, context)


@public
@never_cache
@require_POST
def check_out(request: HttpRequest, venue_code: str) -> HttpResponse:
    """The visitor's own check-out, with the signed token from their check-in page."""
    venue = _public_venue(venue_code)
    try:
        done = services.check_out_with_token(venue, request.POST.get("token", "")[:300])
    except DomainError as error:
        return render(request, "venues/public/checked_out.html", {"venue": venue, "error": error}, status=400)
    return render(request, "venues/public/checked_out.html", {"venue": venue, "check_in": done})


# --- bulk check-in imports -----------------------------------------------------------------------------------


@requires(Capability.VENUES_MANAGE)
@require_http_methods(["GET", "POST"])
def import_list(request: AuthedRequest) -> HttpResponse:
    venues = list(selectors.venues_for(request.user).order_by("name").values_list("pk", "name")[:2000])
    form = CheckInUploadForm(request.POST or None, request.FILES or None, venues=venues)
    if request.method == "POST" and form.is_valid() and request.user.division is not None:
        upload = form.cleaned_data["file"]
        venue_id = form.cleaned_data["venue"]
        try:
            venue = selectors.access_venue(request.user, int(venue_id)) if venue_id else None
            check_in_import = importing.receive_check_in_file(
                upload.chunks(),
                file_name=upload.name or "",
                size=upload.size or 0,
                division=request.user.division,
                venue=venue,
                by=request.user,
            )
        except DomainError as error:
            form.add_error("file" if error.field in (None, "file") else None, str(error.message))
        else:
            return redirect("venues:import_mapping", checkin_import_id=check_in_import.pk)
    page = Paginator(selectors.imports_for(request.user), 30).get_page(request.GET.get("page"))
    status = 400 if form.errors else 200
    return render(request, "venues/imports/list.html", {"form": form, "page": page}, status=status)


@requires(Capability.VENUES_MANAGE)
@require_http_methods(["GET", "POST"])
def import_mapping(request: AuthedRequest, checkin_import_id: int) -> HttpResponse:
    check_in_import = selectors.access_import(request.user, checkin_import_id)
    context: dict[str, Any] = {"check_in_import": check_in_import}
    try:
        preview = importing.preview(check_in_import)
    except (DomainError, OSError) as error:
        problem = str(error.message) if isinstance(error, DomainError) else _file_gone()
        return render(request, "venues/imports/mapping.html", {**context, "problem": problem})
    initial = {f"map_{field}": header for field, header in preview.suggested.items()}
    form = MappingForm(request.POST or None, headers=preview.headers, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            importing.start_check_in_import(check_in_import, mapping=form.mapping(), by=request.user)
        except DomainError as error:
            form.add_error(None, str(error.message))
        else:
            return redirect("venues:import_progress", checkin_import_id=check_in_import.pk)
    fields = [(spec, form[f"map_{spec.name}"]) for spec in FIELDS]
    context |= {"preview": preview, "form": form, "fields": fields}
    return render(request, "venues/imports/mapping.html", context, status=400 if form.errors else 200)


def _file_gone() -> str:
    from django.utils.translation import gettext

    return gettext("The uploaded file is no longer available; upload it again.")


@requires(Capability.VENUES_MANAGE)
@require_GET
def import_progress(request: AuthedRequest, checkin_import_id: int) -> HttpResponse:
    check_in_import = selectors.access_import(request.user, checkin_import_id)
    template = "venues/imports/_progress.html" if request.htmx else "venues/imports/progress.html"
    context = {
        "check_in_import": check_in_import,
        "job": live_progress(check_in_import.job),
        "has_report": importing.error_report_path(check_in_import).exists(),
    }
    return render(request, template, context)


@requires(Capability.VENUES_MANAGE)
@require_GET
def import_errors(request: AuthedRequest, checkin_import_id: int) -> HttpResponse:
    """The rows that failed, as .xlsx with values masked (an empty report when nothing failed)."""
    check_in_import = selectors.access_import(request.user, checkin_import_id)
    path = importing.error_report_path(check_in_import)
    content = path.read_bytes() if path.exists() else importing.error_workbook_bytes([])
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="check-in-import-{check_in_import.pk}-errors.xlsx"'
    return response
