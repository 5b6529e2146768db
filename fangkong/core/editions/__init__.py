"""Policy editions: the national protocol's durations, test days and thresholds, as data.

Each edition is a TOML file beside this module (`ed8.toml`, `ed9.toml`, `ed9_20.toml`) transcribed from
shared/domain/protocols.md, with a source tag ([V] verified quote / [C] commonly cited) on every value. Code
never writes "14 days" or "48 hours": it asks the edition in force, so a new edition or a local tightening is
a data change, and the same rules drive the platform and the simulator. Loading builds frozen dataclasses and
checks every key and type, so a typo in a file or an override fails loudly instead of falling back silently.

Units are in the field names (`centralized_days`, `pooled_turnaround_hours`, `cell_size_metres`).

Counting days — the one convention, computed only by `quarantine_day()`:
    The protocols run the quarantine clock "from last exposure". The date of last exposure is day 0 and each
    calendar day after it adds one, so day 1 is the day after the exposure and "14 days centralized" ends on
    day 14 (exposure on 1 Aug → day 14 is 15 Aug). Test days ("days 1, 4, 7, 14") are on this same clock, and
    home health monitoring continues it: with 14 centralized days, home-monitoring day 2 is quarantine day 16.
    Someone found late keeps the clock of their exposure, not of their placement: a contact placed three days
    after exposure starts on day 3. Why day 0 and not day 1 for the exposure day: "N days from last exposure"
    then ends exactly N days later, `exposure + timedelta(days=N)`, with no off-by-one at any call site.

Editions overlap (ed9+20 amends ed9 from 2022-11-11): `edition_in_force()` picks the one that started latest.
No Django here: the simulator loads editions too.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

# ---------------------------------------------------------------------------------------------- errors


class EditionErrorCode(StrEnum):
    UNKNOWN_EDITION = "unknown_edition"
    NOT_IN_FORCE = "not_in_force"
    UNKNOWN_KEY = "unknown_key"
    MISSING_KEY = "missing_key"
    WRONG_TYPE = "wrong_type"
    INVALID_VALUE = "invalid_value"
    NOT_OVERRIDABLE = "not_overridable"


EDITION_MESSAGES: dict[EditionErrorCode, str] = {
    EditionErrorCode.UNKNOWN_EDITION: "no such policy edition",
    EditionErrorCode.NOT_IN_FORCE: "no policy edition was in force on this date",
    EditionErrorCode.UNKNOWN_KEY: "a policy edition has no such setting",
    EditionErrorCode.MISSING_KEY: "a policy edition setting is missing",
    EditionErrorCode.WRONG_TYPE: "a policy edition setting has the wrong type",
    EditionErrorCode.INVALID_VALUE: "a policy edition setting has an impossible value",
    EditionErrorCode.NOT_OVERRIDABLE: "an edition's name and dates cannot be overridden locally",
}


class EditionError(ValueError):
    """`code` says what is wrong, `detail` names the setting (e.g. 'close_contact.centralized_days')."""

    def __init__(self, code: EditionErrorCode, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        self.message = EDITION_MESSAGES[code]
        super().__init__(f"{self.message}: {detail}" if detail else self.message)


# ------------------------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class CloseContactRules:
    lookback_days: int  # before onset or the positive sample
    situations: tuple[str, ...]
    range_may_widen_in_crowded_venues: bool
    quarantine_clock: str  # "last_exposure"
    centralized_days: int
    home_monitoring_days: int
    centralized_test_days: tuple[int, ...]  # quarantine days (see module docstring)
    home_monitoring_test_days: tuple[int, ...]  # days of the home-monitoring phase, 1 = its first day
    centralized_swab: str
    home_monitoring_swab: str
    release_needs_two_reagents: bool
    point_to_point_transfer_home: bool


@dataclass(frozen=True)
class SecondaryContactRules:
    identified: bool
    derivation_depth: int  # 2: contacts of close contacts are listed; 1: only close contacts
    scope: str
    situations: tuple[str, ...]
    setting: str  # "centralized" | "home" | "none"
    quarantine_days: int
    test_days: tuple[int, ...]
    release_needs_close_contact_negative_tests: int
    becomes_close_contact_if_close_contact_positive: bool


@dataclass(frozen=True)
class InboundTravellerRules:
    centralized_days: int
    home_monitoring_days: int
    port_extra_home_monitoring_days: int


@dataclass(frozen=True)
class RiskAreaArrivalRules:
    lookback_days: int  # stayed in the area within this many days
    high_risk_setting: str  # "centralized" | "home"
    high_risk_days: int
    medium_risk_setting: str  # "centralized" | "home" | "none"
    medium_risk_days: int
    low_risk_tests: int
    low_risk_test_window_days: int
    certificate_accepted_instead: bool


@dataclass(frozen=True)
class CertificateRules:
    valid_hours: int
    local_options_hours: tuple[int, ...]
    applies_to: str


@dataclass(frozen=True)
class ZoneLiftingRules:
    high_case_free_days: int
    high_steps_down_to: str  # "medium" | "low"
    negative_round_day: int  # 0 = no fixed day
    negative_round_within_days: int  # 0 = no such window
    last_contact_past_exposure_days: int  # 0 = not required
    stepped_down_to_low_days: int  # after high → medium, days until → low; 0 = no intermediate step
    medium_case_free_days: int  # 0 = no medium level


@dataclass(frozen=True)
class RiskZoneRules:
    levels: tuple[str, ...]
    local_zone_names: tuple[str, ...]
    high_unit: str
    medium_abolished: bool
    cumulative_case_threshold: int  # 0 = not used
    case_window_days: int
    lifting: ZoneLiftingRules


@dataclass(frozen=True)
class HighRiskPostRules:
    categories: tuple[str, ...]
    closed_loop: bool
    on_duty_test_interval_days: int
    after_post_setting: str
    after_post_days: int
    after_post_home_monitoring_days: int
    after_post_test_days: tuple[int, ...]


@dataclass(frozen=True)
class TestingRules:
    pool_sizes_allowed: tuple[int, ...]
    default_pool_size: int
    lab_repooling_allowed: bool
    pool_size_sealed_area: int
    pool_size_lockdown_zone: int
    pooled_turnaround_hours: int
    single_turnaround_hours: int
    fever_clinic_turnaround_hours: int
    inpatient_turnaround_hours: int
    city_round_under_5m_hours: int
    city_round_over_5m_hours: int
    follow_up_round_interval_days: tuple[int, ...]
    people_per_sampling_point_min: int
    people_per_sampling_point_max: int
    people_per_sampler_per_day: int
    people_per_desk_min: int
    people_per_desk_max: int

    __test__ = False  # not a pytest test class despite the name


@dataclass(frozen=True)
class ScreeningRules:
    locate_within_hours: int
    test_within_hours: int
    task_list_interval_minutes: int
    dispatch_within_minutes: int
    activity_radius_within_hours: int
    trajectory_within_hours: int


@dataclass(frozen=True)
class InvestigationRules:
    """Taizhou's "1357" clocks, hours from the report of a case."""

    trajectory_hours: int
    review_hours: int
    zoning_proposal_hours: int
    contact_lists_hours: int


@dataclass(frozen=True)
class CompanionRules:
    cell_size_metres: int
    min_overlap_minutes: int
    lookback_days: int
    dwell_hours: int
    follow_up_tests: int
    follow_up_window_days: int
    follow_up_min_gap_hours: int


@dataclass(frozen=True)
class VenueRules:
    capacity_cap_percent: int
    local_capacity_cap_percents: tuple[int, ...]


@dataclass(frozen=True)
class QuarantineSiteRules:
    rooms_per_10k_residents: int
    hospital_supply_days: int


@dataclass(frozen=True)
class QuarantineMonitoringRules:
    """Temperature and symptom checks of people in quarantine or home health monitoring."""

    check_in_times: tuple[str, ...]  # local "HH:MM", one reading each (morning, afternoon)
    fever_threshold_celsius: float  # a reading at or above it is a fever
    report_within_minutes: int  # after a check-in time; later counts as not reporting


@dataclass(frozen=True)
class PolicyEdition:
    id: str
    name: str
    name_zh: str
    in_force_from: date
    in_force_until: date  # inclusive
    close_contact: CloseContactRules
    secondary_contact: SecondaryContactRules
    inbound: InboundTravellerRules
    risk_area_arrivals: RiskAreaArrivalRules
    certificate: CertificateRules
    risk_zones: RiskZoneRules
    high_risk_posts: HighRiskPostRules
    testing: TestingRules
    screening: ScreeningRules
    investigation: InvestigationRules
    companion: CompanionRules
    venues: VenueRules
    quarantine_sites: QuarantineSiteRules
    quarantine_monitoring: QuarantineMonitoringRules
    # Dotted names of the settings changed by with_overrides(), for display and audit; empty for a national one.
    overridden: tuple[str, ...] = ()

    def is_in_force(self, on: date) -> bool:
        return self.in_force_from <= on <= self.in_force_until


_METADATA = frozenset({"id", "name", "name_zh", "in_force_from", "in_force_until", "overridden"})
_FILES = {"ed8": "ed8.toml", "ed9": "ed9.toml", "ed9+20": "ed9_20.toml"}

# ----------------------------------------------------------------------------------- building and checks


def _type_name(kind: Any) -> str:
    return getattr(kind, "__name__", str(kind))


def _convert(value: Any, kind: Any, where: str) -> Any:
    """Check one TOML value against a field's type; lists become tuples. bool is never accepted as int."""
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        if not isinstance(value, Mapping):
            raise EditionError(EditionErrorCode.WRONG_TYPE, f"{where} must be a table")
        return _build(kind, value, where + ".")
    if typing.get_origin(kind) is tuple:
        item_kind = typing.get_args(kind)[0]
        if not isinstance(value, list | tuple):
            raise EditionError(EditionErrorCode.WRONG_TYPE, f"{where} must be a list of {_type_name(item_kind)}")
        return tuple(_convert(item, item_kind, f"{where}[{index}]") for index, item in enumerate(value))
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is date:
        ok = isinstance(value, date)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise EditionError(EditionErrorCode.WRONG_TYPE, f"{where} must be {_type_name(kind)}, not {value!r}")
    return value


def _build(cls: type[Any], table: Mapping[str, Any], prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise EditionError(EditionErrorCode.UNKNOWN_KEY, ", ".join(prefix + key for key in unknown))
    values: dict[str, Any] = {}
    for name, field in fields.items():
        where = prefix + name
        if name not in table:
            if field.default is not dataclasses.MISSING:
                continue
            raise EditionError(EditionErrorCode.MISSING_KEY, where)
        values[name] = _convert(table[name], hints[name], where)
    return cls(**values)


def _check_values(edition: PolicyEdition) -> None:
    """Invariants no edition may break: durations not negative, test days inside their phase, pools allowed."""

    def fail(detail: str) -> typing.NoReturn:
        raise EditionError(EditionErrorCode.INVALID_VALUE, detail)

    def walk(obj: Any, prefix: str) -> None:
        for field in dataclasses.fields(obj):
            value = getattr(obj, field.name)
            where = prefix + field.name
            if dataclasses.is_dataclass(value):
                walk(value, where + ".")
            elif isinstance(value, int) and not isinstance(value, bool) and value < 0:
                fail(f"{where} = {value} is negative")
            elif isinstance(value, tuple) and any(isinstance(v, int) and v < 0 for v in value):
                fail(f"{where} has a negative number")

    walk(edition, "")
    if edition.in_force_until < edition.in_force_from:
        fail("in_force_until is before in_force_from")
    phases = (
        (
            "close_contact.centralized_test_days",
            edition.close_contact.centralized_test_days,
            edition.close_contact.centralized_days,
        ),
        (
            "close_contact.home_monitoring_test_days",
            edition.close_contact.home_monitoring_test_days,
            edition.close_contact.home_monitoring_days,
        ),
        ("secondary_contact.test_days", edition.secondary_contact.test_days, edition.secondary_contact.quarantine_days),
        (
            "high_risk_posts.after_post_test_days",
            edition.high_risk_posts.after_post_test_days,
            edition.high_risk_posts.after_post_days,
        ),
    )
    for where, days, length in phases:
        if any(not 1 <= day <= length for day in days):
            fail(f"{where} {list(days)} must lie within days 1..{length}")
        if list(days) != sorted(set(days)):
            fail(f"{where} {list(days)} must be increasing without repeats")
    testing = edition.testing
    if not testing.pool_sizes_allowed or any(size < 1 for size in testing.pool_sizes_allowed):
        fail("testing.pool_sizes_allowed must list sizes of at least 1")
    for name in ("default_pool_size", "pool_size_sealed_area", "pool_size_lockdown_zone"):
        if getattr(testing, name) not in testing.pool_sizes_allowed:
            fail(f"testing.{name} = {getattr(testing, name)} is not in pool_sizes_allowed")
    if edition.secondary_contact.identified != (edition.secondary_contact.derivation_depth >= 2):
        fail("secondary_contact.derivation_depth must be 2 or more exactly when secondary contacts are identified")
    if edition.certificate.valid_hours < 1:
        fail("certificate.valid_hours must be at least 1")
    if not 0 < edition.venues.capacity_cap_percent <= 100:
        fail("venues.capacity_cap_percent must be within 1..100")
    monitoring = edition.quarantine_monitoring
    times = monitoring.check_in_times
    if not times or any(len(t) != 5 or t[2] != ":" or not (t[:2] + t[3:]).isdigit() for t in times):
        fail("quarantine_monitoring.check_in_times must list times as HH:MM")
    if any(int(t[:2]) > 23 or int(t[3:]) > 59 for t in times) or list(times) != sorted(set(times)):
        fail("quarantine_monitoring.check_in_times must be valid times, increasing without repeats")
    if not 35.0 <= monitoring.fever_threshold_celsius <= 40.0:
        fail("quarantine_monitoring.fever_threshold_celsius must be within 35..40")


def _from_table(table: Mapping[str, Any]) -> PolicyEdition:
    edition: PolicyEdition = _build(PolicyEdition, table)
    _check_values(edition)
    return edition


# ------------------------------------------------------------------------------------------ public API


def available_editions() -> tuple[str, ...]:
    """The edition ids, oldest first: ('ed8', 'ed9', 'ed9+20')."""
    return tuple(_FILES)


def load_edition(edition_id: str) -> PolicyEdition:
    """The national edition `edition_id` ('ed8', 'ed9', 'ed9+20'; 'ed9_20' is accepted for the last).

    Loaded once per process and shared: editions are frozen.
    """
    key = edition_id.strip().replace("_", "+")
    if key not in _FILES:
        raise EditionError(EditionErrorCode.UNKNOWN_EDITION, edition_id)
    return _load(key)


@cache
def _load(key: str) -> PolicyEdition:
    text = resources.files(__package__).joinpath(_FILES[key]).read_text(encoding="utf-8")
    edition = _from_table(tomllib.loads(text))
    if edition.id != key:
        raise EditionError(EditionErrorCode.INVALID_VALUE, f"{_FILES[key]} declares id {edition.id!r}")
    return edition


def edition_in_force(on: date) -> PolicyEdition:
    """The national edition in force on a date; where two overlap, the one that started later (an amendment)."""
    candidates = [edition for edition in map(load_edition, _FILES) if edition.is_in_force(on)]
    if not candidates:
        raise EditionError(EditionErrorCode.NOT_IN_FORCE, on.isoformat())
    return max(candidates, key=lambda edition: edition.in_force_from)


def _flatten(overrides: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in overrides.items():
        if not isinstance(key, str):
            raise EditionError(EditionErrorCode.UNKNOWN_KEY, repr(key))
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


def _as_table(obj: Any) -> dict[str, Any]:
    return {
        field.name: _as_table(getattr(obj, field.name))
        if dataclasses.is_dataclass(getattr(obj, field.name))
        else getattr(obj, field.name)
        for field in dataclasses.fields(obj)
    }


def with_overrides(edition: PolicyEdition, overrides: Mapping[str, Any]) -> PolicyEdition:
    """A local edition: `edition` with some settings changed, checked like a file.

    `overrides` is nested (`{"close_contact": {"centralized_days": 21}}`) or dotted
    (`{"close_contact.centralized_days": 21}`). Unknown settings, wrong types and impossible values raise
    EditionError naming the setting; the id, names and dates cannot be overridden. The result lists the
    changed settings in `overridden` (accumulating over repeated calls).
    """
    table = _as_table(edition)
    changed: list[str] = []
    for dotted, value in _flatten(overrides).items():
        *sections, name = dotted.split(".")
        if not sections and name in _METADATA:
            raise EditionError(EditionErrorCode.NOT_OVERRIDABLE, dotted)
        target: Any = table
        for section in sections:
            if not isinstance(target, dict) or not isinstance(target.get(section), dict):
                raise EditionError(EditionErrorCode.UNKNOWN_KEY, dotted)
            target = target[section]
        if name not in target:
            raise EditionError(EditionErrorCode.UNKNOWN_KEY, dotted)
        if isinstance(target[name], dict):
            raise EditionError(EditionErrorCode.WRONG_TYPE, f"{dotted} is a section; override its settings")
        target[name] = value
        changed.append(dotted)
    table["overridden"] = tuple(dict.fromkeys((*edition.overridden, *changed)))
    return _from_table(table)


# ------------------------------------------------------------------------------------------- day counting


def quarantine_day(start: date, on: date) -> int:
    """The quarantine day number of `on` for a clock started on `start` (the date of last exposure = day 0).

    The one place this is computed; see the module docstring for why the exposure day is day 0.
    """
    return (on - start).days


def quarantine_date(start: date, day: int) -> date:
    """The calendar date of quarantine day `day` (inverse of `quarantine_day`)."""
    return start + timedelta(days=day)


def home_monitoring_day(start: date, on: date, *, centralized_days: int) -> int:
    """Day of the home-monitoring phase that follows `centralized_days` on the same clock (1 = its first day)."""
    return quarantine_day(start, on) - centralized_days


__all__ = [
    "CertificateRules",
    "CloseContactRules",
    "CompanionRules",
    "EditionError",
    "EditionErrorCode",
    "HighRiskPostRules",
    "InboundTravellerRules",
    "InvestigationRules",
    "PolicyEdition",
    "QuarantineMonitoringRules",
    "QuarantineSiteRules",
    "RiskAreaArrivalRules",
    "RiskZoneRules",
    "ScreeningRules",
    "SecondaryContactRules",
    "TestingRules",
    "VenueRules",
    "ZoneLiftingRules",
    "available_editions",
    "edition_in_force",
    "home_monitoring_day",
    "load_edition",
    "quarantine_date",
    "quarantine_day",
    "with_overrides",
]
