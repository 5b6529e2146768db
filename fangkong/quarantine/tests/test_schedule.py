"""Quarantine terms and test days from the policy editions (pure: no database)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core.editions import load_edition, quarantine_day, with_overrides
from fangkong.quarantine.schedule import (
    CENTRALIZED,
    HOME,
    PHASE_MONITORING,
    PHASE_QUARANTINE,
    is_fever,
    terms_for,
    terms_tests,
)

EXPOSURE = date(2021, 8, 1)


def test_8th_edition_close_contact_14_days_tests_1_4_7_14_then_7_days_home_tests_2_and_7() -> None:
    terms = terms_for(load_edition("ed8"), reason="close_contact", start_date=EXPOSURE)
    assert terms.setting == CENTRALIZED
    assert terms.quarantine_end == date(2021, 8, 15)  # exposure + 14 days
    assert terms.monitoring_end == date(2021, 8, 22)
    assert terms.release_needs_two_reagents
    tests = terms_tests(terms)
    assert [(t.phase, t.day_number, t.due_on) for t in tests] == [
        (PHASE_QUARANTINE, 1, date(2021, 8, 2)),
        (PHASE_QUARANTINE, 4, date(2021, 8, 5)),
        (PHASE_QUARANTINE, 7, date(2021, 8, 8)),
        (PHASE_QUARANTINE, 14, date(2021, 8, 15)),
        (PHASE_MONITORING, 16, date(2021, 8, 17)),  # home-monitoring day 2
        (PHASE_MONITORING, 21, date(2021, 8, 22)),  # home-monitoring day 7
    ]


def test_9th_edition_close_contact_7_plus_3_with_its_own_test_days() -> None:
    terms = terms_for(load_edition("ed9"), reason="close_contact", start_date=EXPOSURE)
    assert (terms.quarantine_end, terms.monitoring_end) == (date(2021, 8, 8), date(2021, 8, 11))
    assert not terms.release_needs_two_reagents
    assert [(t.phase, t.day_number) for t in terms_tests(terms)] == [
        (PHASE_QUARANTINE, 1),
        (PHASE_QUARANTINE, 2),
        (PHASE_QUARANTINE, 3),
        (PHASE_QUARANTINE, 5),
        (PHASE_QUARANTINE, 7),
        (PHASE_MONITORING, 10),  # home-monitoring day 3
    ]


def test_secondary_contacts_follow_the_editions_setting() -> None:
    ed8 = terms_for(load_edition("ed8"), reason="secondary_contact", start_date=EXPOSURE)
    ed9 = terms_for(load_edition("ed9"), reason="secondary_contact", start_date=EXPOSURE)
    assert (ed8.setting, ed9.setting) == (CENTRALIZED, HOME)
    assert ed8.quarantine_days == ed9.quarantine_days == 7
    assert ed8.monitoring_end == ed8.quarantine_end  # no health monitoring after it
    assert [t.day_number for t in terms_tests(ed9)] == [1, 4, 7]


def test_arrivals_use_the_risk_area_days_and_the_close_contact_test_days_inside_them() -> None:
    ed9 = terms_for(load_edition("ed9"), reason="arrival", start_date=EXPOSURE)
    assert ed9.quarantine_days == load_edition("ed9").risk_area_arrivals.high_risk_days
    assert all(day <= ed9.quarantine_days for day in ed9.test_days)


def test_a_local_override_changes_the_terms() -> None:
    local = with_overrides(load_edition("ed8"), {"close_contact.centralized_days": 21})
    assert terms_for(local, reason="close_contact", start_date=EXPOSURE).quarantine_end == date(2021, 8, 22)


def test_unknown_reason_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown quarantine reason"):
        terms_for(load_edition("ed8"), reason="companion", start_date=EXPOSURE)


def test_fever_threshold_comes_from_the_edition() -> None:
    edition = load_edition("ed8")
    assert is_fever(37.3, edition) and not is_fever(37.2, edition)
    stricter = with_overrides(edition, {"quarantine_monitoring.fever_threshold_celsius": 37.0})
    assert is_fever(37.1, stricter)


@given(
    edition_id=st.sampled_from(["ed8", "ed9", "ed9+20"]),
    reason=st.sampled_from(["close_contact", "secondary_contact", "arrival"]),
    offset=st.integers(min_value=0, max_value=600),
)
def test_every_test_falls_inside_its_phase(edition_id: str, reason: str, offset: int) -> None:
    start = date(2021, 5, 11) + timedelta(days=offset)
    terms = terms_for(load_edition(edition_id), reason=reason, start_date=start)
    for test in terms_tests(terms):
        assert quarantine_day(start, test.due_on) == test.day_number
        if test.phase == PHASE_QUARANTINE:
            assert start < test.due_on <= terms.quarantine_end
        else:
            assert terms.quarantine_end < test.due_on <= terms.monitoring_end
