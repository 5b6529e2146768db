from __future__ import annotations

import dataclasses
import tomllib
import typing
from datetime import date, timedelta
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core import editions
from fangkong.core.editions import (
    EditionError,
    EditionErrorCode,
    PolicyEdition,
    available_editions,
    edition_in_force,
    home_monitoring_day,
    load_edition,
    quarantine_date,
    quarantine_day,
    with_overrides,
)


def error_of(call: Any, *args: Any) -> EditionError:
    with pytest.raises(EditionError) as caught:
        call(*args)
    return caught.value


# --- the national editions as transcribed ------------------------------------------------------------


def test_available_editions() -> None:
    assert available_editions() == ("ed8", "ed9", "ed9+20")
    assert [load_edition(e).id for e in available_editions()] == ["ed8", "ed9", "ed9+20"]
    assert load_edition("ed9_20") is load_edition("ed9+20")


def test_unknown_edition() -> None:
    assert error_of(load_edition, "ed7").code is EditionErrorCode.UNKNOWN_EDITION


def test_close_contact_rules_per_edition() -> None:
    ed8, ed9, ed920 = (load_edition(e).close_contact for e in available_editions())
    assert (ed8.lookback_days, ed9.lookback_days, ed920.lookback_days) == (2, 4, 4)
    assert (ed8.centralized_days, ed8.home_monitoring_days) == (14, 7)
    assert (ed9.centralized_days, ed9.home_monitoring_days) == (7, 3)
    assert (ed920.centralized_days, ed920.home_monitoring_days) == (5, 3)
    assert ed8.centralized_test_days == (1, 4, 7, 14)
    assert ed8.home_monitoring_test_days == (2, 7)
    assert ed8.release_needs_two_reagents
    assert ed9.centralized_test_days == (1, 2, 3, 5, 7)
    assert ed9.home_monitoring_test_days == (3,)
    assert ed9.home_monitoring_swab == "oropharyngeal"
    assert ed9.point_to_point_transfer_home and not ed8.point_to_point_transfer_home
    assert {ed8.quarantine_clock, ed9.quarantine_clock, ed920.quarantine_clock} == {"last_exposure"}
    assert ed9.range_may_widen_in_crowded_venues and not ed8.range_may_widen_in_crowded_venues
    assert "same_vehicle_within_1m" in ed8.situations


def test_secondary_contacts() -> None:
    ed8, ed9, ed920 = (load_edition(e).secondary_contact for e in available_editions())
    assert (ed8.identified, ed8.derivation_depth, ed8.setting, ed8.quarantine_days) == (True, 2, "centralized", 7)
    assert ed8.test_days == (1, 4, 7)
    assert (ed9.identified, ed9.derivation_depth, ed9.setting, ed9.quarantine_days) == (True, 2, "home", 7)
    assert ed9.release_needs_close_contact_negative_tests == 2
    assert ed9.becomes_close_contact_if_close_contact_positive
    assert (ed920.identified, ed920.derivation_depth, ed920.quarantine_days, ed920.test_days) == (False, 1, 0, ())


def test_inbound_arrivals_and_certificates() -> None:
    ed8, ed9, ed920 = (load_edition(e) for e in available_editions())
    assert (ed8.inbound.centralized_days, ed8.inbound.home_monitoring_days) == (14, 7)
    assert ed8.inbound.port_extra_home_monitoring_days == 7
    assert (ed9.inbound.centralized_days, ed9.inbound.home_monitoring_days) == (7, 3)
    assert (ed920.inbound.centralized_days, ed920.inbound.home_monitoring_days) == (5, 3)
    a9 = ed9.risk_area_arrivals
    assert (a9.lookback_days, a9.high_risk_setting, a9.high_risk_days) == (7, "centralized", 7)
    assert (a9.medium_risk_setting, a9.medium_risk_days) == ("home", 7)
    assert (a9.low_risk_tests, a9.low_risk_test_window_days) == (2, 3)
    assert ed8.risk_area_arrivals.high_risk_days == 14 and ed8.risk_area_arrivals.certificate_accepted_instead
    assert ed920.risk_area_arrivals.medium_risk_days == 0
    assert {e.certificate.valid_hours for e in (ed8, ed9, ed920)} == {48}
    assert ed8.certificate.local_options_hours == (24, 48, 72, 168)


def test_risk_zones_and_lifting() -> None:
    ed8, ed9, ed920 = (load_edition(e).risk_zones for e in available_editions())
    assert ed8.local_zone_names == ("lockdown", "control", "prevention")
    assert ed9.levels == ("high", "medium", "low")
    assert ed920.levels == ("high", "low") and ed920.medium_abolished and ed920.high_unit == "building_or_unit"
    assert (ed8.lifting.high_case_free_days, ed8.lifting.last_contact_past_exposure_days) == (14, 14)
    assert ed8.lifting.negative_round_within_days == 2
    assert (ed9.lifting.high_case_free_days, ed9.lifting.high_steps_down_to) == (7, "medium")
    assert (ed9.lifting.negative_round_day, ed9.lifting.stepped_down_to_low_days) == (7, 3)
    assert ed9.lifting.medium_case_free_days == 7
    assert (ed920.lifting.high_case_free_days, ed920.lifting.high_steps_down_to) == (5, "low")
    assert (ed8.cumulative_case_threshold, ed8.case_window_days) == (50, 14)


def test_high_risk_posts() -> None:
    ed8, ed9, ed920 = (load_edition(e).high_risk_posts for e in available_editions())
    assert "fever_clinic" in ed9.categories and ed9.closed_loop and ed9.on_duty_test_interval_days == 1
    assert (ed8.after_post_days, ed8.after_post_home_monitoring_days) == (14, 7)
    assert (ed9.after_post_days, ed9.after_post_test_days) == (7, (1, 4, 7))
    assert (ed920.after_post_setting, ed920.after_post_days) == ("home_health_monitoring", 5)


@pytest.mark.parametrize("edition_id", ["ed8", "ed9", "ed9+20"])
def test_values_shared_by_all_editions(edition_id: str) -> None:
    edition = load_edition(edition_id)
    testing = edition.testing
    assert testing.pool_sizes_allowed == (1, 5, 10, 20)
    assert not testing.lab_repooling_allowed
    assert (testing.pooled_turnaround_hours, testing.single_turnaround_hours) == (24, 6)
    assert (testing.fever_clinic_turnaround_hours, testing.inpatient_turnaround_hours) == (6, 12)
    assert (edition.screening.locate_within_hours, edition.screening.test_within_hours) == (24, 48)
    clocks = edition.investigation
    hours = (clocks.trajectory_hours, clocks.review_hours, clocks.zoning_proposal_hours, clocks.contact_lists_hours)
    assert hours == (1, 3, 5, 7)
    companion = edition.companion
    assert (companion.cell_size_metres, companion.min_overlap_minutes) == (800, 10)
    assert (companion.lookback_days, companion.dwell_hours) == (14, 30)
    assert edition.venues.capacity_cap_percent == 75
    assert edition.quarantine_sites.rooms_per_10k_residents == 20


def test_city_round_hours() -> None:
    assert (
        load_edition("ed8").testing.city_round_under_5m_hours,
        load_edition("ed8").testing.city_round_over_5m_hours,
    ) == (
        48,
        72,
    )
    assert load_edition("ed9").testing.city_round_over_5m_hours == 24


@pytest.mark.parametrize("filename", ["ed8.toml", "ed9.toml", "ed9_20.toml"])
def test_every_value_in_the_files_carries_a_source_or_a_reason(filename: str) -> None:
    """Each line that sets a value says where it comes from ([V]/[C]), or why it is what it is (a comment)."""
    text = resources.files(editions).joinpath(filename).read_text(encoding="utf-8")
    tomllib.loads(text)
    untagged = []
    in_list = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if in_list:
            in_list = not stripped.startswith("]")
            continue
        if "=" not in stripped or stripped.startswith("#"):
            continue
        key = stripped.split("=", 1)[0].strip()
        if key in {"id", "name", "name_zh", "in_force_from"}:
            continue
        if stripped.endswith("[") or stripped.endswith("[  # [V]"):
            in_list = True
        if "#" not in stripped and not _section_has_source(text, number):
            untagged.append(f"{number}: {stripped}")
    assert untagged == []


def _section_has_source(text: str, line_number: int) -> bool:
    """A section whose header comment carries the source covers its lines (e.g. [investigation] # [V] 1357)."""
    lines = text.splitlines()[: line_number - 1]
    for line in reversed(lines):
        if line.startswith("["):
            return False
        if line.startswith("#") and ("[V" in line or "[C" in line):
            return True
    return False


# --- which edition is in force -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "edition_id"),
    [
        (date(2021, 5, 11), "ed8"),
        (date(2021, 8, 3), "ed8"),
        (date(2022, 6, 27), "ed8"),
        (date(2022, 6, 28), "ed9"),
        (date(2022, 11, 10), "ed9"),
        (date(2022, 11, 11), "ed9+20"),  # the amendment wins while both are in force
        (date(2023, 1, 7), "ed9+20"),
    ],
)
def test_edition_in_force(day: date, edition_id: str) -> None:
    assert edition_in_force(day).id == edition_id


@pytest.mark.parametrize("day", [date(2021, 5, 10), date(2023, 1, 8)])
def test_no_edition_in_force(day: date) -> None:
    assert error_of(edition_in_force, day).code is EditionErrorCode.NOT_IN_FORCE


@given(st.dates(min_value=date(2021, 5, 11), max_value=date(2023, 1, 7)))
def test_exactly_one_edition_wins_every_day_of_the_period(day: date) -> None:
    edition = edition_in_force(day)
    assert edition.is_in_force(day)
    later = [load_edition(e) for e in available_editions() if load_edition(e).is_in_force(day)]
    assert edition.in_force_from == max(e.in_force_from for e in later)


# --- local overrides ---------------------------------------------------------------------------------


def test_overrides_nested_and_dotted() -> None:
    ed9 = load_edition("ed9")
    local = with_overrides(
        ed9,
        {
            "close_contact": {"centralized_days": 14, "centralized_test_days": [1, 4, 7, 14]},
            "certificate.valid_hours": 24,
        },
    )
    assert local.close_contact.centralized_days == 14
    assert local.close_contact.centralized_test_days == (1, 4, 7, 14)
    assert local.certificate.valid_hours == 24
    assert local.overridden == (
        "close_contact.centralized_days",
        "close_contact.centralized_test_days",
        "certificate.valid_hours",
    )
    assert local.close_contact.home_monitoring_days == ed9.close_contact.home_monitoring_days
    assert ed9.close_contact.centralized_days == 7  # the national edition is untouched
    assert load_edition("ed9").overridden == ()
    again = with_overrides(local, {"venues.capacity_cap_percent": 50})
    assert again.overridden[-1] == "venues.capacity_cap_percent" and len(again.overridden) == 4


def test_editions_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        load_edition("ed8").close_contact.centralized_days = 21  # type: ignore[misc]


@pytest.mark.parametrize(
    ("overrides", "code", "detail"),
    [
        ({"close_contact": {"centralised_days": 14}}, EditionErrorCode.UNKNOWN_KEY, "close_contact.centralised_days"),
        ({"closecontact.centralized_days": 14}, EditionErrorCode.UNKNOWN_KEY, "closecontact.centralized_days"),
        ({"close_contact.centralized_days.x": 14}, EditionErrorCode.UNKNOWN_KEY, "close_contact.centralized_days.x"),
        ({"close_contact": 14}, EditionErrorCode.WRONG_TYPE, "close_contact"),
        ({"close_contact.centralized_days": "14"}, EditionErrorCode.WRONG_TYPE, "close_contact.centralized_days"),
        ({"close_contact.centralized_days": 14.0}, EditionErrorCode.WRONG_TYPE, "close_contact.centralized_days"),
        ({"close_contact.centralized_days": True}, EditionErrorCode.WRONG_TYPE, "close_contact.centralized_days"),
        ({"secondary_contact.identified": 1}, EditionErrorCode.WRONG_TYPE, "secondary_contact.identified"),
        ({"close_contact.centralized_test_days": 7}, EditionErrorCode.WRONG_TYPE, "centralized_test_days"),
        ({"close_contact.centralized_test_days": [1, "4"]}, EditionErrorCode.WRONG_TYPE, "centralized_test_days[1]"),
        ({"close_contact.centralized_days": -1}, EditionErrorCode.INVALID_VALUE, "close_contact.centralized_days"),
        ({"close_contact.centralized_days": 3}, EditionErrorCode.INVALID_VALUE, "centralized_test_days"),
        ({"close_contact.centralized_test_days": [1, 1, 3]}, EditionErrorCode.INVALID_VALUE, "without repeats"),
        ({"testing.default_pool_size": 30}, EditionErrorCode.INVALID_VALUE, "pool_sizes_allowed"),
        ({"venues.capacity_cap_percent": 120}, EditionErrorCode.INVALID_VALUE, "capacity_cap_percent"),
        ({"secondary_contact.derivation_depth": 1}, EditionErrorCode.INVALID_VALUE, "derivation_depth"),
        ({"id": "local"}, EditionErrorCode.NOT_OVERRIDABLE, "id"),
        ({"in_force_until": date(2030, 1, 1)}, EditionErrorCode.NOT_OVERRIDABLE, "in_force_until"),
    ],
)
def test_bad_overrides_are_refused_with_the_setting_named(
    overrides: dict[str, Any], code: EditionErrorCode, detail: str
) -> None:
    error = error_of(with_overrides, load_edition("ed9"), overrides)
    assert error.code is code
    assert detail in error.detail
    assert error.message and detail in str(error)


def test_a_broken_file_is_refused() -> None:
    table = tomllib.loads(resources.files(editions).joinpath("ed8.toml").read_text(encoding="utf-8"))
    del table["testing"]["pooled_turnaround_hours"]
    table["testing"]["pooled_turnaround_days"] = 1
    error = error_of(editions._from_table, table)
    assert error.code is EditionErrorCode.UNKNOWN_KEY and error.detail == "testing.pooled_turnaround_days"
    del table["testing"]["pooled_turnaround_days"]
    error = error_of(editions._from_table, table)
    assert error.code is EditionErrorCode.MISSING_KEY and error.detail == "testing.pooled_turnaround_hours"


def test_field_names_with_durations_carry_their_unit() -> None:
    units = (
        "_days",
        "_day",
        "_hours",
        "_minutes",
        "_metres",
        "_percent",
        "_percents",
        "_tests",
        "_depth",
        "_threshold",
    )

    def walk(cls: type, prefix: str) -> list[str]:
        names = []
        for name, kind in typing.get_type_hints(cls).items():
            if dataclasses.is_dataclass(kind):
                names += walk(kind, f"{prefix}{name}.")
            elif kind is int:
                names.append(prefix + name)
        return names

    ints = walk(PolicyEdition, "")
    counts = ("pool_size", "people_per", "rooms_per", "low_risk_tests", "follow_up_tests")
    assert len(ints) >= 50  # the walk really reaches the nested sections
    bare = [name for name in ints if not name.endswith(units) and not any(c in name for c in counts)]
    assert bare == []


# --- the day count -----------------------------------------------------------------------------------


def test_the_day_of_last_exposure_is_day_0() -> None:
    exposure = date(2021, 8, 1)
    assert quarantine_day(exposure, exposure) == 0
    assert quarantine_day(exposure, date(2021, 8, 2)) == 1
    assert quarantine_day(exposure, date(2021, 8, 15)) == 14  # ed8: the 14th centralized day
    assert quarantine_day(exposure, date(2021, 7, 31)) == -1
    assert quarantine_date(exposure, 14) == date(2021, 8, 15)
    # ed8: home-monitoring day 2 (a test day) follows 14 centralized days
    assert home_monitoring_day(exposure, date(2021, 8, 17), centralized_days=14) == 2


@given(st.dates(), st.integers(min_value=-400, max_value=400))
def test_quarantine_day_and_date_are_inverse(start: date, day: int) -> None:
    try:
        on = start + timedelta(days=day)
    except OverflowError:
        return
    assert quarantine_date(start, quarantine_day(start, on)) == on
    assert quarantine_day(start, quarantine_date(start, day)) == day


def test_simulator_can_read_test_days_as_tuples() -> None:
    ed8 = load_edition("ed8")
    assert isinstance(ed8.close_contact.centralized_test_days, tuple)
    assert hash(ed8)  # frozen and hashable: usable as a cache key
