"""Quarantine records for the permission matrix (tests/test_permission_matrix.py): in community A and in
community B each, a ready site with a floor of rooms, its checklist, a staff member in a closed loop, one
person placed and arrived, one allocated a room and in a pickup batch, one on the waitlist — all through the
real services. The care pages' records (alerts, tests, transfers, certificates) are added here too (see the
note in world())."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from fangkong.quarantine.models import (
    Building,
    Floor,
    PickupBatch,
    PickupMember,
    Placement,
    Room,
    RoomBooking,
    ScheduledTest,
    Site,
    SiteChecklistItem,
    StaffCheck,
    StaffMember,
    StaffRoster,
    WaitlistEntry,
)
from fangkong.quarantine.services.placement import create_pickup_batch, place_contacts, record_arrival
from fangkong.quarantine.services.sites import (
    RoomLayout,
    create_rooms,
    create_site,
    set_checklist_item,
    set_site_status,
)
from fangkong.quarantine.services.staff import add_staff_member, start_roster
from fangkong.screening.services import list_person


def _site_world(where: str, n: int, *, tree: Any, register: Any, hq: Any) -> dict[str, int]:
    site = create_site(
        division=tree[where],
        name=f"矩阵隔离点{where}",
        by=hq,
        clean_zone="1F",
        buffer_zone="1F",
        contaminated_zone="2F",
        staff_passage="东",
        resident_passage="西",
    )
    for item in site.checklist.all():
        set_checklist_item(item, is_done=True, by=hq)
    create_rooms(site, layout=RoomLayout(building="A", first_floor=2, last_floor=2, rooms_per_floor=2), by=hq)
    set_site_status(site, status="ready", by=hq)
    member = add_staff_member(site, name=f"医生{where}", role="medical", phone=f"1350000000{n}", by=hq)
    today = timezone.localdate()
    roster = start_roster(member, loop_start=today - timedelta(days=1), loop_end=today + timedelta(days=13), by=hq)
    entries = [
        list_person(
            register(where, name=f"隔离{where}{k}", phone=f"137000000{n}{k}"),
            reason="close_contact",
            source="manual",
            by=None,
        ).entry
        for k in range(3)
    ]
    result = place_contacts(entries, by=hq, sites=[site])
    arrived, waiting = result.placed
    record_arrival(arrived, by=hq)
    batch = create_pickup_batch(site, placements=[waiting], scheduled_at=timezone.now(), by=hq)
    return {
        "site_id": site.pk,
        "room_id": Room.objects.filter(site=site).order_by("pk").first().pk,  # type: ignore[union-attr]
        "floor_id": Floor.objects.get(building__site=site).pk,
        "item_id": site.checklist.first().pk,  # type: ignore[union-attr]
        "staff_id": member.pk,
        "roster_id": roster.pk,
        "placement_id": arrived.pk,
        "waiting_id": result.waitlisted[0].pk,
        "batch_id": batch.pk,
    }


def world(tree: Any, register: Any, hq: Any) -> dict[str, tuple[int, int]]:
    a = _site_world("a", 1, tree=tree, register=register, hq=hq)
    b = _site_world("b", 2, tree=tree, register=register, hq=hq)
    # The care pages (monitoring, tests, release, home) add their own keys below, from these placements.
    return {key: (a[key], b[key]) for key in a}


def snapshot() -> tuple[Any, ...]:
    return (
        tuple(Site.objects.order_by("pk").values_list("name", "status", "clean_zone")),
        tuple(SiteChecklistItem.objects.order_by("pk").values_list("is_done", "label")),
        Building.objects.count(),
        Floor.objects.count(),
        tuple(Room.objects.order_by("pk").values_list("status", "number")),
        tuple(RoomBooking.objects.order_by("pk").values_list("room_id", "ended_at")),
        tuple(Placement.objects.order_by("pk").values_list("status", "room_id", "share_reason")),
        tuple(WaitlistEntry.objects.order_by("pk").values_list("status", flat=True)),
        tuple(PickupBatch.objects.order_by("pk").values_list("status", flat=True)),
        PickupMember.objects.count(),
        tuple(StaffMember.objects.order_by("pk").values_list("name", "role")),
        tuple(StaffRoster.objects.order_by("pk").values_list("left_at", "rest_until")),
        StaffCheck.objects.count(),
        tuple(ScheduledTest.objects.order_by("pk").values_list("status", "result")),
    )
