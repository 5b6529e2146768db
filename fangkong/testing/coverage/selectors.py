"""Reads of a round's coverage, scoped: a user sees the communities of their jurisdiction and the progress of
the counties they belong to or oversee."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, Q, QuerySet, Sum

from fangkong.core.models import Division, Job, User
from fangkong.core.scope import scoped
from fangkong.testing.coverage.models import CommunityCoverage, CoverageCounts, RoundCoverageRun, UncoveredPerson
from fangkong.testing.models import TestRound

COUNT_FIELDS = CoverageCounts.COUNT_FIELDS


def latest_job(user: User, test_round: TestRound) -> Job | None:
    """The newest reconciliation job of the round the user may see (their own jurisdiction's jobs)."""
    jobs = scoped(Job.objects.filter(kind="testing.round_coverage", params__round=test_round.pk), user)
    return jobs.order_by("-created_at").first()


def latest_run(test_round: TestRound) -> RoundCoverageRun | None:
    return RoundCoverageRun.objects.filter(round=test_round).order_by("-computed_at", "-id").first()


def community_rows(user: User, run: RoundCoverageRun) -> QuerySet[CommunityCoverage]:
    return scoped(CommunityCoverage.objects.filter(run=run), user).select_related("division")


def totals_for(user: User, run: RoundCoverageRun) -> dict[str, int]:
    sums = community_rows(user, run).aggregate(**{field: Sum(field) for field in COUNT_FIELDS})
    return {field: int(sums[field] or 0) for field in COUNT_FIELDS}


def uncovered_people(user: User, run: RoundCoverageRun, *, kind: str, division: str = "") -> QuerySet[UncoveredPerson]:
    """The round's list as ``run`` left it: the lists belong to the round and follow its latest run, so an
    earlier run has none (the condition is part of the same query)."""
    newer = RoundCoverageRun.objects.filter(round_id=run.round_id).filter(
        Q(computed_at__gt=run.computed_at) | Q(computed_at=run.computed_at, pk__gt=run.pk)
    )
    people = scoped(UncoveredPerson.objects.filter(~Exists(newer), round_id=run.round_id, kind=kind), user)
    if division:
        people = people.filter(division_id=division)
    return people.select_related("person", "division").order_by("division_id", "person_id")


def hourly_for(user: User, run: RoundCoverageRun) -> list[dict[str, Any]]:
    """Cumulative residents tested by hour, per county the user is in or oversees."""
    scope = getattr(user, "scope_path", None) or ""
    paths = [path for path in run.hourly if scope and (path.startswith(scope) or scope.startswith(path))]
    names = dict(Division.objects.filter(path__in=paths).values_list("path", "name"))
    series = []
    for path in sorted(paths):
        total = 0
        points = []
        for hour, tested in run.hourly[path]:
            total += tested
            points.append([hour, total])
        series.append({"county": path, "name": names.get(path, path), "points": points})
    return series
