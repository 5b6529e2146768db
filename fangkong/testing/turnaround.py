"""Turnaround of pooled tubes per round and per lab: sampling → lab receipt → result, against the round's
targets (`TestRound.receipt_target_hours`, `result_target_hours`, `completion_target_hours`; 6 / 12 / 24 h by
default), for the command dashboard.

Definitions (one place):
- a tube's clock starts at its first swab (`Tube.opened_at`): the person who waited longest sets the figure;
- *to receipt* = `received_at − opened_at`, *to result* = `resulted_at − opened_at`, in whole minutes;
- median and 90th percentile are nearest-rank over the tubes that reached the stage;
- *within target* counts tubes that reached the stage in time; *late* counts those that reached it late **and**
  those still waiting past the target (a tube lost on the way is late, not invisible); tubes still inside their
  target are in neither, so the share is `within / (within + late)`;
- a round is complete when no tube waits for a result; its completion time runs from `starts_at` to its last
  result (or to now while it is running) against `completion_target_hours`.

Single-tube retests are left out (they have their own, shorter clock). The database does the work: each query
groups tubes by (round, lab, minutes), so the rows that come back number at most the distinct minutes, not the
tubes, whatever the round's size.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Count, DateTimeField, Expression, F, Func, IntegerField, Max, Q, Value
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from fangkong.core.models import Organization, User
from fangkong.core.scope import scoped
from fangkong.testing.models import Tube
from fangkong.testing.selectors import rounds_for

RECENT_ROUNDS = 6
# The dashboard polls every 60 s; a city round's figures take seconds on a million tubes (docs/benchmarks.md), so
# the figures for a jurisdiction and its tubes are kept this long (a changed tube count or newest tube is a miss).
CACHE_SECONDS = 60

Histogram = dict[int, int]  # minutes → tubes


class MinutesBetween(Func):
    """Whole minutes from `start` to `end` (both aware datetimes), on PostgreSQL and SQLite alike."""

    output_field = IntegerField()
    arity = 2

    def __init__(self, end: Any, start: Any) -> None:
        super().__init__(end, start)

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any) -> Any:
        return super().as_sql(
            compiler,
            connection,
            # '%%%%' survives the template's own formatting as '%%', which the backend turns into '%'.
            template="((CAST(strftime('%%%%s', %(expressions)s) AS INTEGER)) / 60)",
            arg_joiner=") AS INTEGER) - CAST(strftime('%%s', ",
            **extra,
        )

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any) -> Any:
        return super().as_sql(
            compiler,
            connection,
            template="FLOOR(date_part('epoch', %(expressions)s) / 60)::integer",  # double, not numeric: faster
            arg_joiner=" - ",
            **extra,
        )


@dataclass(frozen=True)
class StageFigures:
    """One stage (to receipt, or to result) for a set of tubes."""

    reached: int
    median_hours: float | None
    p90_hours: float | None
    within: int
    late: int
    target_hours: int | None  # None when the rows mix rounds with different targets

    @property
    def percent_within(self) -> float | None:
        judged = self.within + self.late
        return round(100.0 * self.within / judged, 1) if judged else None


@dataclass(frozen=True)
class RoundTurnaround:
    round_id: int
    name: str
    starts_at: datetime
    tubes: int
    to_receipt: StageFigures
    to_result: StageFigures
    completion_target_hours: int
    completion_hours: float | None  # start → last result; None while tubes still wait
    elapsed_hours: float
    is_complete: bool

    @property
    def completion_late(self) -> bool:
        hours = self.completion_hours if self.is_complete else self.elapsed_hours
        return hours is not None and hours > self.completion_target_hours


@dataclass(frozen=True)
class LabTurnaround:
    lab_id: int | None  # None: tubes not yet handed over to a lab
    name: str
    to_receipt: StageFigures
    to_result: StageFigures


@dataclass(frozen=True)
class Turnaround:
    rounds: list[RoundTurnaround] = field(default_factory=list)
    labs: list[LabTurnaround] = field(default_factory=list)

    def chart(self) -> dict[str, Any]:
        """The per-lab figures as the dashboard's chart reads them."""
        return {
            "labs": [lab.name for lab in self.labs],
            "receipt_median": [lab.to_receipt.median_hours for lab in self.labs],
            "result_median": [lab.to_result.median_hours for lab in self.labs],
            "result_p90": [lab.to_result.p90_hours for lab in self.labs],
            "result_within": [lab.to_result.percent_within for lab in self.labs],
            "result_target": self.rounds[0].to_result.target_hours if self.rounds else None,
        }


def nearest_rank(histogram: Histogram, fraction: float) -> int | None:
    """The value at nearest rank ⌈fraction × n⌉ of the values the histogram counts."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for minutes in sorted(histogram):
        seen += histogram[minutes]
        if seen >= rank:
            return minutes
    return None  # unreachable: the ranks add up to total


def _hours(minutes: int | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 1)


def _figures(reached: Histogram, within: int, late: int, target: int | None) -> StageFigures:
    return StageFigures(
        reached=sum(reached.values()),
        median_hours=_hours(nearest_rank(reached, 0.5)),
        p90_hours=_hours(nearest_rank(reached, 0.9)),
        within=within,
        late=late,
        target_hours=target,
    )


Key = tuple[int, int | None]  # (round id, lab id)


def _histograms(rows: Iterable[dict[str, Any]], value: str) -> dict[Key, Histogram]:
    grouped: dict[Key, Histogram] = defaultdict(dict)
    for row in rows:
        key = (row["round_id"], row["lab_id"])
        grouped[key][row[value]] = grouped[key].get(row[value], 0) + row["n"]
    return grouped


def _count_over(histogram: Histogram, limit_minutes: int) -> int:
    return sum(n for minutes, n in histogram.items() if minutes > limit_minutes)


def _merge(histograms: Iterable[Histogram]) -> Histogram:
    merged: Histogram = defaultdict(int)
    for histogram in histograms:
        for minutes, n in histogram.items():
            merged[minutes] += n
    return dict(merged)


def turnaround(user: User, *, now: datetime | None = None, rounds: int = RECENT_ROUNDS) -> Turnaround:
    """Turnaround for the user's most recent rounds (by start), over the tubes in the user's jurisdiction.

    Without `now` (the dashboard) the answer is cached for CACHE_SECONDS per jurisdiction and set of rounds."""
    if now is not None:
        return _turnaround(user, now=now, rounds=rounds)
    now = timezone.now()
    recent_ids = list(
        rounds_for(user).filter(starts_at__lte=now).order_by("-starts_at", "-id").values_list("pk", flat=True)[:rounds]
    )
    if not recent_ids:
        return Turnaround()
    newest_tube = scoped(Tube.objects.filter(round_id__in=recent_ids), user).aggregate(newest=Max("id"))["newest"]
    key = f"fangkong:turnaround:{getattr(user, 'scope_path', '')}:{','.join(map(str, recent_ids))}:{newest_tube}"
    cached = cache.get(key)
    if isinstance(cached, Turnaround):
        return cached
    figures = _turnaround(user, now=now, rounds=rounds)
    cache.set(key, figures, CACHE_SECONDS)
    return figures


def _turnaround(user: User, *, now: datetime, rounds: int) -> Turnaround:
    recent = list(rounds_for(user).filter(starts_at__lte=now).order_by("-starts_at", "-id")[:rounds])
    if not recent:
        return Turnaround()
    by_id = {r.pk: r for r in recent}
    tubes = scoped(Tube.objects.all(), user).filter(round_id__in=by_id, is_retest=False)
    now_value: Expression = Value(now, output_field=DateTimeField())

    def grouped(queryset: Any, minutes: Expression) -> list[dict[str, Any]]:
        return list(queryset.annotate(m=minutes).values("round_id", "lab_id", "m").annotate(n=Count("id")).order_by())

    received = _histograms(
        grouped(tubes.filter(received_at__isnull=False), MinutesBetween(F("received_at"), F("opened_at"))), "m"
    )
    resulted = _histograms(
        grouped(tubes.filter(resulted_at__isnull=False), MinutesBetween(F("resulted_at"), F("opened_at"))), "m"
    )
    waiting_receipt = _histograms(
        grouped(tubes.filter(received_at__isnull=True), MinutesBetween(now_value, F("opened_at"))), "m"
    )
    waiting_result = _histograms(
        grouped(tubes.filter(resulted_at__isnull=True), MinutesBetween(now_value, F("opened_at"))), "m"
    )
    per_round: dict[int, dict[str, Any]] = {
        row["round_id"]: dict(row)
        for row in tubes.values("round_id")
        .annotate(tubes=Count("id"), waiting=Count("id", filter=Q(resulted_at__isnull=True)), last=Max("resulted_at"))
        .order_by()
    }
    keys = set(received) | set(resulted) | set(waiting_receipt) | set(waiting_result)

    def stage(
        key_set: list[Key], reached: dict[Key, Histogram], waiting: dict[Key, Histogram], target_of: str
    ) -> StageFigures:
        within = late = 0
        targets = set()
        for key in key_set:
            limit = getattr(by_id[key[0]], target_of)
            targets.add(limit)
            late_reached = _count_over(reached.get(key, {}), limit * 60)
            within += sum(reached.get(key, {}).values()) - late_reached
            late += late_reached + _count_over(waiting.get(key, {}), limit * 60)
        target = targets.pop() if len(targets) == 1 else None
        return _figures(_merge(reached.get(key, {}) for key in key_set), within, late, target)

    round_rows = []
    for test_round in recent:
        key_set = [key for key in keys if key[0] == test_round.pk]
        totals = per_round.get(test_round.pk, {"tubes": 0, "waiting": 0, "last": None})
        is_complete = totals["tubes"] > 0 and totals["waiting"] == 0
        last = totals["last"]
        round_rows.append(
            RoundTurnaround(
                round_id=test_round.pk,
                name=test_round.name,
                starts_at=test_round.starts_at,
                tubes=totals["tubes"],
                to_receipt=stage(key_set, received, waiting_receipt, "receipt_target_hours"),
                to_result=stage(key_set, resulted, waiting_result, "result_target_hours"),
                completion_target_hours=test_round.completion_target_hours,
                completion_hours=round((last - test_round.starts_at) / timedelta(hours=1), 1)
                if is_complete and last
                else None,
                elapsed_hours=round((now - test_round.starts_at) / timedelta(hours=1), 1),
                is_complete=is_complete,
            )
        )
    lab_ids = sorted({key[1] for key in keys}, key=lambda lab: (lab is None, lab or 0))
    names = dict(Organization.objects.filter(pk__in=[lab for lab in lab_ids if lab]).values_list("pk", "name"))
    lab_rows = [
        LabTurnaround(
            lab_id=lab,
            name=names.get(lab, "") if lab else "",
            to_receipt=stage([key for key in keys if key[1] == lab], received, waiting_receipt, "receipt_target_hours"),
            to_result=stage([key for key in keys if key[1] == lab], resulted, waiting_result, "result_target_hours"),
        )
        for lab in lab_ids
    ]
    return Turnaround(rounds=round_rows, labs=lab_rows)
