from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from fangkong.core.access import AuthedRequest, requires
from fangkong.core.roles import Capability
from fangkong.testing.capacity.forms import PlannerForm
from fangkong.testing.capacity.planner import PlannerError, plan_round
from fangkong.testing.capacity.selectors import planner_defaults


@requires(Capability.TESTING_VIEW)
@require_GET
def planner(request: AuthedRequest) -> HttpResponse:
    """The capacity planner: the form (prefilled from the jurisdiction) and, once submitted, the answer."""
    submitted = "population" in request.GET
    form = PlannerForm(
        request.GET if submitted else None, initial=PlannerForm.initial_from(planner_defaults(request.user))
    )
    result = None
    if submitted and form.is_valid():
        try:
            result = plan_round(form.to_input())
        except PlannerError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
    status = 400 if form.errors else 200
    return render(request, "testing/capacity/planner.html", {"form": form, "result": result}, status=status)
