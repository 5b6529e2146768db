"""The quarantine app's records in the permission matrix's world (see tests/test_permission_matrix.py): for
community A and community B each, a site with a room and a floor, a person in quarantine there with a reading, an
alert, a scheduled test and a hospital transfer, and a released person with a certificate. Plain rows, so the
matrix does not depend on the placement rules."""

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
    Placement,
    Reading,
    ReleaseCertificate,
    Room,
    RoomBooking,
    ScheduledTest,
    Site,
    Violation,
)
from fangkong.quarantine.services.monitoring import report_token

NAMES = {"a": "甲测试人", "b": "乙测试人"}  # the matrix's markers: B's must never reach an A user


def _placement(site: Site, room: Room, person: Any, division: Any, **extra: Any) -> Placement:
    today = timezone.localdate()
    started = timezone.now() - timedelta(days=14)
    booking = RoomBooking.objects.create(room=room, site=site, started_at=started, **extra.pop("booking", {}))
    return Placement.objects.create(
        person=person,
        division=division,
        home_division=person.home_division,
        reason="close_contact",
        kind="central",
        site=site,
        room=room,
        booking=booking,
        edition_id="ed8",
        start_date=today - timedelta(days=14),
        quarantine_end=today,
        monitoring_end=today + timedelta(days=7),
        test_days=[1, 4, 7, 14],
        monitoring_test_days=[2, 7],
        placed_at=timezone.now(),
        **extra,
    )


def world(tree: dict[str, Any], register: Any, hq: Any) -> dict[str, tuple[Any, Any]]:
    ids: dict[str, dict[str, Any]] = {}
    now = timezone.now()
    for where in "ab":
        division = tree[where]
        site = Site.objects.create(division=division, name=f"矩阵隔离点{where}", status="active")
        floor = Floor.objects.create(building=Building.objects.create(site=site, name="A"), number=3)
        room, room2 = (Room.objects.create(site=site, floor=floor, number=n) for n in ("301", "302"))
        person = register(where, name=NAMES[where], phone=f"1375555000{'1' if where == 'a' else '2'}")
        placement = _placement(site, room, person, division, status="placed")
        reading = Reading.objects.create(
            placement=placement, on=timezone.localdate(), slot="morning", taken_at=now, temperature="38.0"
        )
        test = ScheduledTest.objects.create(
            placement=placement, kind="fever", day_number=14, due_on=timezone.localdate()
        )
        alert = MonitoringAlert.objects.create(
            placement=placement, kind="fever", reading=reading, test=test, raised_at=now
        )
        released = _placement(
            site,
            room2,
            register(where, name=NAMES[where], phone=f"1375555100{'1' if where == 'a' else '2'}"),
            division,
            status="released",
            released_at=now,
            booking={"ended_at": now},
        )
        certificate = ReleaseCertificate.objects.create(
            placement=released,
            number=f"JG-MATRIX-{where}",
            edition_id="ed8",
            released_on=timezone.localdate(),
            days_served=14,
            negative_tests=5,
            monitoring_until=timezone.localdate() + timedelta(days=7),
            home_division=released.home_division,
            issued_at=now,
        )
        transfer = HospitalTransfer.objects.create(
            placement=released, case_number=f"C-MATRIX-{where}", requested_at=now
        )
        ids[where] = {
            "floor_id": floor.pk,
            "alert_id": alert.pk,
            "test_id": test.pk,
            "transfer_id": transfer.pk,
            "placement_id": placement.pk,
            "certificate_id": certificate.pk,
            "token": report_token(placement, on=timezone.localdate(), slot="afternoon"),
        }
    return {key: (ids["a"][key], ids["b"][key]) for key in ids["a"]}


def snapshot() -> tuple[Any, ...]:
    return (
        tuple(Placement.objects.order_by("pk").values_list("status", "room_id", "released_at")),
        tuple(RoomBooking.objects.order_by("pk").values_list("ended_at", flat=True)),
        tuple(Reading.objects.order_by("pk").values_list("temperature", "symptoms")),
        tuple(MonitoringAlert.objects.order_by("pk").values_list("status", "closed_at")),
        tuple(ScheduledTest.objects.order_by("pk").values_list("status", "result", "sampled_at")),
        tuple(HospitalTransfer.objects.order_by("pk").values_list("status", "hospital")),
        tuple(ReleaseCertificate.objects.order_by("pk").values_list("number", "handover_acknowledged_at")),
        HomeCheckIn.objects.count(),
        Violation.objects.count(),
    )
