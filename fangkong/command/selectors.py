"""The home dashboard's figures for a user's jurisdiction: each reads through the modules' own selectors."""

from __future__ import annotations

from dataclasses import dataclass

from fangkong.core.models import User
from fangkong.core.selectors import divisions_in_scope, jobs_for
from fangkong.people.selectors import pending_merges, people_count_by_child_division, people_in_scope


@dataclass(frozen=True)
class DashboardFigures:
    people: int
    communities: int
    pending_merges: int
    running_jobs: int
    by_division: list[dict[str, object]]


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
    )
