"""Venues and check-ins through their services and selectors: venue codes, self check-in with a one-time code
(idempotent, errors write nothing), staff check-in and check-out, the overlap question, and a case's suggested
contacts from venue check-ins."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from fangkong.core.errors import DomainError, PermissionDeniedError
from fangkong.core.identity import check_character
from fangkong.core.models import AuditEntry
from fangkong.core.roles import Role
from fangkong.notify.otp import OtpError
from fangkong.people.models import Person
from fangkong.venues import selectors, services
from fangkong.venues.models import CheckIn, CheckInSource, Venue
from fangkong.venues.services import StaffCheckInInput, VenueInput, VisitorInput

CODE = re.compile(r"V[23456789A-HJ-NP-Z]{9}")


def resident_id(sequence: int = 123, born: str = "19900101", region: str = "410302") -> str:
    first17 = f"{region}{born}{sequence:03d}"
    return first17 + check_character(first17)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def hq(make_user):
    return make_user(Role.CITY_HQ, "city")


@pytest.fixture
def venue(tree, hq) -> Venue:
    return make_venue(tree, hq)


def make_venue(tree: Any, hq: Any) -> Venue:
    return services.register_venue(
        VenueInput(name="东街好又多超市", category="supermarket", division=tree["a"].path, address="东街 1 号"), by=hq
    )


def visitor(sequence: int = 123, phone: str = "13812345678", name: str = "王访客") -> VisitorInput:
    return VisitorInput(name=name, document_kind="resident_id", document_number=resident_id(sequence), phone=phone)


def last_code(settings: Any, phone: str = "13812345678") -> str:
    lines = [json.loads(line) for line in settings.SMS_FILE_PATH.read_text(encoding="utf-8").splitlines()]
    return re.search(r"\d{6}", [line for line in lines if line["phone"] == phone][-1]["text"]).group(0)


def at(hour: int, minute: int = 0, days_ago: int = 1) -> datetime:
    day = timezone.localtime() - timedelta(days=days_ago)
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


def staff_check_in(venue: Venue, by: Any, *, sequence: int, start: datetime, end: datetime | None = None) -> CheckIn:
    data = StaffCheckInInput(
        visitor=visitor(sequence, phone="", name=f"访客{sequence}"), checked_in_at=start, checked_out_at=end
    )
    return services.check_in_by_staff(venue, data, submission=f"form-{sequence}-{start.isoformat()}", by=by).check_in


# Venues -------------------------------------------------------------------------------------------------------


def test_a_venue_gets_a_code_and_its_category_s_assumed_stay(venue):
    assert CODE.fullmatch(venue.code)
    assert venue.dwell_minutes == 30  # a supermarket trip
    assert AuditEntry.objects.filter(action="venues.venue.create", target_id=str(venue.pk)).exists()


def test_the_assumed_stay_comes_from_settings_when_the_city_sets_it(tree, hq, settings):
    settings.VENUE_DWELL_MINUTES = {"ktv": 240}
    ktv = services.register_venue(VenueInput(name="金嗓子 KTV", category="ktv", division=tree["a"].path), by=hq)
    assert ktv.dwell_minutes == 240


def test_a_venue_outside_the_user_s_jurisdiction_is_refused_and_nothing_is_written(tree, make_user):
    worker = make_user(Role.COMMUNITY_WORKER, "a")
    before = (Venue.objects.count(), AuditEntry.objects.count())
    with pytest.raises(PermissionDeniedError):
        services.register_venue(VenueInput(name="西街饭店", category="restaurant", division=tree["b"].path), by=worker)
    assert (Venue.objects.count(), AuditEntry.objects.count()) == before


def test_roles_without_venue_capabilities_cannot_register(tree, make_user):
    with pytest.raises(PermissionDeniedError):
        services.register_venue(
            VenueInput(name="东街饭店", category="restaurant", division=tree["a"].path), by=make_user(Role.LAB, "a")
        )


def test_bad_venue_details_name_their_field(tree, hq):
    with pytest.raises(DomainError) as error:
        services.register_venue(VenueInput(name=" ", category="restaurant", division=tree["a"].path), by=hq)
    assert error.value.field == "name"
    with pytest.raises(DomainError) as error:
        services.register_venue(VenueInput(name="某店", category="casino", division=tree["a"].path), by=hq)
    assert error.value.field == "category"
    with pytest.raises(DomainError) as error:
        services.register_venue(VenueInput(name="某店", category="gym", division=tree["street"].path), by=hq)
    assert error.value.field == "division"


def test_editing_a_venue_keeps_its_code_and_is_audited(venue, hq, tree):
    code = venue.code
    data = VenueInput(name="东街超市", category="supermarket", division=tree["a"].path, dwell_minutes=45)
    services.update_venue(venue, data, is_active=False, by=hq)
    venue.refresh_from_db()
    assert (venue.code, venue.name, venue.dwell_minutes, venue.is_active) == (code, "东街超市", 45, False)
    audit = AuditEntry.objects.get(action="venues.venue.update")
    assert audit.changes["dwell_minutes"] == [30, 45] and audit.changes["is_active"] == [True, False]


# Self check-in ---------------------------------------------------------------------------------------------------


def test_a_self_check_in_verifies_the_phone_registers_the_visitor_and_is_idempotent(
    venue, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.request_check_in_code(venue, visitor(), ip_address="10.0.0.1")
    code = last_code(settings)
    first = services.submit_self_check_in(venue, visitor(), code=code, submission="tok-1", ip_address="10.0.0.1")
    again = services.submit_self_check_in(venue, visitor(), code=code, submission="tok-1", ip_address="10.0.0.1")
    assert first.created and not again.created and again.check_in.pk == first.check_in.pk
    check_in = first.check_in
    assert check_in.source == CheckInSource.SCAN and check_in.checked_out_at is None
    assert check_in.ends_at - check_in.checked_in_at == timedelta(minutes=venue.dwell_minutes)
    assert check_in.division_id == venue.division_id
    person = Person.objects.get(pk=check_in.person_id)
    assert person.primary_document_number == resident_id() and person.phone == "13812345678"
    assert person.home_division_id == venue.division_id  # first seen here
    assert first.receipt.phone == "138****5678" and resident_id() not in first.receipt.document_number
    assert CheckIn.objects.count() == 1


def test_a_wrong_code_writes_no_check_in(venue, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.request_check_in_code(venue, visitor(), ip_address=None)
    right = last_code(settings)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    people = Person.objects.count()
    with pytest.raises(OtpError):
        services.submit_self_check_in(venue, visitor(), code=wrong, submission="tok", ip_address=None)
    assert CheckIn.objects.count() == 0 and Person.objects.count() == people


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": ""}, "phone"),  # the code is sent to it
        ({"name": " "}, "name"),
        ({"document_number": "410302199001011234"}, "document_number"),  # the check character is wrong
    ],
)
def test_bad_details_name_their_field_and_send_no_code(venue, settings, changes, field):
    from dataclasses import replace

    from fangkong.notify.models import OneTimeCode

    with pytest.raises(DomainError) as error:
        services.request_check_in_code(venue, replace(visitor(), **changes), ip_address=None)
    assert error.value.field == field
    assert OneTimeCode.objects.count() == 0


def test_a_closed_venue_takes_no_check_ins(venue, hq, tree):
    services.update_venue(
        venue, VenueInput(name=venue.name, category=venue.category, division=tree["a"].path), is_active=False, by=hq
    )
    venue.refresh_from_db()
    with pytest.raises(DomainError) as error:
        services.request_check_in_code(venue, visitor(), ip_address=None)
    assert error.value.field == "venue"


def test_the_visitor_checks_out_with_the_signed_token_once(venue, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.request_check_in_code(venue, visitor(), ip_address=None)
    result = services.submit_self_check_in(
        venue, visitor(), code=last_code(settings), submission="tok", ip_address=None
    )
    token = services.checkout_token(result.check_in)
    leaving = result.check_in.checked_in_at + timedelta(minutes=12)
    done = services.check_out_with_token(venue, token, now=leaving)
    assert done.checked_out_at == leaving and done.ends_at == leaving
    later = services.check_out_with_token(venue, token, now=leaving + timedelta(hours=1))
    assert later.checked_out_at == leaving  # once
    with pytest.raises(DomainError):
        services.check_out_with_token(venue, token + "x")


# Staff check-in -------------------------------------------------------------------------------------------------


def test_staff_check_in_from_a_paper_register_with_times(venue, make_user):
    worker = make_user(Role.COMMUNITY_WORKER, "a")
    check_in = staff_check_in(venue, worker, sequence=7, start=at(10), end=at(10, 45))
    assert check_in.source == CheckInSource.STAFF and check_in.ends_at == at(10, 45)
    assert check_in.recorded_by == worker
    again = staff_check_in(venue, worker, sequence=7, start=at(10), end=at(10, 45))
    assert again.pk == check_in.pk and CheckIn.objects.count() == 1


def test_staff_check_in_refuses_a_check_out_before_the_check_in_and_other_jurisdictions(venue, make_user, tree):
    worker = make_user(Role.COMMUNITY_WORKER, "a")
    with pytest.raises(DomainError) as error:
        staff_check_in(venue, worker, sequence=8, start=at(10), end=at(9))
    assert error.value.field == "checked_out_at"
    with pytest.raises(PermissionDeniedError):
        staff_check_in(venue, make_user(Role.COMMUNITY_WORKER, "b"), sequence=8, start=at(10))
    assert CheckIn.objects.count() == 0


# The overlap question and the case's suggestions ------------------------------------------------------------------


@pytest.fixture
def outbreak(tree, hq, venue, register):
    return build_outbreak(tree, hq, venue, register)


def build_outbreak(tree: Any, hq: Any, venue: Venue, register: Any) -> dict[str, Person]:
    """A case at the supermarket 10:00–11:00 yesterday; a co-visitor 10:30–(assumed 30 min) 11:00; a visitor
    who came at 11:30; someone at another venue at the same time."""
    other_venue = services.register_venue(
        VenueInput(name="西街饭店", category="restaurant", division=tree["b"].path), by=hq
    )
    case_person = register("a", name="病例甲", document_number=resident_id(1), phone="13800000001")
    services._record(
        venue,
        person=case_person,
        checked_in_at=at(10),
        checked_out_at=at(11),
        source=CheckInSource.STAFF,
        reference="case",
        by=hq,
    )
    co_visitor = staff_check_in(venue, hq, sequence=2, start=at(10, 30))
    later = staff_check_in(venue, hq, sequence=3, start=at(11, 30))
    elsewhere = staff_check_in(other_venue, hq, sequence=4, start=at(10, 15), end=at(11, 15))
    return {
        "case_person": case_person,
        "co_visitor": co_visitor.person,
        "later": later.person,
        "elsewhere": elsewhere.person,
    }


def test_overlaps_are_exact_per_venue_and_window(outbreak, venue):
    overlaps = selectors.venue_overlaps(outbreak["case_person"].pk, start=at(0), end=at(23, 59))
    assert [(o.person_id, o.venue_id, o.minutes) for o in overlaps] == [(outbreak["co_visitor"].pk, venue.pk, 30.0)]
    overlap = overlaps[0]
    assert (overlap.overlap_start, overlap.overlap_end) == (at(10, 30), at(11))
    assert overlap.other.is_end_assumed and not overlap.stay.is_end_assumed
    # Clipped to the window asked about: from 10:50 only 10 minutes are shared.
    clipped = selectors.venue_overlaps(outbreak["case_person"].pk, start=at(10, 50), end=at(23, 59))
    assert [o.minutes for o in clipped] == [10.0]
    assert selectors.venue_overlaps(outbreak["case_person"].pk, start=at(11, 1), end=at(23)) == []


def test_overlaps_agree_with_a_brute_force_reference(tree, hq, venue, register):
    """Random stays at two venues: the selector's pairs are exactly the brute-force overlapping pairs."""
    import random

    rng = random.Random(7)
    second = services.register_venue(VenueInput(name="影城", category="cinema", division=tree["a"].path), by=hq)
    person = register("a", name="病例乙", document_number=resident_id(900), phone="13800000009")
    rows = []
    for index in range(60):
        place = rng.choice([venue, second])
        start = at(8) + timedelta(minutes=rng.randrange(0, 600))
        end = start + timedelta(minutes=rng.randrange(1, 120)) if rng.random() < 0.5 else None
        owner = person if index % 6 == 0 else None
        if owner is None:
            rows.append(staff_check_in(place, hq, sequence=100 + index, start=start, end=end))
        else:
            rows.append(
                services._record(
                    place,
                    person=person,
                    checked_in_at=start,
                    checked_out_at=end,
                    source=CheckInSource.STAFF,
                    reference=f"p{index}",
                    by=hq,
                )[0]
            )
    window = (at(9), at(17))
    mine = [c for c in rows if c.person_id == person.pk]
    expected = set()
    for own in mine:
        lo, hi = max(own.checked_in_at, window[0]), min(own.ends_at, window[1])
        for other in rows:
            if other.person_id != person.pk and other.venue_id == own.venue_id:
                start, end = max(lo, other.checked_in_at), min(hi, other.ends_at)
                if start < end:
                    expected.add((own.pk, other.pk, (end - start).total_seconds() / 60))
    found = {
        (o.stay.check_in_id, o.other.check_in_id, o.minutes)
        for o in selectors.venue_overlaps(person.pk, start=window[0], end=window[1])
    }
    assert found == expected and expected


def test_check_ins_under_a_merged_record_count_for_the_survivor(outbreak, venue, hq):
    from fangkong.people.models import MergeCandidate
    from fangkong.people.services import confirm_merge

    co_visitor = outbreak["co_visitor"]
    duplicate = Person.objects.create(
        name=co_visitor.name, phone="13911112222", phone_tail="2222", home_division_id=venue.division_id
    )
    CheckIn.objects.filter(person=co_visitor).update(person=duplicate)
    candidate = MergeCandidate.objects.create(person=duplicate, other=co_visitor, reason="test")
    confirm_merge(candidate, by=hq)  # the newer record (the duplicate) merges into the older one
    found = selectors.co_visitors(outbreak["case_person"].pk, start=at(0), end=at(23))
    assert [v.person_id for v in found] == [co_visitor.pk]


def test_a_case_s_visits_show_how_many_were_there_at_the_same_time(outbreak, venue):
    visits = selectors.visits_of(outbreak["case_person"].pk, start=at(0), end=at(23))
    assert [(v.venue_code, v.co_visitors) for v in visits] == [(venue.code, 1)]


def test_minutes_together_count_each_minute_once(outbreak, venue, hq):
    """The case scanned twice (10:00 and 10:20, both until 11:00): the co-visitor still shared 30 minutes."""
    services._record(
        venue,
        person=outbreak["case_person"],
        checked_in_at=at(10, 20),
        checked_out_at=at(11),
        source=CheckInSource.STAFF,
        reference="case-again",
        by=hq,
    )
    (found,) = selectors.co_visitors(outbreak["case_person"].pk, start=at(0), end=at(23))
    assert len(found.overlaps) == 2 and found.minutes == 30.0


def test_union_minutes_is_the_measure_of_the_union():
    base = at(8)
    spans = [(0, 10), (5, 20), (30, 40), (40, 45), (50, 50)]
    intervals = [(base + timedelta(minutes=a), base + timedelta(minutes=b)) for a, b in spans]
    assert selectors.union_minutes(intervals) == 35.0
    assert selectors.union_minutes([]) == 0.0


def test_the_engine_over_exported_parquet_agrees_with_the_database_query(tmp_path, tree, hq, venue, register):
    """The city-scale path (check-ins exported to Parquet, the engine's DuckDB query) and the platform's
    per-case database query give the same co-visitors and minutes on the same random check-ins."""
    import random

    from fangkong.engine.venues import CaseVisitWindow, find_venue_overlaps
    from fangkong.venues.exports import write_check_ins_parquet

    rng = random.Random(11)
    second = services.register_venue(VenueInput(name="网吧", category="internet_cafe", division=tree["a"].path), by=hq)
    people = [
        register("a", name=f"访客{i}", document_number=resident_id(300 + i), phone=f"1390000{i:04d}") for i in range(25)
    ]
    for index in range(150):
        start = at(8) + timedelta(minutes=rng.randrange(0, 12 * 60))
        end = start + timedelta(minutes=rng.randrange(1, 180)) if rng.random() < 0.6 else None
        services._record(
            rng.choice([venue, second]),
            person=rng.choice(people),
            checked_in_at=start,
            checked_out_at=end,
            source=CheckInSource.STAFF,
            reference=f"r{index}",
            by=hq,
        )
    path = tmp_path / "checkins.parquet"
    assert write_check_ins_parquet(path) == CheckIn.objects.count()
    window = (at(10), at(18))
    cases = [CaseVisitWindow(p.pk, *window) for p in people[:5]]
    engine = {
        (row["case_person_id"], row["person_id"]): round(row["overlap_minutes"], 6)
        for row in find_venue_overlaps(path, cases).co_visitors.to_pylist()
    }
    database = {
        (p.pk, visitor.person_id): round(visitor.minutes, 6)
        for p in people[:5]
        for visitor in selectors.co_visitors(p.pk, start=window[0], end=window[1])
    }
    assert engine == database and engine
