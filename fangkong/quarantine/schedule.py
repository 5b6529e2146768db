"""Quarantine terms from a policy edition: how long, where, and on which days a person is tested.

Pure functions over `core.editions` (no Django, no database): the place service freezes their result into the
placement (`Placement.edition_id`, `start_date`, `quarantine_end`, `monitoring_end`, `test_days`,
`monitoring_test_days`), so a later change of edition never moves an existing placement.

Counting follows `core.editions.quarantine_day` — the last exposure is day 0:
- `test_days` are quarantine-clock days ("days 1, 4, 7, 14" of the 8th edition);
- `monitoring_test_days` are days of the home health monitoring phase as the edition writes them (1 = its first
  day); on the quarantine clock they are `quarantine_days + d`, which is what `ScheduledTest.day_number` holds
  whatever the phase.

Which rules apply to whom (no value is written here; each comes from the edition):
- close contacts: `close_contact` — centralized days + home monitoring days, with their test days;
- secondary contacts: `secondary_contact` — its setting (centralized or home), days and test days, no monitoring;
- arrivals from a risk area: `risk_area_arrivals` for a high-risk area (its setting and days). The editions
  name no test days for arrivals, so the close-contact test days that fall inside the period are used; this is
  the platform's choice, said here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from fangkong.core.editions import PolicyEdition, quarantine_date, quarantine_day

CENTRALIZED = "centralized"
HOME = "home"
PHASE_QUARANTINE = "quarantine"  # the values of models.TestPhase
PHASE_MONITORING = "monitoring"

REASONS = ("close_contact", "secondary_contact", "arrival")  # the values of models.PlacementReason


@dataclass(frozen=True)
class Terms:
    """What an edition prescribes for one person whose clock starts on `start_date` (day 0)."""

    edition_id: str
    reason: str
    setting: str  # CENTRALIZED | HOME: where the edition says the quarantine is served
    start_date: date
    quarantine_days: int
    monitoring_days: int
    test_days: tuple[int, ...]  # quarantine-clock days
    monitoring_test_days: tuple[int, ...]  # monitoring-phase days (1 = the phase's first day)
    release_needs_two_reagents: bool

    @property
    def quarantine_end(self) -> date:
        return quarantine_date(self.start_date, self.quarantine_days)

    @property
    def monitoring_end(self) -> date:
        return self.quarantine_end + timedelta(days=self.monitoring_days)


@dataclass(frozen=True)
class DueTest:
    phase: str  # PHASE_QUARANTINE | PHASE_MONITORING
    day_number: int  # on the quarantine clock (start date = day 0)
    due_on: date


def terms_for(edition: PolicyEdition, *, reason: str, start_date: date) -> Terms:
    """The edition's terms for a person quarantined for `reason` ('close_contact', 'secondary_contact',
    'arrival') whose last exposure (or arrival) was on `start_date`."""
    if reason == "close_contact":
        rules = edition.close_contact
        return Terms(
            edition_id=edition.id,
            reason=reason,
            setting=CENTRALIZED,
            start_date=start_date,
            quarantine_days=rules.centralized_days,
            monitoring_days=rules.home_monitoring_days,
            test_days=rules.centralized_test_days,
            monitoring_test_days=rules.home_monitoring_test_days,
            release_needs_two_reagents=rules.release_needs_two_reagents,
        )
    if reason == "secondary_contact":
        secondary = edition.secondary_contact
        return Terms(
            edition_id=edition.id,
            reason=reason,
            setting=HOME if secondary.setting == HOME else CENTRALIZED,
            start_date=start_date,
            quarantine_days=secondary.quarantine_days,
            monitoring_days=0,
            test_days=secondary.test_days,
            monitoring_test_days=(),
            release_needs_two_reagents=False,
        )
    if reason == "arrival":
        arrivals = edition.risk_area_arrivals
        days = arrivals.high_risk_days
        return Terms(
            edition_id=edition.id,
            reason=reason,
            setting=HOME if arrivals.high_risk_setting == HOME else CENTRALIZED,
            start_date=start_date,
            quarantine_days=days,
            monitoring_days=0,
            test_days=tuple(day for day in edition.close_contact.centralized_test_days if day <= days),
            monitoring_test_days=(),
            release_needs_two_reagents=False,
        )
    raise ValueError(f"unknown quarantine reason {reason!r}")


def due_tests(
    *,
    start_date: date,
    quarantine_end: date,
    test_days: tuple[int, ...] | list[int],
    monitoring_test_days: tuple[int, ...] | list[int],
) -> list[DueTest]:
    """Every scheduled test of frozen terms, in date order: quarantine days, then monitoring days."""
    quarantine_days = quarantine_day(start_date, quarantine_end)
    tests = [DueTest(PHASE_QUARANTINE, day, quarantine_date(start_date, day)) for day in sorted(test_days)]
    tests += [
        DueTest(PHASE_MONITORING, quarantine_days + day, quarantine_date(start_date, quarantine_days + day))
        for day in sorted(monitoring_test_days)
    ]
    return tests


def terms_tests(terms: Terms) -> list[DueTest]:
    return due_tests(
        start_date=terms.start_date,
        quarantine_end=terms.quarantine_end,
        test_days=terms.test_days,
        monitoring_test_days=terms.monitoring_test_days,
    )


def is_fever(temperature_celsius: float, edition: PolicyEdition) -> bool:
    return temperature_celsius >= edition.quarantine_monitoring.fever_threshold_celsius
