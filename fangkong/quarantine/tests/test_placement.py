"""Placement: people from the closed loop into rooms by policy, companions, the waitlist, pickup and arrival."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from fangkong.core.models import AuditEntry, Division, User
from fangkong.core.policy import set_active_edition
from fangkong.core.roles import Role
from fangkong.quarantine.models import (
    PickupStatus,
    Placement,
    PlacementKind,
    PlacementStatus,
    Room,
    RoomBooking,
    RoomStatus,
    RoomType,
    ScheduledTest,
    ShareReason,
    SiteStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from fangkong.quarantine.selectors import placement as selectors
from fangkong.quarantine.services import placement as services
from fangkong.quarantine.services.common import QuarantineError, QuarantineErrorCode
from fangkong.quarantine.services.placement import PlacementRequest
from fangkong.quarantine.services.sites import (
    RoomLayout,
    create_rooms,
    create_site,
    set_checklist_item,
    set_site_status,
)
from fangkong.screening.models import LoopState, PoolEntry
from fangkong.screening.services import list_person


@pytest.fixture
def hq(tree):
    return User.objects.create_user(username="hq", role=Role.CITY_HQ, division=tree["city"])


def ready_site(hq, division, name="一号隔离点", *, rooms=2, room_type=RoomType.SINGLE, beds=1, lat=None, lon=None):
    site = create_site(
        division=division,
        name=name,
        by=hq,
        lat=lat,
        lon=lon,
        clean_zone="1F",
        buffer_zone="1F 东",
        contaminated_zone="2F+",
        staff_passage="东梯",
        resident_passage="西梯",
    )
    for item in site.checklist.all():
        set_checklist_item(item, is_done=True, by=hq)
    create_rooms(
        site,
        layout=RoomLayout(
            building="A", first_floor=2, last_floor=2, rooms_per_floor=rooms, room_type=room_type, beds=beds
        ),
        by=hq,
    )
    return set_site_status(site, status=SiteStatus.READY, by=hq)


PHONES = iter(range(13800000000, 13900000000))


def contact(register, where="a", reason="close_contact", **fields):
    person = register(where, phone=str(next(PHONES)), **fields)
    return list_person(person, reason=reason, source="manual", by=None).entry


def test_a_close_contact_gets_a_room_with_the_editions_terms(tree, register, hq):
    site = ready_site(hq, tree["county"])
    entry = contact(register, name="李四")
    result = services.place_contacts([PlacementRequest(entry=entry, start_date=date(2021, 8, 1))], by=hq)
    [placement] = result.placed
    assert placement.kind == PlacementKind.CENTRAL and placement.site_id == site.pk
    assert placement.status == PlacementStatus.WAITING and placement.room is not None
    assert placement.edition_id == "ed8"
    assert placement.quarantine_end == date(2021, 8, 15)  # 14 days from the exposure (day 0)
    assert placement.monitoring_end == date(2021, 8, 22)  # then 7 days of home health monitoring
    assert placement.test_days == [1, 4, 7, 14] and placement.monitoring_test_days == [2, 7]
    assert list(ScheduledTest.objects.filter(placement=placement).values_list("day_number", flat=True)) == [
        1,
        4,
        7,
        14,
        16,
        21,
    ]
    assert Room.objects.get(pk=placement.room_id).status == RoomStatus.OCCUPIED
    site.refresh_from_db()
    assert site.status == SiteStatus.ACTIVE
    entry.refresh_from_db()
    assert entry.state == LoopState.LISTED  # in quarantine only once they arrive
    assert AuditEntry.objects.filter(action="quarantine.placement.place", target_id=str(placement.pk)).exists()


def test_placing_a_person_twice_is_refused(tree, register, hq):
    ready_site(hq, tree["county"])
    entry = contact(register)
    services.place_contacts([entry], by=hq)
    with pytest.raises(QuarantineError) as refused:
        services.place_contacts([entry], by=hq)
    assert refused.value.code == QuarantineErrorCode.ALREADY_PLACED
    assert refused.value.row == 0
    assert Placement.objects.count() == 1


def test_the_same_person_twice_in_one_call_is_refused_and_nothing_is_written(tree, register, hq):
    ready_site(hq, tree["county"])
    entry = contact(register)
    with pytest.raises(QuarantineError) as refused:
        services.place_contacts([entry, entry], by=hq)
    assert refused.value.code == QuarantineErrorCode.ALREADY_PLACED and refused.value.row == 1
    assert Placement.objects.count() == 0 and RoomBooking.objects.count() == 0


def test_the_database_refuses_a_second_active_placement_of_one_person(tree, register, hq):
    ready_site(hq, tree["county"])
    [placement] = services.place_contacts([contact(register)], by=hq).placed
    twin = Placement.objects.get(pk=placement.pk)
    twin.pk = None
    twin.booking = None
    twin.room = None
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()


def test_the_database_refuses_two_open_bookings_of_one_room(tree, register, hq):
    site = ready_site(hq, tree["county"], rooms=1)
    room = Room.objects.get(site=site)
    RoomBooking.objects.create(room=room, site=site, started_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        RoomBooking.objects.create(room=room, site=site, started_at=timezone.now())


def test_one_person_per_room(tree, register, hq):
    ready_site(hq, tree["county"], rooms=3)
    placed = services.place_contacts([contact(register, name=f"人{n}") for n in range(3)], by=hq).placed
    assert len({p.room_id for p in placed}) == 3
    assert RoomBooking.objects.filter(ended_at__isnull=True).count() == 3


def test_a_child_shares_the_room_of_their_guardian(tree, register, hq):
    ready_site(hq, tree["county"], rooms=1, room_type=RoomType.FAMILY, beds=3)
    ready_site(hq, tree["county"], "单间点", rooms=1)
    guardian = contact(register, name="王妈妈")
    child = contact(register, name="王小宝", birth_date=date(2016, 5, 1))
    result = services.place_contacts(
        [
            PlacementRequest(entry=guardian),
            PlacementRequest(entry=child, accompanies=0, share_reason=ShareReason.CHILD_WITH_GUARDIAN),
        ],
        by=hq,
    )
    holder, companion = result.placed
    assert holder.room_id == companion.room_id and holder.booking_id == companion.booking_id
    assert holder.room.room_type == RoomType.FAMILY
    assert companion.companion_of_id == holder.pk and companion.share_reason == ShareReason.CHILD_WITH_GUARDIAN
    assert RoomBooking.objects.filter(ended_at__isnull=True).count() == 1


def test_a_carer_without_a_ledger_entry_stays_with_the_person_they_care_for(tree, register, hq):
    ready_site(hq, tree["county"], rooms=1, room_type=RoomType.ACCESSIBLE, beds=2)
    patient = contact(register, name="赵老")
    carer = register("a", name="赵护工", phone="13712345678")
    result = services.place_contacts(
        [
            PlacementRequest(entry=patient),
            PlacementRequest(person=carer, accompanies=0, share_reason=ShareReason.CARER),
        ],
        by=hq,
    )
    holder, companion = result.placed
    assert companion.person_id == carer.pk and companion.pool_entry is None
    assert companion.quarantine_end == holder.quarantine_end  # stays as long as the person cared for


def test_sharing_without_an_allowed_reason_is_refused(tree, register, hq):
    ready_site(hq, tree["county"], rooms=1, room_type=RoomType.FAMILY, beds=2)
    first, second = contact(register, name="甲"), contact(register, name="乙")
    with pytest.raises(QuarantineError) as refused:
        services.place_contacts([PlacementRequest(entry=first), PlacementRequest(entry=second, accompanies=0)], by=hq)
    assert refused.value.code == QuarantineErrorCode.INVALID_COMPANION
    assert Placement.objects.count() == 0


def test_the_database_refuses_a_second_independent_holder_of_one_booking(tree, register, hq):
    ready_site(hq, tree["county"], rooms=1, room_type=RoomType.FAMILY, beds=2)
    [placement] = services.place_contacts([contact(register)], by=hq).placed
    other = contact(register, name="第二人")
    intruder = Placement.objects.get(pk=placement.pk)
    intruder.pk = None
    intruder.person = other.person
    with pytest.raises(IntegrityError), transaction.atomic():
        intruder.save()


def test_a_full_city_puts_people_on_the_waitlist_and_they_are_placed_when_a_room_frees(tree, register, hq):
    ready_site(hq, tree["county"], rooms=1)
    first, second = contact(register, name="先到"), contact(register, name="后到")
    result = services.place_contacts([first, second], by=hq)
    assert len(result.placed) == 1 and len(result.waitlisted) == 1
    waiting = result.waitlisted[0]
    assert waiting.person_id == second.person_id and waiting.status == WaitlistStatus.WAITING
    assert list(selectors.waitlist(hq)) == [waiting]
    assert list(selectors.awaiting_placement(hq)) == []  # neither placed twice nor listed twice
    with pytest.raises(QuarantineError):
        services.place_contacts([second], by=hq)  # already waiting
    services.cancel_placement(result.placed[0], by=hq, reason="placed in error")
    again = services.place_waitlisted(by=hq)
    assert [p.person_id for p in again.placed] == [second.person_id]
    waiting.refresh_from_db()
    assert waiting.status == WaitlistStatus.PLACED and waiting.placement_id == again.placed[0].pk


def test_sites_are_chosen_by_jurisdiction_then_distance(tree, register, hq):
    Division.objects.filter(pk=tree["a"].pk).update(lat=34.68, lon=112.45)
    Division.objects.filter(pk=tree["street2"].pk).update(lat=34.67, lon=112.40)
    far = ready_site(hq, tree["county"], "远", rooms=1, lat=34.90, lon=112.80)
    near = ready_site(hq, tree["county"], "近", rooms=1, lat=34.69, lon=112.46)
    other_county = ready_site(hq, tree["county2"], "邻区", rooms=1, lat=34.68, lon=112.45)
    from_a = services.place_contacts([contact(register, "a", name="甲")], by=hq).placed[0]
    assert from_a.site_id == near.pk  # same county; nearest of its sites even though the other county's is closer
    from_c = services.place_contacts([contact(register, "c", name="丙")], by=hq).placed[0]
    assert from_c.site_id == other_county.pk
    from_a2 = services.place_contacts([contact(register, "a", name="甲二")], by=hq).placed[0]
    assert from_a2.site_id == far.pk  # the near one is full


def test_a_county_officer_places_only_into_sites_of_their_county(tree, register, hq, make_user):
    ready_site(hq, tree["county2"], "邻区", rooms=5)
    officer = make_user(Role.COUNTY_HQ, "county")
    result = services.place_contacts([contact(register, "a")], by=officer)
    assert result.placed == [] and len(result.waitlisted) == 1


def test_secondary_contacts_follow_the_editions_setting(tree, register, hq):
    ready_site(hq, tree["county"], rooms=2)
    ed8 = services.place_contacts([contact(register, reason="secondary_contact", name="次八")], by=hq)
    assert [p.kind for p in ed8.placed] == [PlacementKind.CENTRAL]  # ed8: 7 days centralized
    set_active_edition(tree["city"], edition_id="ed9", overrides={}, by=hq)
    entry = contact(register, reason="secondary_contact", name="次九")
    ed9 = services.place_contacts([entry], by=hq)
    [home] = ed9.home
    assert home.kind == PlacementKind.HOME and home.site is None and home.status == PlacementStatus.PLACED
    entry.refresh_from_db()
    assert entry.state == LoopState.QUARANTINED_HOME  # home quarantine starts at once
    set_active_edition(tree["city"], edition_id="ed9_20", overrides={}, by=hq)
    with pytest.raises(QuarantineError) as refused:
        services.place_contacts([contact(register, reason="secondary_contact", name="次二十")], by=hq)
    assert refused.value.code == QuarantineErrorCode.NOT_QUARANTINED_BY_POLICY


def test_switching_editions_changes_new_placements_and_leaves_existing_ones_frozen(tree, register, hq):
    ready_site(hq, tree["county"], rooms=2)
    start = date(2022, 7, 1)
    [old] = services.place_contacts(
        [PlacementRequest(entry=contact(register, name="八版"), start_date=start)], by=hq
    ).placed
    set_active_edition(tree["city"], edition_id="ed9", overrides={}, by=hq)
    [new] = services.place_contacts(
        [PlacementRequest(entry=contact(register, name="九版"), start_date=start)], by=hq
    ).placed
    old.refresh_from_db()
    assert (old.edition_id, old.quarantine_end, old.test_days) == ("ed8", start + timedelta(days=14), [1, 4, 7, 14])
    assert (new.edition_id, new.quarantine_end, new.monitoring_end) == (
        "ed9",
        start + timedelta(days=7),
        start + timedelta(days=10),
    )
    assert new.test_days == [1, 2, 3, 5, 7] and new.monitoring_test_days == [3]


def test_a_pickup_batch_brings_people_in_and_moves_the_ledger(tree, register, hq):
    site = ready_site(hq, tree["county"], rooms=2)
    entries = [contact(register, name="接一"), contact(register, name="接二")]
    placed = services.place_contacts(entries, by=hq).placed
    assert {p.pk for p in selectors.awaiting_pickup(hq, site_id=site.pk)} == {p.pk for p in placed}
    batch = services.create_pickup_batch(
        site, placements=placed, scheduled_at=timezone.now(), vehicle="豫C12345", by=hq
    )
    assert list(selectors.awaiting_pickup(hq, site_id=site.pk)) == []
    with pytest.raises(QuarantineError):
        services.create_pickup_batch(site, placements=placed[:1], scheduled_at=timezone.now(), by=hq)
    services.set_pickup_status(batch, status=PickupStatus.EN_ROUTE, by=hq)
    services.set_pickup_status(batch, status=PickupStatus.ARRIVED, by=hq)
    assert set(Placement.objects.values_list("status", flat=True)) == {PlacementStatus.PLACED}
    assert set(PoolEntry.objects.values_list("state", flat=True)) == {LoopState.QUARANTINED_CENTRAL}
    with pytest.raises(QuarantineError):
        services.set_pickup_status(batch, status=PickupStatus.CANCELLED, by=hq)


def test_placing_people_already_at_the_site_moves_the_ledger_at_once(tree, register, hq):
    ready_site(hq, tree["county"], rooms=1)
    entry = contact(register)
    [placement] = services.place_contacts([entry], by=hq, arrived=True).placed
    assert placement.status == PlacementStatus.PLACED and placement.placed_at is not None
    entry.refresh_from_db()
    assert entry.state == LoopState.QUARANTINED_CENTRAL


def test_vacating_frees_the_room_for_cleaning_or_hands_it_to_a_companion(tree, register, hq):
    ready_site(hq, tree["county"], rooms=1, room_type=RoomType.FAMILY, beds=2)
    guardian, child = contact(register, name="母"), contact(register, name="子")
    holder, companion = services.place_contacts(
        [
            PlacementRequest(entry=guardian),
            PlacementRequest(entry=child, accompanies=0, share_reason=ShareReason.CHILD_WITH_GUARDIAN),
        ],
        by=hq,
        arrived=True,
    ).placed
    with pytest.raises(QuarantineError):
        services.vacate(holder, by=hq)  # still active
    Placement.objects.filter(pk=holder.pk).update(status=PlacementStatus.TRANSFERRED)
    holder.refresh_from_db()
    booking = services.vacate(holder, by=hq)
    assert booking is not None and booking.ended_at is None  # the child stays and now holds the room
    companion.refresh_from_db()
    assert companion.share_reason == "" and companion.companion_of_id is None
    Placement.objects.filter(pk=companion.pk).update(status=PlacementStatus.RELEASED)
    companion.refresh_from_db()
    booking = services.vacate(companion, by=hq)
    assert booking.ended_at is not None
    assert Room.objects.get(pk=booking.room_id).status == RoomStatus.CLEANING


def test_only_people_awaiting_placement_are_placed(tree, register, hq):
    ready_site(hq, tree["county"], rooms=1)
    entry = contact(register, reason="companion")
    with pytest.raises(QuarantineError) as refused:
        services.place_contacts([entry], by=hq)
    assert refused.value.code == QuarantineErrorCode.NOT_AWAITING_PLACEMENT
    assert list(selectors.awaiting_placement(hq)) == []
    entry_ok = contact(register, name="密接", reason="close_contact")
    assert list(selectors.awaiting_placement(hq)) == [entry_ok]


def test_people_outside_the_officers_jurisdiction_are_refused(tree, register, hq, make_user):
    ready_site(hq, tree["county2"], "邻区", rooms=1)
    officer = make_user(Role.COUNTY_HQ, "county2")
    with pytest.raises(QuarantineError) as refused:
        services.place_contacts([contact(register, "a")], by=officer)
    assert refused.value.code == QuarantineErrorCode.NOT_AWAITING_PLACEMENT
    assert Placement.objects.count() == 0 and WaitlistEntry.objects.count() == 0


def test_someone_who_left_the_loop_while_waiting_does_not_block_the_waitlist(tree, register, hq):
    from fangkong.screening.services import close_entry

    ready_site(hq, tree["county"], rooms=1)
    first, gone, next_in_line = (
        contact(register, name="在住"),
        contact(register, name="已确诊"),
        contact(register, name="候补"),
    )
    result = services.place_contacts([first, gone, next_in_line], by=hq)
    assert len(result.waitlisted) == 2
    close_entry(gone, reason="became_case", by=None)
    services.cancel_placement(result.placed[0], by=hq, reason="room needed")
    again = services.place_waitlisted(by=hq)
    assert [p.person_id for p in again.placed] == [next_in_line.person_id]
    assert WaitlistEntry.objects.get(person=gone.person).status == WaitlistStatus.CANCELLED


def test_a_child_arrives_with_the_guardian(tree, register, hq):
    ready_site(hq, tree["county"], rooms=1, room_type=RoomType.FAMILY, beds=2)
    guardian, child = contact(register, name="父"), contact(register, name="女")
    holder, companion = services.place_contacts(
        [
            PlacementRequest(entry=guardian),
            PlacementRequest(entry=child, accompanies=0, share_reason=ShareReason.CHILD_WITH_GUARDIAN),
        ],
        by=hq,
    ).placed
    services.record_arrival(holder, by=hq)
    companion.refresh_from_db()
    child.refresh_from_db()
    assert companion.status == PlacementStatus.PLACED and child.state == LoopState.QUARANTINED_CENTRAL
