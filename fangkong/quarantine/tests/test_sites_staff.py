"""Sites (status rules, checklist, rooms floor by floor) and staff in a closed loop, through the services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core.errors import PermissionDeniedError
from fangkong.core.models import User
from fangkong.core.roles import Role
from fangkong.quarantine.models import Reading, Room, SiteStatus, StaffCheck
from fangkong.quarantine.services.common import QuarantineError, QuarantineErrorCode, checked_temperature
from fangkong.quarantine.services.placement import place_contacts
from fangkong.quarantine.services.sites import (
    RoomLayout,
    create_rooms,
    create_site,
    set_checklist_item,
    set_room_status,
    set_site_status,
)
from fangkong.quarantine.services.staff import add_staff_member, record_left_loop, record_staff_check, start_roster
from fangkong.quarantine.tests.test_placement import contact, ready_site


@pytest.fixture
def hq(tree):
    return User.objects.create_user(username="hq", role=Role.CITY_HQ, division=tree["city"])


def test_a_site_is_ready_only_with_its_zones_recorded_and_its_checklist_complete(tree, hq):
    site = create_site(division=tree["county"], name="宾馆", by=hq)
    assert site.status == SiteStatus.STANDBY and site.checklist.count() == 9
    with pytest.raises(QuarantineError) as refused:
        set_site_status(site, status=SiteStatus.READY, by=hq)
    assert refused.value.code == QuarantineErrorCode.SITE_NOT_READY and len(refused.value.details) == 9
    for item in site.checklist.all():
        set_checklist_item(item, is_done=True, by=hq)
    with pytest.raises(QuarantineError):
        set_site_status(site, status=SiteStatus.READY, by=hq)  # zones still not recorded
    with pytest.raises(QuarantineError) as skipped:
        set_site_status(site, status=SiteStatus.ACTIVE, by=hq)
    assert skipped.value.code == QuarantineErrorCode.INVALID_STATUS_CHANGE


def test_a_site_with_people_in_it_neither_closes_nor_goes_on_standby(tree, hq, register):
    site = ready_site(hq, tree["county"], rooms=1)
    place_contacts([contact(register)], by=hq)
    site.refresh_from_db()
    assert site.status == SiteStatus.ACTIVE
    with pytest.raises(QuarantineError) as refused:
        set_site_status(site, status=SiteStatus.CLOSED, by=hq)
    assert refused.value.code == QuarantineErrorCode.SITE_OCCUPIED
    set_site_status(site, status=SiteStatus.READY, by=hq)  # allowed; its residents stay
    with pytest.raises(QuarantineError) as standby:
        set_site_status(site, status=SiteStatus.STANDBY, by=hq)
    assert standby.value.code == QuarantineErrorCode.SITE_OCCUPIED


def test_rooms_are_created_floor_by_floor_and_a_taken_number_refuses_the_whole_layout(tree, hq):
    site = create_site(division=tree["county"], name="宿舍", by=hq)
    assert create_rooms(site, layout=RoomLayout("A", 2, 11, 20), by=hq) == 200
    assert Room.objects.filter(site=site, floor__number=11, number="1120").exists()
    with pytest.raises(QuarantineError) as refused:
        create_rooms(site, layout=RoomLayout("A", 11, 12, 25), by=hq)
    assert refused.value.code == QuarantineErrorCode.ROOM_NUMBER_TAKEN
    assert Room.objects.filter(site=site).count() == 200
    with pytest.raises(QuarantineError):
        create_rooms(site, layout=RoomLayout("B", 2, 2, 5, room_type="single", beds=2), by=hq)
    assert create_rooms(site, layout=RoomLayout("B", 1, 1, 120), by=hq) == 120
    assert Room.objects.filter(site=site, floor__building__name="B", number="1120").exists()  # three digits


def test_managing_sites_needs_the_capability_and_the_jurisdiction(tree, hq, make_user):
    with pytest.raises(PermissionDeniedError):
        create_site(division=tree["county"], name="越权", by=make_user(Role.COMMUNITY_WORKER, "a"))
    with pytest.raises(PermissionDeniedError):
        create_site(division=tree["county"], name="越界", by=make_user(Role.COUNTY_HQ, "county2"))


def test_an_occupied_room_cannot_be_set_free_by_hand(tree, hq, register):
    ready_site(hq, tree["county"], rooms=1)
    [placement] = place_contacts([contact(register)], by=hq).placed
    room = Room.objects.get(pk=placement.room_id)
    with pytest.raises(QuarantineError) as refused:
        set_room_status(room, status="available", by=hq)
    assert refused.value.code == QuarantineErrorCode.ROOM_TAKEN
    with pytest.raises(QuarantineError):
        set_room_status(room, status="occupied", by=hq)


@given(st.decimals(min_value=Decimal("-100"), max_value=Decimal("200"), places=1))
def test_temperatures_outside_the_plausible_range_are_refused(value):
    if Decimal("34.0") <= value <= Decimal("43.0"):
        assert checked_temperature(value) == value
    else:
        with pytest.raises(QuarantineError) as refused:
            checked_temperature(value)
        assert refused.value.code == QuarantineErrorCode.TEMPERATURE_IMPLAUSIBLE


def test_sixty_degrees_is_refused_clearly_and_by_the_database(tree, hq, register):
    with pytest.raises(QuarantineError) as refused:
        checked_temperature("60")
    assert "60" in str(refused.value.message) and "43" in str(refused.value.message)
    ready_site(hq, tree["county"], rooms=1)
    [placement] = place_contacts([contact(register)], by=hq, arrived=True).placed
    with pytest.raises(IntegrityError), transaction.atomic():
        Reading.objects.create(
            placement=placement, on=timezone.localdate(), slot="morning", taken_at=timezone.now(), temperature=60
        )


def test_a_closed_loop_period_with_daily_checks_rest_and_an_early_departure(tree, hq):
    site = ready_site(hq, tree["county"], rooms=1)
    member = add_staff_member(site, name="保安甲", role="security", phone="13500000002", by=hq)
    today = timezone.localdate()
    roster = start_roster(member, loop_start=today - timedelta(days=3), loop_end=today + timedelta(days=11), by=hq)
    assert roster.rest_until == roster.loop_end + timedelta(days=14) and roster.edition_id == "ed8"
    with pytest.raises(QuarantineError):
        start_roster(member, loop_start=today, loop_end=today + timedelta(days=3), by=hq)  # overlaps
    record_staff_check(roster, on=today, kind="test", result="pending", by=hq)
    record_staff_check(roster, on=today, kind="test", result="negative", by=hq)  # corrects the same row
    assert StaffCheck.objects.get().result == "negative"
    with pytest.raises(QuarantineError) as outside:
        record_staff_check(roster, on=today + timedelta(days=20), kind="health", result="normal", by=hq)
    assert outside.value.code == QuarantineErrorCode.OUTSIDE_LOOP
    with pytest.raises(QuarantineError):
        record_staff_check(roster, on=today, kind="health", result="negative", by=hq)  # not a health result
    with pytest.raises(QuarantineError):
        record_left_loop(roster, by=hq)  # early: a reason is required
    roster = record_left_loop(roster, reason="家属生病", by=hq)
    assert roster.left_early and roster.rest_until == today + timedelta(days=14)
    with pytest.raises(QuarantineError):
        record_staff_check(roster, on=today + timedelta(days=1), kind="test", result="negative", by=hq)


def test_leaving_on_the_last_day_is_not_early(tree, hq):
    site = ready_site(hq, tree["county"], rooms=1)
    member = add_staff_member(site, name="保洁乙", role="cleaning", by=hq)
    today = timezone.localdate()
    roster = start_roster(member, loop_start=today - timedelta(days=13), loop_end=today, by=hq)
    roster = record_left_loop(roster, by=hq)
    assert not roster.left_early and roster.rest_until == today + timedelta(days=14)
