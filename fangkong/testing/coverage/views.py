"""The round coverage page: counts per community, the untested and door-to-door lists (masked), hourly
progress per county, and the button that queues a new reconciliation."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from fangkong.core.access import AuthedRequest, requires
from fangkong.core.roles import Capability
from fangkong.testing.capacity.selectors import round_plan
from fangkong.testing.coverage import selectors
from fangkong.testing.coverage.models import UncoveredKind
from fangkong.testing.coverage.services import start_round_coverage
from fangkong.testing.selectors import access_round

PAGE_SIZE = 50


@requires(Capability.TESTING_VIEW)
def round_coverage(request: AuthedRequest, round_id: int) -> HttpResponse:
    test_round = access_round(request.user, round_id)
    run = selectors.latest_run(test_round)
    context: dict[str, object] = {
        "round": test_round,
        "run": run,
        "job": selectors.latest_job(request.user, test_round),
        "round_plan": round_plan(test_round),  # the capacity planner beside the round's progress
    }
    if run is not None:
        community = request.GET.get("community", "")
        rows = list(selectors.community_rows(request.user, run))
        totals = selectors.totals_for(request.user, run)
        due = totals["residents"] - totals["exempt_infant"] - totals["exempt_away"] - totals["exempt_other"]
        untested = Paginator(
            selectors.uncovered_people(request.user, run, kind=UncoveredKind.UNTESTED, division=community), PAGE_SIZE
        ).get_page(request.GET.get("page"))
        door = Paginator(
            selectors.uncovered_people(request.user, run, kind=UncoveredKind.DOOR_TO_DOOR, division=community),
            PAGE_SIZE,
        ).get_page(request.GET.get("door_page"))
        context.update(
            rows=rows,
            totals=totals,
            coverage_percent=round(100.0 * totals["tested"] / due, 1) if due > 0 else 100.0,
            community=community,
            page=untested,
            door=door,
            hourly=selectors.hourly_for(request.user, run),
            can_run=request.user.can(Capability.TESTING_MANAGE),
        )
    else:
        context["can_run"] = request.user.can(Capability.TESTING_MANAGE)
    return render(request, "testing/coverage/round_coverage.html", context)


@requires(Capability.TESTING_MANAGE)
@require_POST
def run_round_coverage(request: AuthedRequest, round_id: int) -> HttpResponse:
    test_round = access_round(request.user, round_id)
    start_round_coverage(test_round, by=request.user)
    return redirect("testing:round_coverage", round_id=test_round.pk)
