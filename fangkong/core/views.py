from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from django.views.i18n import set_language as django_set_language

from fangkong.core import selectors, services
from fangkong.core.access import AuthedRequest, public, requires
from fangkong.core.errors import DomainError
from fangkong.core.forms import DivisionUploadForm
from fangkong.core.roles import Capability

login = public(auth_views.LoginView.as_view(template_name="core/login.html", redirect_authenticated_user=True))
logout = public(auth_views.LogoutView.as_view())
set_language = public(django_set_language)


@public
@require_GET
def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@requires(Capability.AUDIT_VIEW)
def audit_log(request: AuthedRequest) -> HttpResponse:
    entries = selectors.audit_entries(
        request.user, action=request.GET.get("action", ""), target_id=request.GET.get("target", "")
    ).select_related("actor")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "core/audit_log.html", {"page": page, "action": request.GET.get("action", "")})


@requires(Capability.JOBS_VIEW)
def job_list(request: AuthedRequest) -> HttpResponse:
    page = Paginator(selectors.jobs_for(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "core/job_list.html", {"page": page})


@requires(Capability.JOBS_VIEW)
def job_detail(request: AuthedRequest, job_id: str) -> HttpResponse:
    job = selectors.access_job(request.user, job_id)
    template = "core/_job_progress.html" if request.htmx else "core/job_detail.html"
    return render(request, template, {"job": job})


@requires(Capability.DIVISIONS_MANAGE)
@require_http_methods(["GET", "POST"])
def divisions_upload(request: AuthedRequest) -> HttpResponse:
    form = DivisionUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.start_division_import(form.cleaned_data["file"], by=request.user)
        except DomainError as error:
            form.add_error("file", str(error.message))
        else:
            return redirect("core:job_detail", job_id=job.pk)
    status = 400 if form.errors else 200
    return render(request, "core/divisions_upload.html", {"form": form}, status=status)


@requires(Capability.DIVISIONS_VIEW)
def divisions(request: AuthedRequest) -> HttpResponse:
    parent = request.GET.get("parent", "")
    current = selectors.access_division(request.user, parent) if parent else None
    nodes = selectors.divisions_under(request.user, parent=parent)
    return render(request, "core/divisions.html", {"nodes": nodes, "current": current})
