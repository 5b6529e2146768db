"""List import pages: upload → mapping (headers, masked samples, a select per field) → job progress, with the
error report to download. Parse input, call a service or selector, render."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from fangkong.core.access import AuthedRequest, requires
from fangkong.core.errors import DomainError
from fangkong.core.jobs import live_progress
from fangkong.core.roles import Capability
from fangkong.screening.imports import selectors, services
from fangkong.screening.imports.fields import FIELDS
from fangkong.screening.imports.forms import ListUploadForm, MappingForm

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@requires(Capability.SCREENING_IMPORT)
@require_http_methods(["GET", "POST"])
def import_list(request: AuthedRequest) -> HttpResponse:
    form = ListUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid() and request.user.division is not None:
        upload = form.cleaned_data["file"]
        try:
            list_import = services.receive_list_file(
                upload.chunks(),
                file_name=upload.name or "",
                size=upload.size or 0,
                source=form.cleaned_data["source"],
                layout_name=form.cleaned_data["layout_name"],
                division=request.user.division,
                by=request.user,
            )
        except DomainError as error:
            form.add_error("file" if error.field in (None, "file") else None, str(error.message))
        else:
            url = reverse("screening:imports:mapping", kwargs={"import_id": list_import.pk})
            return redirect(f"{url}?{urlencode({'layout': form.cleaned_data['layout_name']})}")
    page = Paginator(selectors.imports_for(request.user), 30).get_page(request.GET.get("page"))
    status = 400 if form.errors else 200
    return render(
        request,
        "screening/imports/list.html",
        {"form": form, "page": page, "layouts": selectors.layouts_for(request.user)},
        status=status,
    )


@requires(Capability.SCREENING_IMPORT)
@require_http_methods(["GET", "POST"])
def mapping(request: AuthedRequest, import_id: int) -> HttpResponse:
    list_import = selectors.access_import(request.user, import_id)
    layout_name = request.GET.get("layout") or (list_import.layout.name if list_import.layout else "")
    try:
        preview = services.preview(list_import, layout_name=layout_name)
    except (DomainError, OSError) as error:
        message = str(error.message) if isinstance(error, DomainError) else str(_file_gone())
        return render(request, "screening/imports/mapping.html", {"list_import": list_import, "problem": message})
    initial = {"layout_name": layout_name, **{f"map_{field}": header for field, header in preview.suggested.items()}}
    form = MappingForm(request.POST or None, headers=preview.headers, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.start_list_import(
                list_import,
                mapping=form.mapping(),
                layout_name=form.cleaned_data["layout_name"],
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        except DomainError as error:
            form.add_error(None, str(error.message))
        else:
            return redirect("screening:imports:progress", import_id=list_import.pk)
    fields = [(field, form[f"map_{field.name}"]) for field in FIELDS]
    return render(
        request,
        "screening/imports/mapping.html",
        {
            "list_import": list_import,
            "preview": preview,
            "form": form,
            "fields": fields,
            "imported": services.is_imported(list_import),
        },
        status=400 if form.errors else 200,
    )


def _file_gone() -> str:
    from django.utils.translation import gettext

    return gettext("The uploaded file is no longer available; upload it again.")


@requires(Capability.SCREENING_IMPORT)
@require_GET
def progress(request: AuthedRequest, import_id: int) -> HttpResponse:
    list_import = selectors.access_import(request.user, import_id)
    template = "screening/imports/_progress.html" if request.htmx else "screening/imports/progress.html"
    has_report = services.error_report_path(list_import).exists()
    return render(
        request,
        template,
        {"list_import": list_import, "job": live_progress(list_import.job), "has_report": has_report},
    )


@requires(Capability.SCREENING_IMPORT)
@require_GET
def error_report(request: AuthedRequest, import_id: int) -> HttpResponse:
    """The rows that failed, as .xlsx with values masked (an empty report when nothing failed)."""
    list_import = selectors.access_import(request.user, import_id)
    path = services.error_report_path(list_import)
    content = path.read_bytes() if path.exists() else services.empty_error_report()
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="import-{list_import.pk}-errors.xlsx"'
    return response
