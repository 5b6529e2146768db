from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from fangkong.command.selectors import dashboard_figures
from fangkong.core.access import AuthedRequest, requires
from fangkong.core.roles import Capability


@requires(Capability.DASHBOARD_VIEW)
def home(request: AuthedRequest) -> HttpResponse:
    figures = dashboard_figures(request.user)
    template = "command/_figures.html" if request.htmx else "command/home.html"
    return render(request, template, {"figures": figures})
