"""The resident's results page (public, two steps, plain forms), the published keys, and the checkpoint
verifier page (a text box a scanner types into, or a paste; no JavaScript needed)."""

from __future__ import annotations

from typing import Any

import qrcode
import qrcode.image.svg
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from fangkong.core.access import AuthedRequest, public, requires
from fangkong.core.errors import DomainError
from fangkong.core.masking import mask_phone
from fangkong.core.roles import Capability
from fangkong.notify.otp import RateLimitedError
from fangkong.testing.certificates import keys, services
from fangkong.testing.certificates.forms import LookupForm, VerifyForm

CODE_FIELDS = {"code"}


def qr_svg(text: str) -> SafeString:
    """The certificate as an inline SVG QR code (error correction M: a cracked phone screen still scans)."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, image_factory=qrcode.image.svg.SvgPathImage
    )
    code.add_data(text)
    code.make(fit=True)
    # The text is base64url and dots only (codec.FORMAT), so the SVG holds no markup from outside.
    return mark_safe(code.make_image().to_string(encoding="unicode"))  # noqa: S308


def _limited(request: HttpRequest, error: RateLimitedError) -> HttpResponse:
    minutes = max(1, (error.retry_after + 59) // 60)
    response = render(request, "screening/selfreport/limited.html", {"error": error, "minutes": minutes}, status=429)
    response["Retry-After"] = str(error.retry_after)
    return response


@public
@never_cache
@require_http_methods(["GET", "POST"])
def results(request: HttpRequest) -> HttpResponse:
    template = "testing/certificates/lookup.html"
    if request.method == "GET":
        return render(request, template, {"form": LookupForm(), "step": "details"})
    form = LookupForm(request.POST)
    action = request.POST.get("action", "send")
    ip_address = request.META.get("REMOTE_ADDR") or None
    if not form.is_valid():
        return render(request, template, {"form": form, "step": "details"}, status=400)
    if action == "edit":
        return render(request, template, {"form": form, "step": "details"})
    data = form.to_input()
    try:
        if action == "confirm":
            view = services.look_up_results(data, code=form.cleaned_data["code"], ip_address=ip_address)
            certificate = view.certificate
            context: dict[str, Any] = {"view": view, "qr": qr_svg(certificate.text) if certificate is not None else ""}
            return render(request, "testing/certificates/results.html", context)
        issued = services.request_lookup_code(data, ip_address=ip_address)
    except RateLimitedError as error:
        return _limited(request, error)
    except DomainError as error:
        form.add_domain_error(error)
        step = "code" if error.field in CODE_FIELDS else "details"
        context = {"form": form, "step": step, "phone": mask_phone(form.cleaned_data.get("phone", ""))}
        return render(request, template, context, status=400)
    code_form = LookupForm(initial={**form.cleaned_data, "code": ""})
    context = {"form": code_form, "step": "code", "issued": issued, "phone": mask_phone(data.phone.strip())}
    return render(request, template, context)


@public
@require_GET
def published_keys(request: HttpRequest) -> HttpResponse:
    """The public keys that verify certificates (JWKS-like), for checkpoint devices that verify offline."""
    response = JsonResponse(keys.published_key_set())
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@requires(Capability.CERTIFICATE_VERIFY)
@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: AuthedRequest) -> HttpResponse:
    form = VerifyForm(request.POST or None)
    check = None
    if request.method == "POST" and form.is_valid():
        check = services.verify_presented_certificate(form.cleaned_data["certificate"], by=request.user)
        form = VerifyForm()  # an empty box, ready for the next person's scan
    status = 400 if form.errors else 200
    return render(request, "testing/certificates/verify.html", {"form": form, "check": check}, status=status)
