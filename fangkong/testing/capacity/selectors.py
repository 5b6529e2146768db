"""What the capacity planner starts from: the user's jurisdiction (population, active sampling sites, labs'
declared capacity, the policy edition's pool size and round target) or a round (its area, pool size, targets),
and a round's actual progress to set beside the plan."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Avg, Count, Q, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from fangkong.core.models import Organization, OrganizationKind, User
from fangkong.core.policy import active_edition
from fangkong.people.selectors import people_count_under, people_in_scope
from fangkong.testing.capacity.planner import PlannerInput, PlannerResult, expected_sampled, plan_round
from fangkong.testing.models import LabCapacity, Sample, SamplePurpose, SamplingSite, TestRound
from fangkong.testing.selectors import ancestor_paths, labs_for, sites_for

# Starting values for what the platform does not record (transport is arranged by phone on the day); the
# planner's user changes them. Not epidemic policy, so not in the policy edition.
DEFAULT_RUNS_PER_DAY = 12
DEFAULT_TUBES_PER_RUN = 3000
DEFAULT_PEOPLE_PER_POINT_PER_HOUR = 120  # the SamplingSite default: two desks of a registrar and a swabber
LARGE_CITY = 5_000_000


def _target_hours(division_path: str | None, population: int) -> int:
    testing = active_edition(division_path).testing
    return testing.city_round_over_5m_hours if population > LARGE_CITY else testing.city_round_under_5m_hours


def planner_defaults(user: User) -> PlannerInput:
    """The user's jurisdiction as it is now: population, active sites and their mean throughput, labs' capacity."""
    division_path = user.division_id or None
    population = people_in_scope(user).count()
    sites = sites_for(user, active_only=True).aggregate(n=Count("id"), mean=Avg("hourly_capacity"))
    lab_capacity = LabCapacity.objects.filter(lab__in=labs_for(user)).aggregate(total=Sum("tubes_per_day"))["total"]
    return PlannerInput(
        population=population,
        sampling_points=sites["n"] or 0,
        people_per_point_per_hour=round(sites["mean"] or DEFAULT_PEOPLE_PER_POINT_PER_HOUR),
        pool_size=active_edition(division_path).testing.default_pool_size,
        runs_per_day=DEFAULT_RUNS_PER_DAY,
        tubes_per_run=DEFAULT_TUBES_PER_RUN,
        lab_tubes_per_day=lab_capacity or 0,
        target_hours=_target_hours(division_path, population),
    )


def _labs_serving(division_path: str) -> list[int]:
    """Labs inside the area or above it (a city lab serves its counties), as for `testing.selectors.labs_for`."""
    labs = Organization.objects.filter(kind=OrganizationKind.LAB).filter(
        Q(division__path__startswith=division_path) | Q(division__path__in=ancestor_paths(division_path))
    )
    return list(labs.values_list("pk", flat=True))


@dataclass(frozen=True)
class RoundPlan:
    """The plan for a round from its own figures, and its progress so far, hour by hour from the start."""

    inputs: PlannerInput
    result: PlannerResult | None  # None when a figure is missing (no sites or no lab capacity recorded)
    missing: tuple[str, ...]
    hours: tuple[int, ...]
    planned: tuple[int | None, ...]  # None without a plan
    actual: tuple[int | None, ...]  # None for hours still to come
    sampled: int

    @property
    def form_query(self) -> list[tuple[str, object]]:
        """The round's figures as the planner form's query (to adjust them there)."""
        return [(name, getattr(self.inputs, name)) for name in PlannerInput.__dataclass_fields__]

    @property
    def chart(self) -> dict[str, list[int | None]]:
        return {"hours": list(self.hours), "planned": list(self.planned), "actual": list(self.actual)}


def round_plan(test_round: TestRound, *, now: datetime | None = None) -> RoundPlan:
    """The planner applied to the round's area (population, active sites, serving labs' capacity, the round's
    pool size and completion target), beside the people actually sampled each hour since the round began."""
    now = now or timezone.now()
    area = test_round.division_id
    population = people_count_under(area)
    sites = SamplingSite.objects.filter(division__path__startswith=area, is_active=True).aggregate(
        n=Count("id"), mean=Avg("hourly_capacity")
    )
    lab_capacity = LabCapacity.objects.filter(lab_id__in=_labs_serving(area)).aggregate(total=Sum("tubes_per_day"))[
        "total"
    ]
    inputs = PlannerInput(
        population=population,
        sampling_points=sites["n"] or 0,
        people_per_point_per_hour=round(sites["mean"] or DEFAULT_PEOPLE_PER_POINT_PER_HOUR),
        pool_size=test_round.pool_size,
        runs_per_day=DEFAULT_RUNS_PER_DAY,
        tubes_per_run=DEFAULT_TUBES_PER_RUN,
        lab_tubes_per_day=lab_capacity or 0,
        target_hours=test_round.completion_target_hours,
    )
    missing = tuple(
        name
        for name, value in (
            ("population", inputs.population),
            ("sampling_points", inputs.sampling_points),
            ("lab_tubes_per_day", inputs.lab_tubes_per_day),
        )
        if value <= 0
    )
    result = plan_round(inputs) if not missing else None
    elapsed = max(0, int((min(now, test_round.ends_at) - test_round.starts_at) / timedelta(hours=1)) + 1)
    span = max(elapsed, int(result.sampling_end_hours) + 1 if result else 0, 1)
    span = min(span, 24 * 14)
    planned: list[int | None] = list(expected_sampled(inputs, hours=span)) if result else [None] * span
    per_hour = (
        Sample.objects.filter(
            round=test_round, purpose=SamplePurpose.ROUND, is_duplicate=False, sampled_at__gte=test_round.starts_at
        )
        .annotate(hour=TruncHour("sampled_at", tzinfo=UTC))
        .values("hour")
        .annotate(n=Count("id"))
    )
    counts = [0] * span
    start = test_round.starts_at
    for row in per_hour:
        # Every swab of the UTC hour starting row["hour"] is done by its end: count it in the round's hour that
        # contains that end (round hours count from starts_at, which need not fall on the hour).
        index = math.ceil((row["hour"] + timedelta(hours=1) - start) / timedelta(hours=1)) - 1
        counts[min(max(index, 0), span - 1)] += row["n"]
    actual: list[int | None] = []
    total = 0
    for hour, count in enumerate(counts):
        total += count
        actual.append(total if hour < elapsed else None)
    return RoundPlan(
        inputs=inputs,
        result=result,
        missing=missing,
        hours=tuple(range(1, span + 1)),
        planned=tuple(planned),
        actual=tuple(actual),
        sampled=total,
    )
