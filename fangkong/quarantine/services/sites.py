"""Sites, their readiness checklist, buildings, floors and rooms: create, edit, status changes, bulk room
creation floor by floor. Every change is one transaction with its audit row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core import audit
from fangkong.core.models import Division, DivisionLevel, User
from fangkong.core.roles import Capability
from fangkong.quarantine.models import (
    ACTIVE_PLACEMENT_STATUSES,
    Building,
    Floor,
    Placement,
    Room,
    RoomBooking,
    RoomStatus,
    RoomType,
    Site,
    SiteChecklistItem,
    SiteKind,
    SiteStatus,
)
from fangkong.quarantine.services.common import (
    QuarantineError,
    QuarantineErrorCode,
    require,
    require_in_scope,
)

# The readiness checklist every new site starts with (code, label); sites may add their own lines.
DEFAULT_CHECKLIST: tuple[tuple[str, Any], ...] = (
    ("zones_marked", _("Clean, buffer and contaminated zones marked and physically separated")),
    ("passages_separate", _("Staff passage and resident passage separate, signposted, never crossing")),
    ("rooms_single", _("Rooms for single occupancy, each with its own bathroom")),
    ("ventilation", _("Ventilation checked: no shared central air conditioning between rooms")),
    ("door_alarms", _("Door alarms or cameras on every resident floor")),
    ("medical_on_site", _("Medical staff on duty around the clock, with a fever workflow")),
    ("disinfection", _("Disinfection supplies, protective equipment and medical waste handling in place")),
    ("staff_closed_loop", _("Staff accommodation inside the closed loop, separate from residents")),
    ("meals_contactless", _("Contactless meal and supply delivery to the doors")),
)

SITE_FIELDS = (
    "name",
    "kind",
    "address",
    "lat",
    "lon",
    "contact_name",
    "contact_phone",
    "clean_zone",
    "buffer_zone",
    "contaminated_zone",
    "staff_passage",
    "resident_passage",
)

ST = SiteStatus
SITE_TRANSITIONS: dict[str, frozenset[str]] = {
    ST.STANDBY: frozenset({ST.READY, ST.CLOSED}),
    ST.READY: frozenset({ST.ACTIVE, ST.STANDBY, ST.CLOSED}),
    ST.ACTIVE: frozenset({ST.READY, ST.CLOSED}),
    ST.CLOSED: frozenset({ST.STANDBY}),
}

MAX_FLOORS = 100
MAX_ROOMS_PER_FLOOR = 200


def _check_location(lat: float | None, lon: float | None) -> None:
    if (lat is None) != (lon is None):
        raise QuarantineError(_("Give both latitude and longitude, or neither."), field="lat")
    if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise QuarantineError(_("The location is outside the valid range."), field="lat")


@transaction.atomic
def create_site(
    *,
    division: Division,
    name: str,
    by: User | None,
    kind: str = SiteKind.HOTEL,
    address: str = "",
    lat: float | None = None,
    lon: float | None = None,
    **details: str,
) -> Site:
    """A new site in `division` (a county, street or community inside the user's jurisdiction), on standby,
    with the default readiness checklist. `details`: contact_name, contact_phone and the five zone/passage
    fields of SITE_FIELDS."""
    require(by, Capability.QUARANTINE_MANAGE)
    require_in_scope(division.path, by)
    if division.level in (DivisionLevel.PROVINCE, DivisionLevel.CITY):
        raise QuarantineError(_("A site belongs to a county, street or community."), field="division")
    name = name.strip()
    if not name:
        raise QuarantineError(_("Give the site a name."), field="name")
    if Site.objects.filter(division=division, name=name).exists():
        raise QuarantineError(_("A site with this name already exists here."), field="name")
    if kind not in SiteKind.values:
        raise QuarantineError(_("Unknown site kind."), field="kind")
    unknown = set(details) - set(SITE_FIELDS)
    if unknown:
        raise TypeError(f"create_site() got unknown fields {sorted(unknown)}")
    _check_location(lat, lon)
    site = Site.objects.create(
        division=division, name=name, kind=kind, address=address, lat=lat, lon=lon, created_by=by, **details
    )
    SiteChecklistItem.objects.bulk_create(
        SiteChecklistItem(site=site, code=code, label=str(label), position=n)
        for n, (code, label) in enumerate(DEFAULT_CHECKLIST)
    )
    audit.record(
        "quarantine.site.create",
        by=by,
        target=site,
        division_path=site.division_id,
        changes={"name": [None, name], "kind": [None, kind], "status": [None, site.status]},
    )
    return site


@transaction.atomic
def update_site(site: Site, *, by: User | None, **fields: Any) -> Site:
    """Edit a site's details (SITE_FIELDS); its jurisdiction and status change only through their services."""
    require(by, Capability.QUARANTINE_MANAGE)
    require_in_scope(site.division_id, by)
    unknown = set(fields) - set(SITE_FIELDS)
    if unknown:
        raise TypeError(f"update_site() got unknown fields {sorted(unknown)}")
    site = Site.objects.select_for_update().get(pk=site.pk)
    if "name" in fields:
        fields["name"] = str(fields["name"]).strip()
        if not fields["name"]:
            raise QuarantineError(_("Give the site a name."), field="name")
        if Site.objects.filter(division_id=site.division_id, name=fields["name"]).exclude(pk=site.pk).exists():
            raise QuarantineError(_("A site with this name already exists here."), field="name")
    _check_location(fields.get("lat", site.lat), fields.get("lon", site.lon))
    old = {key: getattr(site, key) for key in fields}
    for key, value in fields.items():
        setattr(site, key, value)
    site.save(update_fields=list(fields))
    audit.record(
        "quarantine.site.update",
        by=by,
        target=site,
        division_path=site.division_id,
        changes=audit.diff(old, {key: getattr(site, key) for key in fields}),
    )
    return site


def _active_placements(site: Site) -> int:
    return Placement.objects.filter(site=site, status__in=ACTIVE_PLACEMENT_STATUSES).count()


@transaction.atomic
def set_site_status(site: Site, *, status: str, by: User | None, reason: str = "") -> Site:
    """standby → ready (checklist complete and zones recorded) → active (housing people) → ready/closed; a site
    with people in it is neither closed nor put back on standby."""
    require(by, Capability.QUARANTINE_MANAGE)
    require_in_scope(site.division_id, by)
    site = Site.objects.select_for_update().get(pk=site.pk)
    if status not in SiteStatus.values or status not in SITE_TRANSITIONS[site.status]:
        raise QuarantineError(
            _("A site cannot go from %(old)s to %(new)s.")
            % {
                "old": SiteStatus(site.status).label,
                "new": status if status not in SiteStatus.values else ST(status).label,
            },
            code=QuarantineErrorCode.INVALID_STATUS_CHANGE,
            field="status",
        )
    if status == ST.READY and site.status == ST.STANDBY:
        missing = list(site.checklist.filter(is_done=False).values_list("label", flat=True))
        if missing or not site.has_zones_recorded:
            raise QuarantineError(
                _(
                    "The site is not ready: record the three zones and two passages and complete the checklist "
                    "(%(count)s items open)."
                )
                % {"count": len(missing)},
                code=QuarantineErrorCode.SITE_NOT_READY,
                field="status",
                details=[{"item": label} for label in missing],
            )
    if status in (ST.STANDBY, ST.CLOSED) and _active_placements(site):
        raise QuarantineError(
            _("People are quarantined at this site: move or release them first."),
            code=QuarantineErrorCode.SITE_OCCUPIED,
            field="status",
        )
    old = site.status
    site.status = status
    site.save(update_fields=["status"])
    audit.record(
        "quarantine.site.status",
        by=by,
        target=site,
        division_path=site.division_id,
        changes={"status": [old, status]},
        reason=reason,
    )
    return site


@transaction.atomic
def set_checklist_item(item: SiteChecklistItem, *, is_done: bool, by: User | None, note: str = "") -> SiteChecklistItem:
    require(by, Capability.QUARANTINE_MANAGE)
    require_in_scope(item.site.division_id, by)
    item = SiteChecklistItem.objects.select_for_update().get(pk=item.pk)
    old = item.is_done
    item.is_done = is_done
    item.done_at = timezone.now() if is_done else None
    item.done_by = by if is_done and by is not None and by.pk else None
    item.note = note[:300]
    item.save(update_fields=["is_done", "done_at", "done_by", "note"])
    audit.record(
        "quarantine.site.checklist",
        by=by,
        target=item,
        division_path=item.site.division_id,
        changes={"code": [None, item.code], "is_done": [old, is_done]},
        reason=note,
    )
    return item


@transaction.atomic
def add_checklist_item(site: Site, *, label: str, by: User | None) -> SiteChecklistItem:
    require(by, Capability.QUARANTINE_MANAGE)
    require_in_scope(site.division_id, by)
    label = label.strip()
    if not label:
        raise QuarantineError(_("Describe the checklist item."), field="label")
    position = (site.checklist.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    item = SiteChecklistItem.objects.create(site=site, code=f"local_{position}", label=label[:200], position=position)
    audit.record(
        "quarantine.site.checklist_add",
        by=by,
        target=item,
        division_path=site.division_id,
        changes={"label": [None, item.label]},
    )
    return item


@dataclass(frozen=True)
class RoomLayout:
    """Rooms to create in one building: floors first..last, `rooms_per_floor` numbered floor + two digits
    from `first_number` (floor 3 → 301, 302, …; three digits when a floor has 100 rooms or more)."""

    building: str
    first_floor: int
    last_floor: int
    rooms_per_floor: int
    room_type: str = RoomType.SINGLE
    beds: int = 1
    first_number: int = 1

    def numbers(self, floor: int) -> list[str]:
        width = 3 if self.first_number + self.rooms_per_floor - 1 >= 100 else 2
        return [f"{floor}{n:0{width}d}" for n in range(self.first_number, self.first_number + self.rooms_per_floor)]


def _check_layout(layout: RoomLayout) -> None:
    if not layout.building.strip():
        raise QuarantineError(_("Name the building."), field="building")
    if layout.last_floor < layout.first_floor:
        raise QuarantineError(_("The last floor is below the first."), field="last_floor")
    if layout.last_floor - layout.first_floor + 1 > MAX_FLOORS:
        raise QuarantineError(_("At most %(n)s floors at a time.") % {"n": MAX_FLOORS}, field="last_floor")
    if not 1 <= layout.rooms_per_floor <= MAX_ROOMS_PER_FLOOR:
        raise QuarantineError(
            _("Rooms per floor must be between 1 and %(n)s.") % {"n": MAX_ROOMS_PER_FLOOR}, field="rooms_per_floor"
        )
    if layout.first_number < 0:
        raise QuarantineError(_("Room numbers start at 0 or above."), field="first_number")
    if layout.room_type not in RoomType.values:
        raise QuarantineError(_("Unknown room type."), field="room_type")
    if not 1 <= layout.beds <= 10:
        raise QuarantineError(_("A room has 1 to 10 beds."), field="beds")
    if layout.room_type == RoomType.SINGLE and layout.beds != 1:
        raise QuarantineError(_("A single room has one bed."), field="beds")


@transaction.atomic
def create_rooms(site: Site, *, layout: RoomLayout, by: User | None) -> int:
    """Create a building's rooms floor by floor in one go; refused as a whole if any number already exists."""
    require(by, Capability.QUARANTINE_MANAGE)
    require_in_scope(site.division_id, by)
    _check_layout(layout)
    site = Site.objects.select_for_update().get(pk=site.pk)
    building, _created = Building.objects.get_or_create(site=site, name=layout.building.strip())
    floor_numbers = range(layout.first_floor, layout.last_floor + 1)
    existing_floors = {floor.number: floor for floor in Floor.objects.filter(building=building)}
    Floor.objects.bulk_create(Floor(building=building, number=n) for n in floor_numbers if n not in existing_floors)
    floors = {floor.number: floor for floor in Floor.objects.filter(building=building, number__in=floor_numbers)}
    taken = set(Room.objects.filter(floor__in=floors.values()).values_list("floor__number", "number").order_by())
    rooms: list[Room] = []
    for floor_number in floor_numbers:
        for number in layout.numbers(floor_number):
            if (floor_number, number) in taken:
                raise QuarantineError(
                    _("Room %(number)s already exists in %(building)s.")
                    % {"number": number, "building": building.name},
                    code=QuarantineErrorCode.ROOM_NUMBER_TAKEN,
                    field="first_number",
                )
            rooms.append(
                Room(
                    site=site,
                    floor=floors[floor_number],
                    number=number,
                    room_type=layout.room_type,
                    beds=layout.beds,
                )
            )
    Room.objects.bulk_create(rooms, batch_size=2000)
    audit.record(
        "quarantine.site.rooms_create",
        by=by,
        target=site,
        division_path=site.division_id,
        changes={
            "building": [None, building.name],
            "floors": [None, [layout.first_floor, layout.last_floor]],
            "rooms": [None, len(rooms)],
            "room_type": [None, layout.room_type],
            "beds": [None, layout.beds],
        },
    )
    return len(rooms)


# What staff may set by hand; OCCUPIED follows the room's bookings.
MANUAL_ROOM_STATUSES = (RoomStatus.AVAILABLE, RoomStatus.CLEANING, RoomStatus.OUT_OF_SERVICE)


@transaction.atomic
def set_room_status(room: Room, *, status: str, by: User | None, reason: str = "") -> Room:
    """Cleaning done, out of service, back in service. A room someone is booked into keeps its booking: it can
    be neither freed nor taken out of service by hand."""
    require(by, Capability.QUARANTINE_WORK)
    require_in_scope(room.site.division_id, by)
    if status not in MANUAL_ROOM_STATUSES:
        raise QuarantineError(
            _("A room becomes occupied by placing someone in it."),
            code=QuarantineErrorCode.INVALID_STATUS_CHANGE,
            field="status",
        )
    room = Room.objects.select_for_update().get(pk=room.pk)
    if RoomBooking.objects.filter(room=room, ended_at__isnull=True).exists():
        raise QuarantineError(
            _("Room %(number)s is occupied.") % {"number": room.number},
            code=QuarantineErrorCode.ROOM_TAKEN,
            field="status",
        )
    old = room.status
    room.status = status
    room.save(update_fields=["status"])
    audit.record(
        "quarantine.room.status",
        by=by,
        target=room,
        division_path=room.site.division_id,
        changes={"status": [old, status]},
        reason=reason,
    )
    return room
