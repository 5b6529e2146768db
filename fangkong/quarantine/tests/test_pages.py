"""Site, staff and placement pages: each parses input, calls one service and shows the outcome."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from fangkong.core.models import AuditEntry, User
from fangkong.core.roles import Role
from fangkong.quarantine.models import (
    PickupBatch,
    Placement,
    PlacementStatus,
    Room,
    RoomStatus,
    Site,
    SiteStatus,
    StaffCheck,
    StaffRoster,
    WaitlistEntry,
)
from fangkong.quarantine.tests.test_placement import contact, ready_site
from fangkong.screening.models import LoopState


@pytest.fixture
def hq(tree):
    return User.objects.create_user(username="hq", role=Role.CITY_HQ, division=tree["city"])


@pytest.fixture
def manager(client, make_user):
    user = make_user(Role.QUARANTINE_SITE_MANAGER, "county")
    client.force_login(user)
    return user


def test_a_site_is_created_made_ready_and_given_rooms_through_its_pages(client, tree, manager):
    response = client.post(
        reverse("quarantine:site_create"),
        {"division": tree["county"].path, "name": "东方宾馆", "kind": "hotel", "address": "中州路 1 号"},
    )
    site = Site.objects.get(name="东方宾馆")
    assert response.status_code == 302 and response["Location"] == reverse("quarantine:site_detail", args=[site.pk])
    response = client.post(reverse("quarantine:site_status", args=[site.pk]), {"status": "ready"}, follow=True)
    site.refresh_from_db()
    assert site.status == SiteStatus.STANDBY  # refused: checklist open, zones not recorded
    assert "checklist" in response.content.decode() or "清单" in response.content.decode()
    client.post(
        reverse("quarantine:site_edit", args=[site.pk]),
        {
            "name": "东方宾馆",
            "kind": "hotel",
            "clean_zone": "1F",
            "buffer_zone": "1F 东",
            "contaminated_zone": "2F-9F",
            "staff_passage": "东梯",
            "resident_passage": "西梯",
        },
    )
    for item in site.checklist.all():
        client.post(reverse("quarantine:checklist_toggle", args=[item.pk]), {"is_done": "1"})
    client.post(reverse("quarantine:site_status", args=[site.pk]), {"status": "ready"})
    site.refresh_from_db()
    assert site.status == SiteStatus.READY
    client.post(
        reverse("quarantine:rooms_create", args=[site.pk]),
        {
            "building": "A",
            "first_floor": 2,
            "last_floor": 4,
            "rooms_per_floor": 12,
            "first_number": 1,
            "room_type": "single",
            "beds": 1,
        },
    )
    assert Room.objects.filter(site=site).count() == 36
    assert set(Room.objects.filter(site=site, floor__number=3).values_list("number", flat=True)) == {
        f"3{n:02d}" for n in range(1, 13)
    }
    page = client.get(reverse("quarantine:site_detail", args=[site.pk]))
    assert page.status_code == 200 and 'data-testid="room-412"' in page.content.decode()
    duplicate = client.post(
        reverse("quarantine:rooms_create", args=[site.pk]),
        {
            "building": "A",
            "first_floor": 4,
            "last_floor": 4,
            "rooms_per_floor": 1,
            "first_number": 12,
            "room_type": "single",
            "beds": 1,
        },
        follow=True,
    )
    assert Room.objects.filter(site=site).count() == 36 and "412" in duplicate.content.decode()


def test_a_site_outside_the_jurisdiction_cannot_be_created(client, tree, make_user):
    client.force_login(make_user(Role.QUARANTINE_SITE_MANAGER, "county2"))
    response = client.post(reverse("quarantine:site_create"), {"division": tree["county"].path, "name": "越界"})
    assert response.status_code == 400 and not Site.objects.exists()


def test_the_site_list_shows_occupancy_in_a_fixed_number_of_queries(
    client, tree, hq, manager, register, django_assert_max_num_queries
):
    for n in range(3):
        ready_site(hq, tree["county"], f"点{n}", rooms=4)
    from fangkong.quarantine.services.placement import place_contacts

    place_contacts([contact(register, name=f"人{n}") for n in range(5)], by=hq)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("quarantine:site_list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="total-rooms">12<' in body and 'data-testid="total-occupied">5<' in body
    assert 'data-testid="total-free">7<' in body


def test_contacts_are_placed_from_the_queue_with_a_child_sharing_the_guardians_room(
    client, tree, hq, manager, register
):
    ready_site(hq, tree["county"], rooms=1, room_type="family", beds=3)
    guardian = contact(register, name="王妈妈")
    child = contact(register, name="王小宝")
    single = contact(register, name="独自")
    page = client.get(reverse("quarantine:queue"))
    assert page.status_code == 200 and f'data-testid="queue-row-{child.pk}"' in page.content.decode()
    client.post(
        reverse("quarantine:place"),
        {
            "entry": [guardian.pk, child.pk, single.pk],
            f"with_{child.pk}": guardian.pk,
            f"share_{child.pk}": "child_with_guardian",
        },
    )
    holder = Placement.objects.get(person=guardian.person)
    shared = Placement.objects.get(person=child.person)
    assert shared.room_id == holder.room_id and shared.companion_of_id == holder.pk
    assert WaitlistEntry.objects.get().person_id == single.person_id  # the only room is taken
    assert client.get(reverse("quarantine:waitlist")).status_code == 200
    again = client.post(reverse("quarantine:place"), {"entry": [guardian.pk]}, follow=True)
    assert Placement.objects.count() == 2  # placing a person twice is refused …
    assert "已" in again.content.decode() or "already" in again.content.decode()  # … with a message


def test_a_pickup_batch_is_planned_and_arrives_through_the_pages(client, tree, hq, manager, register):
    site = ready_site(hq, tree["county"], rooms=2)
    entries = [contact(register, name="甲"), contact(register, name="乙")]
    from fangkong.quarantine.services.placement import place_contacts

    placed = place_contacts(entries, by=hq).placed
    page = client.get(reverse("quarantine:pickups"))
    assert f'data-testid="pickup-form-{site.pk}"' in page.content.decode()
    when = (timezone.localtime() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("quarantine:pickup_create", args=[site.pk]),
        {"placement": [p.pk for p in placed], "scheduled_at": when, "vehicle": "豫C12345"},
    )
    batch = PickupBatch.objects.get()
    assert response["Location"] == reverse("quarantine:pickup_detail", args=[batch.pk])
    client.post(reverse("quarantine:pickup_status", args=[batch.pk]), {"status": "arrived"})
    assert set(Placement.objects.values_list("status", flat=True)) == {PlacementStatus.PLACED}
    entries[0].refresh_from_db()
    assert entries[0].state == LoopState.QUARANTINED_CENTRAL
    detail = client.get(reverse("quarantine:placement_detail", args=[placed[0].pk]))
    assert detail.status_code == 200 and 'data-testid="edition">ed8<' in detail.content.decode()


def test_staff_rosters_daily_checks_and_leaving_early(client, tree, hq, manager):
    site = ready_site(hq, tree["county"], rooms=1)
    client.post(
        reverse("quarantine:staff_add", args=[site.pk]), {"name": "李医生", "role": "medical", "phone": "13500000001"}
    )
    member = site.staff.get()
    today = timezone.localdate()
    client.post(
        reverse("quarantine:roster_start", args=[member.pk]),
        {"loop_start": (today - timedelta(days=2)).isoformat(), "loop_end": (today + timedelta(days=12)).isoformat()},
    )
    roster = StaffRoster.objects.get()
    assert roster.rest_until == roster.loop_end + timedelta(days=14)  # ed8: after-post 14 days
    page = client.get(reverse("quarantine:site_staff", args=[site.pk]))
    body = page.content.decode()
    assert "135****0001" in body and "13500000001" not in body
    assert 'data-testid="daily-checks"' in body
    client.post(
        reverse("quarantine:staff_check", args=[roster.pk]),
        {"on": today.isoformat(), "kind": "health", "result": "normal", "temperature": "36.6"},
    )
    refused = client.post(
        reverse("quarantine:staff_check", args=[roster.pk]),
        {"on": today.isoformat(), "kind": "test", "result": "negative", "temperature": "60"},
        follow=True,
    )
    assert StaffCheck.objects.count() == 1 and "60" in refused.content.decode()
    client.post(reverse("quarantine:roster_leave", args=[roster.pk]), {"reason": "家中有事"})
    roster.refresh_from_db()
    assert roster.left_early and roster.rest_until == today + timedelta(days=14)
    assert (
        'data-testid="left-early-list"' in client.get(reverse("quarantine:site_staff", args=[site.pk])).content.decode()
    )


def test_a_room_is_set_to_cleaning_and_back_but_an_occupied_room_is_not_freed(client, tree, hq, manager, register):
    site = ready_site(hq, tree["county"], rooms=2)
    from fangkong.quarantine.services.placement import place_contacts

    [placement] = place_contacts([contact(register)], by=hq).placed
    free = Room.objects.filter(site=site).exclude(pk=placement.room_id).get()
    client.post(reverse("quarantine:room_status", args=[free.pk]), {"status": "out_of_service"})
    free.refresh_from_db()
    assert free.status == RoomStatus.OUT_OF_SERVICE
    before = AuditEntry.objects.count()
    client.post(reverse("quarantine:room_status", args=[placement.room_id]), {"status": "available"})
    assert Room.objects.get(pk=placement.room_id).status == RoomStatus.OCCUPIED
    assert AuditEntry.objects.count() == before


def test_a_carer_who_is_not_at_risk_is_registered_and_shares_the_room(client, tree, hq, make_user, register):
    ready_site(hq, tree["county"], rooms=1, room_type="accessible", beds=2)
    client.force_login(make_user(Role.COUNTY_HQ, "county"))
    patient = contact(register, name="赵老")
    assert client.get(reverse("quarantine:place_with_companion", args=[patient.pk])).status_code == 200
    response = client.post(
        reverse("quarantine:place_with_companion", args=[patient.pk]),
        {
            "name": "钱护工",
            "document_kind": "resident_id",
            "phone": "13712340001",
            "sex": "F",
            "division": tree["a"].path,
            "share_reason": "carer",
        },
    )
    assert response.status_code == 302
    holder = Placement.objects.get(person=patient.person)
    carer = Placement.objects.exclude(pk=holder.pk).get()
    assert carer.room_id == holder.room_id and carer.share_reason == "carer" and carer.pool_entry is None
    assert carer.person.name == "钱护工"


def test_a_refused_companion_placement_registers_nobody(client, tree, hq, make_user, register):
    from fangkong.people.models import Person
    from fangkong.quarantine.services.placement import place_contacts

    ready_site(hq, tree["county"], rooms=2)
    client.force_login(make_user(Role.COUNTY_HQ, "county"))
    patient = contact(register, name="孙老")
    place_contacts([patient], by=hq)  # placed already: the page's placement is refused after registering
    people, placements = Person.objects.count(), Placement.objects.count()
    response = client.post(
        reverse("quarantine:place_with_companion", args=[patient.pk]),
        {
            "name": "李护工",
            "document_kind": "resident_id",
            "phone": "13712340002",
            "sex": "F",
            "division": tree["a"].path,
            "share_reason": "carer",
        },
    )
    assert response.status_code == 400
    assert Person.objects.count() == people and Placement.objects.count() == placements
