"""Helpers for the care tests (monitoring, tests, release, home, occupancy): a ready site with rooms and medical
staff, and contacts placed through the real services (`place_contacts`, `record_arrival`)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from fangkong.quarantine.models import Floor, Placement, RoomType, SiteStatus, StaffRole
from fangkong.quarantine.services.placement import PlacementRequest, place_contacts, record_arrival
from fangkong.quarantine.services.sites import (
    RoomLayout,
    create_rooms,
    create_site,
    set_checklist_item,
    set_site_status,
)
from fangkong.quarantine.services.staff import add_staff_member
from fangkong.screening.services import list_person

PHONES = iter(range(13600000000, 13700000000))
MEDIC_PHONE = "13500000001"


def ready_site(hq: Any, division: Any, name: str = "一号隔离点", *, rooms: int = 4, medic: bool = True) -> Any:
    site = create_site(
        division=division,
        name=name,
        by=hq,
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
        layout=RoomLayout(building="A", first_floor=3, last_floor=3, rooms_per_floor=rooms, room_type=RoomType.SINGLE),
        by=hq,
    )
    if medic:
        add_staff_member(site, name="李医生", role=StaffRole.MEDICAL, phone=MEDIC_PHONE, by=hq)
    return set_site_status(site, status=SiteStatus.READY, by=hq)


def listed(register: Any, where: str = "a", reason: str = "close_contact", **fields: Any) -> Any:
    person = register(where, phone=str(next(PHONES)), **fields)
    return list_person(person, reason=reason, source="manual", by=None).entry


def place(
    hq: Any, register: Any, site: Any, *, days_ago: int = 3, where: str = "a", reason: str = "close_contact", n: int = 1
) -> list[Placement]:
    """`n` contacts whose last exposure was `days_ago` days ago, placed at `site` and arrived."""
    start = timezone.localdate() - timedelta(days=days_ago)
    requests = [PlacementRequest(entry=listed(register, where, reason), start_date=start) for _ in range(n)]
    result = place_contacts(requests, by=hq, sites=[site])
    assert len(result.placed) == n, result.counts
    return [record_arrival(p, by=hq) for p in result.placed]


def floor_of(placement: Placement) -> Floor:
    return Floor.objects.get(pk=placement.room.floor_id)


def day(offset: int = 0) -> date:
    return timezone.localdate() + timedelta(days=offset)
