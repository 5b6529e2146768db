from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from fangkong.command.campaigns import start_campaign
from fangkong.command.forms import CampaignForm, PlanForm
from fangkong.command.planning import start_plan
from fangkong.command.selectors import access_plan, dashboard_figures, dashboard_map, plans_for
from fangkong.core.access import AuthedRequest, requires
from fangkong.core.errors import DomainError
from fangkong.core.jobs import live_progress
from fangkong.core.roles import Capability


@requires(Capability.DASHBOARD_VIEW)
def home(request: AuthedRequest) -> HttpResponse:
    figures = dashboard_figures(request.user)
    template = "command/_figures.html" if request.htmx else "command/home.html"
    return render(request, template, {"figures": figures})


@requires(Capability.DASHBOARD_VIEW)
def map_geojson(request: AuthedRequest) -> HttpResponse:
    """Boundaries of the children of the user's jurisdiction, for the dashboard map."""
    return JsonResponse(dashboard_map(request.user))


@requires(Capability.PLANNING_VIEW)
@require_http_methods(["GET", "POST"])
def plan(request: AuthedRequest) -> HttpResponse:
    form = PlanForm(request.POST or None)
    if request.method == "POST":
        if not request.user.can(Capability.PLANNING_RUN):
            raise PermissionDenied
        if form.is_valid():
            try:
                job = start_plan(form.to_request(), by=request.user)
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, str(error.message))
            else:
                return redirect("command:plan_detail", plan_id=job.pk)
    plans = plans_for(request.user)[:20]
    return render(request, "command/plan.html", {"form": form, "plans": plans}, status=400 if form.errors else 200)


@requires(Capability.PLANNING_VIEW)
def plan_detail(request: AuthedRequest, plan_id: str) -> HttpResponse:
    job = access_plan(request.user, str(plan_id))
    template = "command/_plan_result.html" if request.htmx else "command/plan_detail.html"
    return render(request, template, {"job": live_progress(job)})


@requires(Capability.MESSAGES_SEND)
@require_http_methods(["GET", "POST"])
def campaign(request: AuthedRequest) -> HttpResponse:
    form = CampaignForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            job = start_campaign(
                division_path=form.cleaned_data["division"].path, text=form.cleaned_data["text"], by=request.user
            )
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error.message))
        else:
            return redirect("core:job_detail", job_id=job.pk)
    return render(request, "command/campaign.html", {"form": form}, status=400 if form.errors else 200)
