"""Reads for sites: the list with occupancy, one site's grid of buildings, floors and rooms with who is in them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from fangkong.core.models import Division, DivisionLevel, User
from fangkong.core.scope import get_scoped, scoped
from fangkong.quarantine.models import (
    ACTIVE_PLACEMENT_STATUSES,
    Building,
    Floor,
    Placement,
    Room,
    RoomBooking,
    RoomStatus,
    Site,
    SiteChecklistItem,
    SiteStatus,
)


def _per_site(queryset: QuerySet[Any], *, total: Any = None) -> Coalesce:
    """A per-site aggregate of `queryset` (rows with a `site` column) as a correlated subquery, so several
    counts in one query never multiply each other through joins."""
    aggregate = total if total is not None else Count("pk")
    return Coalesce(
        Subquery(
            queryset.filter(site_id=OuterRef("pk")).order_by().values("site_id").annotate(n=aggregate).values("n")[:1]
        ),
        0,
    )


def sites_with_occupancy(user: User, *, status: str = "") -> QuerySet[Site]:
    """Sites in the user's jurisdiction with their counts, in one query: rooms, beds, free rooms (available and
    not booked), occupied rooms (an open booking), cleaning, out of service, people placed now (waiting for
    transfer or in the room), and readiness checklist progress."""
    open_booking = RoomBooking.objects.filter(room_id=OuterRef("pk"), ended_at__isnull=True)
    found = scoped(Site.objects.all(), user)
    if status in SiteStatus.values:
        found = found.filter(status=status)
    return (
        found.annotate(
            room_count=_per_site(Room.objects.all()),
            bed_count=_per_site(Room.objects.all(), total=Sum("beds")),
            free_count=_per_site(Room.objects.filter(status=RoomStatus.AVAILABLE).filter(~Exists(open_booking))),
            cleaning_count=_per_site(Room.objects.filter(status=RoomStatus.CLEANING)),
            out_of_service_count=_per_site(Room.objects.filter(status=RoomStatus.OUT_OF_SERVICE)),
            occupied_count=_per_site(RoomBooking.objects.filter(ended_at__isnull=True)),
            people_count=_per_site(Placement.objects.filter(status__in=ACTIVE_PLACEMENT_STATUSES)),
            checklist_total=_per_site(SiteChecklistItem.objects.all()),
            checklist_done=_per_site(SiteChecklistItem.objects.filter(is_done=True)),
        )
        .select_related("division")
        .order_by("division_id", "name")
    )


def access_site(user: User, site_id: int) -> Site:
    return get_scoped(Site.objects.select_related("division", "operator"), user, pk=site_id)


def access_floor(user: User, floor_id: int) -> Floor:
    return get_scoped(Floor.objects.select_related("building__site"), user, pk=floor_id)


def access_room(user: User, room_id: int) -> Room:
    return get_scoped(Room.objects.select_related("site", "floor__building"), user, pk=room_id)


def access_checklist_item(user: User, item_id: int) -> SiteChecklistItem:
    return get_scoped(SiteChecklistItem.objects.select_related("site"), user, pk=item_id)


def rooms_of(site: Site) -> QuerySet[Room]:
    return (
        Room.objects.filter(site=site)
        .select_related("floor__building")
        .order_by("floor__building__name", "floor__number", "number")
    )


def checklist_of(site: Site) -> QuerySet[SiteChecklistItem]:
    return site.checklist.select_related("done_by").order_by("position", "id")


@dataclass
class RoomCell:
    room: Room
    occupants: list[Placement] = field(default_factory=list)

    @property
    def is_free(self) -> bool:
        return self.room.status == RoomStatus.AVAILABLE and not self.occupants


@dataclass
class FloorRow:
    floor: Floor
    cells: list[RoomCell]


@dataclass
class BuildingGrid:
    building: Building
    floors: list[FloorRow]


def site_grid(site: Site) -> list[BuildingGrid]:
    """Buildings → floors (top first) → rooms, each with the people in it now; three queries in all."""
    occupants: dict[int, list[Placement]] = {}
    for placement in (
        Placement.objects.filter(site=site, status__in=ACTIVE_PLACEMENT_STATUSES, room__isnull=False)
        .select_related("person")
        .order_by("share_reason", "id")
    ):
        occupants.setdefault(placement.room_id, []).append(placement)  # type: ignore[arg-type]
    rooms_by_floor: dict[int, list[RoomCell]] = {}
    for room in Room.objects.filter(site=site).order_by("floor_id", "number"):
        rooms_by_floor.setdefault(room.floor_id, []).append(RoomCell(room, occupants.get(room.pk, [])))
    grid: list[BuildingGrid] = []
    floors = Floor.objects.filter(building__site=site).select_related("building").order_by("building__name", "-number")
    for floor in floors:
        if not grid or grid[-1].building.pk != floor.building_id:
            grid.append(BuildingGrid(floor.building, []))
        grid[-1].floors.append(FloorRow(floor, rooms_by_floor.get(floor.pk, [])))
    return grid


def site_divisions(user: User) -> QuerySet[Division]:
    """Where the user may create a site: counties, streets and communities in their jurisdiction."""
    return scoped(Division.objects.exclude(level__in=[DivisionLevel.PROVINCE, DivisionLevel.CITY]), user)
