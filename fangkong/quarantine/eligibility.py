"""Release eligibility: days served and required negatives, as a pure function of a placement's frozen terms and
its test outcomes (no Django, no database). `Placement.can_release(on=day)` and the release service both call
`eligibility()`, so the rule lives here once.

A placement may be released on `on` when
1. its quarantine has run its course: `on` is on or after the frozen `quarantine_end` (days served — counted on
   the quarantine clock, the last exposure = day 0 — reach the frozen length);
2. every quarantine-phase test it owes (the scheduled tests of its frozen test days that were not cancelled) is
   done and negative — a test still due or missed blocks release, a positive one ends quarantine otherwise;
3. where the edition asks for two swabs with two reagents before release (`release_needs_two_reagents`, the 8th
   edition), the last test day has negative results from at least two different reagents.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from fangkong.core.editions import quarantine_day

PHASE_QUARANTINE = "quarantine"
DONE, DUE, MISSED, CANCELLED = "done", "due", "missed", "cancelled"  # models.TestStatus values
NEGATIVE, POSITIVE = "negative", "positive"  # models.TestResult values


class Blocker(StrEnum):
    TOO_EARLY = "too_early"
    TESTS_OUTSTANDING = "tests_outstanding"
    POSITIVE = "positive"
    SECOND_REAGENT = "second_reagent"
    NOT_ACTIVE = "not_active"


@dataclass(frozen=True)
class TestOutcome:
    __test__ = False  # not a pytest test class despite the name

    phase: str
    day_number: int
    status: str
    result: str = ""
    reagent: str = ""


@dataclass(frozen=True)
class Eligibility:
    on: date
    days_served: int
    days_required: int
    negatives: int  # negative quarantine-phase tests
    negatives_required: int  # distinct test days that must be negative
    outstanding_days: tuple[int, ...]  # test days not yet done (due or missed)
    blockers: tuple[Blocker, ...] = field(default=())

    @property
    def is_eligible(self) -> bool:
        return not self.blockers


def eligibility(
    *,
    on: date,
    start_date: date,
    quarantine_end: date,
    tests: Iterable[TestOutcome],
    needs_two_reagents: bool,
    is_active: bool = True,
) -> Eligibility:
    quarantine = [t for t in tests if t.phase == PHASE_QUARANTINE and t.status != CANCELLED]
    owed_days = sorted({t.day_number for t in quarantine})
    negative_days = {t.day_number for t in quarantine if t.status == DONE and t.result == NEGATIVE}
    outstanding = tuple(day for day in owed_days if day not in negative_days)
    blockers: list[Blocker] = []
    if not is_active:
        blockers.append(Blocker.NOT_ACTIVE)
    if on < quarantine_end:
        blockers.append(Blocker.TOO_EARLY)
    if any(t.status == DONE and t.result == POSITIVE for t in quarantine):
        blockers.append(Blocker.POSITIVE)
    if outstanding:
        blockers.append(Blocker.TESTS_OUTSTANDING)
    if needs_two_reagents and owed_days:
        last = owed_days[-1]
        reagents = {
            t.reagent.strip().lower()
            for t in quarantine
            if t.day_number == last and t.status == DONE and t.result == NEGATIVE and t.reagent.strip()
        }
        if len(reagents) < 2:
            blockers.append(Blocker.SECOND_REAGENT)
    return Eligibility(
        on=on,
        days_served=max(0, quarantine_day(start_date, on)),
        days_required=quarantine_day(start_date, quarantine_end),
        negatives=sum(1 for t in quarantine if t.status == DONE and t.result == NEGATIVE),
        negatives_required=len(owed_days),
        outstanding_days=outstanding,
        blockers=tuple(blockers),
    )
