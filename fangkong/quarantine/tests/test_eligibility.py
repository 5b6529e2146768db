"""The release rule as a pure function: days served and required negatives."""

from __future__ import annotations

from datetime import date

from fangkong.quarantine.eligibility import Blocker, TestOutcome, eligibility

START, END = date(2021, 8, 1), date(2021, 8, 15)


def negatives(*days: int, reagent: str = "A") -> list[TestOutcome]:
    return [TestOutcome("quarantine", day, "done", "negative", reagent) for day in days]


def test_eligible_on_the_last_day_with_every_test_negative() -> None:
    tests = [*negatives(1, 4, 7, 14), TestOutcome("quarantine", 14, "done", "negative", "B")]
    result = eligibility(on=END, start_date=START, quarantine_end=END, tests=tests, needs_two_reagents=True)
    assert result.is_eligible
    assert (result.days_served, result.days_required, result.negatives_required) == (14, 14, 4)


def test_too_early_is_refused_even_with_every_test_negative() -> None:
    result = eligibility(
        on=date(2021, 8, 14),
        start_date=START,
        quarantine_end=END,
        tests=negatives(1, 4, 7, 14),
        needs_two_reagents=False,
    )
    assert result.blockers == (Blocker.TOO_EARLY,)
    assert result.days_served == 13


def test_a_test_not_done_or_missed_blocks_release() -> None:
    tests = [*negatives(1, 4, 7), TestOutcome("quarantine", 14, "missed")]
    result = eligibility(on=END, start_date=START, quarantine_end=END, tests=tests, needs_two_reagents=False)
    assert result.blockers == (Blocker.TESTS_OUTSTANDING,)
    assert result.outstanding_days == (14,)


def test_cancelled_and_monitoring_tests_are_not_required() -> None:
    tests = [
        *negatives(4, 7, 14),
        TestOutcome("quarantine", 1, "cancelled"),
        TestOutcome("monitoring", 16, "due"),
    ]
    result = eligibility(on=END, start_date=START, quarantine_end=END, tests=tests, needs_two_reagents=False)
    assert result.is_eligible


def test_two_reagents_needed_on_the_last_test_day_where_the_edition_says_so() -> None:
    result = eligibility(
        on=END, start_date=START, quarantine_end=END, tests=negatives(1, 4, 7, 14), needs_two_reagents=True
    )
    assert result.blockers == (Blocker.SECOND_REAGENT,)


def test_a_positive_result_blocks_release() -> None:
    tests = [*negatives(1, 4, 7), TestOutcome("quarantine", 14, "done", "positive", "A")]
    result = eligibility(on=END, start_date=START, quarantine_end=END, tests=tests, needs_two_reagents=False)
    assert Blocker.POSITIVE in result.blockers


def test_an_ended_placement_is_never_eligible() -> None:
    result = eligibility(
        on=END,
        start_date=START,
        quarantine_end=END,
        tests=negatives(1, 4, 7, 14),
        needs_two_reagents=False,
        is_active=False,
    )
    assert result.blockers == (Blocker.NOT_ACTIVE,)
