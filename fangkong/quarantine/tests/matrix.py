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
    HomeCheckIn,
    HospitalTransfer,
    MonitoringAlert,
    PickupBatch,
    PickupMember,
    Placement,
    Reading,
    ReleaseCertificate,
    Room,
    RoomBooking,
    ScheduledTest,
    Site,
    SiteChecklistItem,
    StaffCheck,
    StaffMember,
    StaffRoster,
    Violation,
    WaitlistEntry,
)
from fangkong.quarantine.services.monitoring import report_token
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


def _care_world(where: str, n: int, ids: dict[str, Any], *, register: Any) -> dict[str, Any]:
    """The care pages' records (plain rows): a fever reading of the placed person with its alert and fever test,
    and someone released from the same site with a certificate and a hospital transfer; the self-report token."""
    now = timezone.now()
    today = timezone.localdate()
    placement = Placement.objects.get(pk=ids["placement_id"])
    reading = Reading.objects.create(placement=placement, on=today, slot="morning", taken_at=now, temperature="38.0")
    test = ScheduledTest.objects.create(placement=placement, kind="fever", day_number=3, due_on=today)
    alert = MonitoringAlert.objects.create(placement=placement, kind="fever", reading=reading, test=test, raised_at=now)
    room = Room.objects.create(site=placement.site, floor_id=ids["floor_id"], number=f"2{n}9")
    person = register(where, name=f"解除{where}", phone=f"137000001{n}9")
    booking = RoomBooking.objects.create(
        room=room, site=placement.site, started_at=now - timedelta(days=14), ended_at=now
    )
    released = Placement.objects.create(
        person=person,
        division_id=placement.division_id,
        home_division_id=person.home_division_id,
        reason="close_contact",
        kind="central",
        site=placement.site,
        room=room,
        booking=booking,
        edition_id="ed8",
        start_date=today - timedelta(days=14),
        quarantine_end=today,
        monitoring_end=today + timedelta(days=7),
        test_days=[1, 4, 7, 14],
        monitoring_test_days=[2, 7],
        status="released",
        placed_at=now - timedelta(days=14),
        released_at=now,
    )
    certificate = ReleaseCertificate.objects.create(
        placement=released,
        number=f"JG-MATRIX-{where}",
        edition_id="ed8",
        released_on=today,
        days_served=14,
        negative_tests=5,
        monitoring_until=today + timedelta(days=7),
        home_division_id=person.home_division_id,
        issued_at=now,
    )
    transfer = HospitalTransfer.objects.create(placement=released, case_number=f"C-MATRIX-{where}", requested_at=now)
    return {
        "alert_id": alert.pk,
        "test_id": test.pk,
        "transfer_id": transfer.pk,
        "certificate_id": certificate.pk,
        "token": report_token(placement, on=today, slot="afternoon"),
    }


def world(tree: Any, register: Any, hq: Any) -> dict[str, tuple[int, int]]:
    a = _site_world("a", 1, tree=tree, register=register, hq=hq)
    b = _site_world("b", 2, tree=tree, register=register, hq=hq)
    # The care pages (monitoring, tests, release, home) add their own keys, from these placements.
    a.update(_care_world("a", 1, a, register=register))
    b.update(_care_world("b", 2, b, register=register))
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
        tuple(ScheduledTest.objects.order_by("pk").values_list("status", "result", "sampled_at")),
        tuple(Reading.objects.order_by("pk").values_list("temperature", "symptoms")),
        tuple(MonitoringAlert.objects.order_by("pk").values_list("status", "closed_at")),
        tuple(HospitalTransfer.objects.order_by("pk").values_list("status", "hospital")),
        tuple(ReleaseCertificate.objects.order_by("pk").values_list("number", "handover_acknowledged_at")),
        HomeCheckIn.objects.count(),
        Violation.objects.count(),
    )
