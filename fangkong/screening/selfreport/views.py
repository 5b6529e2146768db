"""The public self-report page (two steps on one page, plain forms: works without JavaScript), its QR code and
printable poster, and the staff list of self-reports."""

from __future__ import annotations

import io

import qrcode
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from fangkong.core.access import AuthedRequest, public, requires
from fangkong.core.errors import DomainError
from fangkong.core.masking import mask_phone
from fangkong.core.roles import Capability
from fangkong.notify.otp import RateLimitedError
from fangkong.screening.selfreport import selectors, services
from fangkong.screening.selfreport.forms import SelfReportForm

CODE_FIELDS = {"code"}


def _community_param(request: HttpRequest) -> str:
    """An optional ?community=<path> (from a community's poster) preselecting the select; ignored if unknown."""
    path = request.GET.get("community", "")[:12]
    return path if path.isdigit() and selectors.community(path) is not None else ""


def _report_url(request: HttpRequest, community: str) -> str:
    url = request.build_absolute_uri(reverse("selfreport:report"))
    return f"{url}?{urlencode({'community': community})}" if community else url


def _limited(request: HttpRequest, error: RateLimitedError) -> HttpResponse:
    minutes = max(1, (error.retry_after + 59) // 60)
    response = render(request, "screening/selfreport/limited.html", {"error": error, "minutes": minutes}, status=429)
    response["Retry-After"] = str(error.retry_after)
    return response


@public
@never_cache
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    communities = selectors.community_choices()
    if request.method == "GET":
        form = SelfReportForm(initial={"community": _community_param(request)}, communities=communities)
        return render(request, "screening/selfreport/report.html", {"form": form, "step": "details"})

    form = SelfReportForm(request.POST, communities=communities)
    action = request.POST.get("action", "send")
    ip_address = request.META.get("REMOTE_ADDR") or None
    if not form.is_valid():
        return render(request, "screening/selfreport/report.html", {"form": form, "step": "details"}, status=400)
    if action == "edit":
        return render(request, "screening/selfreport/report.html", {"form": form, "step": "details"})
    data = form.to_input()
    try:
        if action == "confirm":
            result = services.submit_self_report(
                data, code=form.cleaned_data["code"], submission=form.cleaned_data["submission"], ip_address=ip_address
            )
            return render(request, "screening/selfreport/done.html", {"receipt": result.receipt})
        issued = services.request_code(data, ip_address=ip_address)
    except RateLimitedError as error:
        return _limited(request, error)
    except DomainError as error:
        form.add_domain_error(error)
        step = "code" if error.field in CODE_FIELDS else "details"
        context = {"form": form, "step": step, "phone": mask_phone(form.cleaned_data.get("phone", ""))}
        return render(request, "screening/selfreport/report.html", context, status=400)
    # A new code: keep the form's token when asking again, so the same form stays one report.
    submission = form.cleaned_data["submission"] or services.new_submission_token()
    code_form = SelfReportForm(
        initial={**form.cleaned_data, "submission": submission, "code": ""}, communities=communities
    )
    return render(
        request,
        "screening/selfreport/report.html",
        {"form": code_form, "step": "code", "issued": issued, "phone": mask_phone(data.phone.strip())},
    )


@public
@require_GET
def qr_png(request: HttpRequest) -> HttpResponse:
    """A PNG QR code of the page's absolute address (with the community preselected if asked)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(_report_url(request, _community_param(request)))
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)  # Pillow (a dependency of matplotlib) draws the PNG
    response = HttpResponse(buffer.getvalue(), content_type="image/png")
    response["Cache-Control"] = "public, max-age=3600"
    return response


@public
@require_GET
def poster(request: HttpRequest) -> HttpResponse:
    """A printable notice with the QR code and instructions (public: it holds no personal data)."""
    community = _community_param(request)
    qr_query = f"?{urlencode({'community': community})}" if community else ""
    chosen = selectors.community(community)
    return render(
        request,
        "screening/selfreport/poster.html",
        {
            "report_url": _report_url(request, community),
            "qr_src": reverse("selfreport:qr") + qr_query,
            "community_name": chosen.name if chosen is not None else "",
        },
    )


@requires(Capability.SCREENING_VIEW)
def staff_list(request: AuthedRequest) -> HttpResponse:
    page = Paginator(selectors.self_reports(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "screening/selfreport/list.html", {"page": page})
