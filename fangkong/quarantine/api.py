"""REST endpoints of the quarantine app (mounted at /api/quarantine/): sites with occupancy and rooms, placements
(list, one, place people from the ledger, place one contact safely under retries, arrival) and the waitlist; the
care endpoints (floor readings, test lists and results, release) are in `api_care.py`, mounted here. As thin as
the views: parse, call a selector or a service; phones and ID numbers are masked in every response. Refusals are
the services' errors as 4xx JSON (`code`, `message`, `field`, and `row`/`details` for rows), made in one place
(`fangkong.api`)."""

from datetime import date, datetime
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from fangkong.core.api_access import api_requires
from fangkong.core.roles import Capability
from fangkong.quarantine.api_care import router as care_router
from fangkong.quarantine.api_common import ERRORS, documented_body, json_body
from fangkong.quarantine.models import Placement, Room, Site, WaitlistEntry
from fangkong.quarantine.selectors import placement as placement_selectors
from fangkong.quarantine.selectors import sites as site_selectors
from fangkong.quarantine.services import placement as placement_services
from fangkong.quarantine.services.placement import PlacementRequest
from fangkong.screening import selectors as screening_selectors

router = Router(tags=["quarantine"])
PlacementStatusFilter = Literal["active", "all", "waiting", "placed", "released", "transferred", "ended"]


class SiteOut(Schema):
    id: int
    name: str
    kind: str
    status: str
    division: str
    address: str
    lat: float | None
    lon: float | None
    room_count: int = 0
    bed_count: int = 0
    free_count: int = 0
    occupied_count: int = 0
    cleaning_count: int = 0
    out_of_service_count: int = 0
    people_count: int = 0
    checklist_done: int = 0
    checklist_total: int = 0
    zones_recorded: bool

    @staticmethod
    def resolve_division(site: Site) -> str:
        return site.division_id

    @staticmethod
    def resolve_zones_recorded(site: Site) -> bool:
        return site.has_zones_recorded


class RoomOut(Schema):
    id: int
    building: str
    floor: int
    number: str
    room_type: str
    beds: int
    status: str

    @staticmethod
    def resolve_building(room: Room) -> str:
        return room.floor.building.name

    @staticmethod
    def resolve_floor(room: Room) -> int:
        return room.floor.number


class PlacementOut(Schema):
    id: int
    person_id: int
    name: str
    phone_masked: str
    document_masked: str
    reason: str
    kind: str
    status: str
    site_id: int | None
    room: str | None
    share_reason: str
    companion_of_id: int | None
    edition_id: str
    start_date: date
    quarantine_end: date
    monitoring_end: date
    test_days: list[int]
    monitoring_test_days: list[int]
    placed_at: datetime | None

    @staticmethod
    def resolve_name(placement: Placement) -> str:
        return placement.person.name

    @staticmethod
    def resolve_phone_masked(placement: Placement) -> str:
        return placement.person.masked_phone

    @staticmethod
    def resolve_document_masked(placement: Placement) -> str:
        return placement.person.masked_document

    @staticmethod
    def resolve_room(placement: Placement) -> str | None:
        return placement.room.number if placement.room_id else None  # type: ignore[union-attr]


class WaitingOut(Schema):
    id: int
    person_id: int
    name: str
    phone_masked: str
    reason: str
    division: str
    start_date: date
    share_reason: str
    companion_of_id: int | None
    priority: int
    queued_at: datetime

    @staticmethod
    def resolve_name(entry: WaitlistEntry) -> str:
        return entry.person.name

    @staticmethod
    def resolve_phone_masked(entry: WaitlistEntry) -> str:
        return entry.person.masked_phone

    @staticmethod
    def resolve_division(entry: WaitlistEntry) -> str:
        return entry.division_id


class PlacementItemIn(Schema):
    entry_id: int
    start_date: date | None = None
    accompanies: int | None = Field(None, description="index in `people` of the person whose room this one shares")
    share_reason: str = ""
    room_type: str = ""


class PlaceIn(Schema):
    people: list[PlacementItemIn] = Field(
        default_factory=list, description="empty: nothing to place (a body without people is not an error)"
    )
    site_ids: list[int] | None = None
    arrived: bool = False


class PlaceOut(Schema):
    placed: list[int]
    home: list[int]
    waitlisted: list[int]


@router.get("/sites/", response=list[SiteOut])
@api_requires(Capability.QUARANTINE_VIEW)
@paginate(LimitOffsetPagination)
def list_sites(request: HttpRequest, status: str = "") -> QuerySet[Site]:
    return site_selectors.sites_with_occupancy(request.user, status=status)  # type: ignore[arg-type]


@router.get("/sites/{site_id}", response=SiteOut)
@api_requires(Capability.QUARANTINE_VIEW)
def get_site(request: HttpRequest, site_id: int) -> Site:
    site = site_selectors.access_site(request.user, site_id)  # type: ignore[arg-type]
    return site_selectors.sites_with_occupancy(request.user).get(pk=site.pk)  # type: ignore[arg-type]


@router.get("/sites/{site_id}/rooms", response=list[RoomOut])
@api_requires(Capability.QUARANTINE_VIEW)
@paginate(LimitOffsetPagination)
def list_rooms(request: HttpRequest, site_id: int) -> QuerySet[Room]:
    site = site_selectors.access_site(request.user, site_id)  # type: ignore[arg-type]
    return site_selectors.rooms_of(site)


@router.get("/placements/", response=list[PlacementOut])
@api_requires(Capability.QUARANTINE_VIEW)
@paginate(LimitOffsetPagination)
def list_placements(
    request: HttpRequest, site_id: int | None = None, status: PlacementStatusFilter = "active"
) -> QuerySet[Placement]:
    """Placements in the user's jurisdiction, newest first: `status` active (waiting or placed, the default),
    all, or one status; `site_id` narrows to one site."""
    return placement_selectors.placements(request.user, site_id=site_id, status=status)  # type: ignore[arg-type]


@router.get("/placements/{placement_id}", response=PlacementOut)
@api_requires(Capability.QUARANTINE_VIEW)
def get_placement(request: HttpRequest, placement_id: int) -> Placement:
    return placement_selectors.access_placement(request.user, placement_id)  # type: ignore[arg-type]


@router.post("/placements/", response=PlaceOut)
@api_requires(Capability.QUARANTINE_MANAGE)
def place(request: HttpRequest, payload: PlaceIn) -> dict[str, Any]:
    """Place people from the ledger (their pool entry ids): rooms by policy, companions by `accompanies`
    (the index in `people`), the waitlist when full. A bad row refuses the whole request (400, with `row`)."""
    user = request.user
    entries = {
        e.pk: e
        for e in placement_selectors.entries_for_placement(user, [p.entry_id for p in payload.people])  # type: ignore[arg-type]
    }
    requests = [
        PlacementRequest(
            entry=entries.get(item.entry_id),
            start_date=item.start_date,
            accompanies=item.accompanies,
            share_reason=item.share_reason,
            room_type=item.room_type,
        )
        for item in payload.people
    ]
    sites = (
        [site_selectors.access_site(user, site_id) for site_id in payload.site_ids]  # type: ignore[arg-type]
        if payload.site_ids
        else None
    )
    result = placement_services.place_contacts(requests, by=user, sites=sites, arrived=payload.arrived)  # type: ignore[arg-type]
    return {
        "placed": [p.pk for p in result.placed],
        "home": [p.pk for p in result.home],
        "waitlisted": [w.pk for w in result.waitlisted],
    }


@router.post("/placements/{placement_id}/arrival", response=PlacementOut)
@api_requires(Capability.QUARANTINE_WORK)
def record_arrival(request: HttpRequest, placement_id: int) -> Placement:
    placement = placement_selectors.access_placement(request.user, placement_id)  # type: ignore[arg-type]
    return placement_services.record_arrival(placement, by=request.user)  # type: ignore[arg-type]


@router.get("/waitlist/", response=list[WaitingOut])
@api_requires(Capability.QUARANTINE_VIEW)
@paginate(LimitOffsetPagination)
def list_waitlist(request: HttpRequest) -> QuerySet[WaitlistEntry]:
    return placement_selectors.waitlist(request.user)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ one contact, safe to retry


class PlaceContactIn(Schema):
    start_date: date | None = Field(None, description="day 0 (last exposure); default from tracing and the ledger")
    room_type: str = Field("", description="single / family / accessible; default by policy")
    site_ids: list[int] | None = Field(
        None, description="limit the candidate sites; default every ready or active site in scope"
    )
    arrived: bool = Field(False, description="already at the site: in quarantine now (else waiting for a pickup batch)")


class ContactPlacementOut(Schema):
    outcome: Literal["placed", "home", "waitlisted"]
    replayed: bool
    placement: PlacementOut | None
    waiting: WaitingOut | None

    @staticmethod
    def resolve_outcome(done: placement_services.ContactPlacement) -> str:
        if done.placement is None:
            return "waitlisted"
        return "home" if done.placement.kind == "home" else "placed"


@router.post(
    "/entries/{entry_id}/placement",
    response={200: ContactPlacementOut, 201: ContactPlacementOut, **ERRORS},
    openapi_extra=documented_body(PlaceContactIn),
)
@api_requires(Capability.QUARANTINE_MANAGE)
def place_contact(request: HttpRequest, entry_id: int, response: HttpResponse) -> Status:
    """Place one contact from their ledger entry. Safe to retry: the entry is the idempotency key — if it already
    has an active placement or a place on the waitlist (an earlier attempt whose answer was lost, or two attempts
    at once), that is returned with 200, `replayed: true` and the header `Idempotent-Replayed: true`, and nothing
    is written; a new placement answers 201. Refusals: 400 with `code` and `field` (e.g. not_awaiting_placement)."""
    user = request.user
    entry = screening_selectors.access_entry(user, entry_id)  # type: ignore[arg-type]
    payload = json_body(request, PlaceContactIn)
    sites = (
        [site_selectors.access_site(user, site_id) for site_id in payload.site_ids]  # type: ignore[arg-type]
        if payload.site_ids
        else None
    )
    done = placement_services.place_contact(
        entry,
        by=user,  # type: ignore[arg-type]
        start_date=payload.start_date,
        room_type=payload.room_type,
        sites=sites,
        arrived=payload.arrived,
    )
    if done.replayed:
        response["Idempotent-Replayed"] = "true"
    return Status(200 if done.replayed else 201, done)


router.add_router("", care_router)  # /floors/…, /sites/{id}/tests, /tests/…, /placements/{id}/release
