"""The home dashboard's figures for a user's jurisdiction: each reads through the modules' own selectors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from fangkong.command.models import SimulationRun
from fangkong.command.planning import PLAN_JOB
from fangkong.core.models import Job, User
from fangkong.core.roles import Capability
from fangkong.core.scope import get_scoped, scoped
from fangkong.core.selectors import child_boundaries, divisions_in_scope, jobs_for
from fangkong.people.selectors import pending_merges, people_count_by_child_division, people_in_scope
from fangkong.screening.selectors import nobody_missed
from fangkong.testing.turnaround import Turnaround, turnaround
from fangkong.tracing.selectors import cases_for, overdue_clocks

OUTBREAK_SERIES = ("new_cases", "new_close_contacts", "in_quarantine_rooms", "home_quarantine", "beds_used", "tests")


@dataclass(frozen=True)
class DashboardFigures:
    people: int
    communities: int
    pending_merges: int
    running_jobs: int
    by_division: list[dict[str, object]]
    outbreak: dict[str, Any] = field(default_factory=dict)
    loop: dict[str, int] = field(default_factory=dict)
    cases: int = 0
    overdue_clocks: int = 0
    turnaround: Turnaround | None = None  # for users who may see testing


def latest_simulation(user: User) -> SimulationRun | None:
    return scoped(SimulationRun.objects.all(), user).first()


def outbreak_overview(user: User) -> dict[str, Any]:
    """The simulated outbreak the demo city runs on (until the case and quarantine modules report their own)."""
    run = latest_simulation(user)
    if run is None:
        return {}
    return {
        "seed": run.seed,
        "people": run.people,
        "days": run.days,
        "dates": [row["date"] for row in run.daily],
        "series": {name: [row[name] for row in run.daily] for name in OUTBREAK_SERIES},
        "cumulative_cases": sum(row["new_cases"] for row in run.daily),
        "peak_rooms": max((row["in_quarantine_rooms"] for row in run.daily), default=0),
        "peak_beds": max((row["beds_used"] for row in run.daily), default=0),
    }


def dashboard_figures(user: User) -> DashboardFigures:
    by_division = [
        {"name": division.name, "code": division.code, "people": count}
        for division, count in people_count_by_child_division(user)
    ]
    return DashboardFigures(
        people=people_in_scope(user).count(),
        communities=divisions_in_scope(user, level="community").count(),
        pending_merges=pending_merges(user).count(),
        running_jobs=jobs_for(user).filter(status__in=["queued", "running"]).count(),
        by_division=by_division,
        outbreak=outbreak_overview(user),
        loop=loop_totals(user),
        cases=cases_for(user).count(),
        overdue_clocks=overdue_clocks(user).count(),
        turnaround=turnaround(user) if user.can(Capability.TESTING_VIEW) else None,
    )


def loop_totals(user: User) -> dict[str, int]:
    rows = nobody_missed(user)
    return {
        key: sum(row.counts[key] for row in rows) for key in ("listed", "located", "tested", "overdue", "unlocated")
    }


def dashboard_map(user: User) -> dict[str, object]:
    return child_boundaries(user)


def plans_for(user: User) -> QuerySet[Job]:
    return jobs_for(user).filter(kind=PLAN_JOB)


def access_plan(user: User, job_id: str) -> Job:
    return get_scoped(Job.objects.filter(kind=PLAN_JOB), user, pk=job_id)
