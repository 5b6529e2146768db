"""Reads for placement: who awaits placement, the waitlist, placements, pickup batches, and the facts the
allocator needs (exposure dates, where people live, free rooms). Everything that reaches a user is scoped."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from fangkong.core.models import Division, User
from fangkong.core.scope import get_scoped, scoped
from fangkong.quarantine.models import (
    ACTIVE_PLACEMENT_STATUSES,
    PLACEMENT_REASONS,
    PickupBatch,
    PickupStatus,
    Placement,
    PlacementStatus,
    Room,
    RoomBooking,
    RoomStatus,
    ScheduledTest,
    WaitlistEntry,
    WaitlistStatus,
)
from fangkong.screening import selectors as screening_selectors
from fangkong.screening.models import LoopState, PoolEntry, RiskReport
from fangkong.tracing.models import Contact, ContactStatus

# Ledger states in which a person may still be placed: listed, located or tested, not yet quarantined.
AWAITING_STATES = (LoopState.LISTED, LoopState.LOCATED, LoopState.TESTED)


def _has_placement_reason() -> Q:
    condition = Q()
    for reason in PLACEMENT_REASONS:
        condition |= Q(reasons__icontains=f'"{reason}"')
    return condition


def awaiting_placement(user: User) -> QuerySet[PoolEntry]:
    """Ledger entries in the user's jurisdiction whose reason leads to quarantine and who are neither placed
    nor on the waitlist yet, oldest first."""
    active = Placement.objects.filter(person_id=OuterRef("person_id"), status__in=ACTIVE_PLACEMENT_STATUSES)
    waiting = WaitlistEntry.objects.filter(person_id=OuterRef("person_id"), status=WaitlistStatus.WAITING)
    return (
        screening_selectors.entries_in_scope(user)
        .filter(state__in=AWAITING_STATES)
        .filter(_has_placement_reason())
        .filter(~Exists(active), ~Exists(waiting))
        .select_related("person", "division")
        .order_by("listed_at", "id")
    )


def entries_for_placement(user: User, entry_ids: Iterable[int]) -> list[PoolEntry]:
    """The chosen entries, in the user's jurisdiction (others are silently not found), in the given order."""
    ids = list(dict.fromkeys(int(i) for i in entry_ids))
    found = {e.pk: e for e in screening_selectors.entries_in_scope(user).filter(pk__in=ids).select_related("person")}
    return [found[i] for i in ids if i in found]


def waitlist(user: User) -> QuerySet[WaitlistEntry]:
    return (
        scoped(WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING), user)
        .select_related("person", "division", "companion_of")
        .order_by("-priority", "queued_at", "id")
    )


def access_waiting(user: User, waiting_id: int) -> WaitlistEntry:
    return get_scoped(WaitlistEntry.objects.select_related("person"), user, pk=waiting_id)


def placements(user: User, *, site_id: int | None = None, status: str = "active") -> QuerySet[Placement]:
    found = scoped(Placement.objects.all(), user).select_related("person", "site", "room", "room__floor__building")
    if site_id is not None:
        found = found.filter(site_id=site_id)
    if status == "active":
        found = found.filter(status__in=ACTIVE_PLACEMENT_STATUSES)
    elif status in PlacementStatus.values:
        found = found.filter(status=status)
    return found.order_by("-created_at", "-id")


def access_placement(user: User, placement_id: int) -> Placement:
    return get_scoped(Placement.objects.select_related("person", "site", "room", "booking"), user, pk=placement_id)


def placement_from_entry(entry: PoolEntry) -> Placement | None:
    """The active placement made from this ledger entry (waiting for transfer, or in quarantine), if any."""
    return (
        Placement.objects.filter(pool_entry=entry, status__in=ACTIVE_PLACEMENT_STATUSES)
        .select_related("person", "site", "room")
        .first()
    )


def waiting_from_entry(entry: PoolEntry) -> WaitlistEntry | None:
    """This ledger entry's place on the waitlist while it waits for a room, if any."""
    return (
        WaitlistEntry.objects.filter(pool_entry=entry, status=WaitlistStatus.WAITING).select_related("person").first()
    )


def companions_of(placement: Placement) -> QuerySet[Placement]:
    """Who shares the placement's room now (the holder's companions, or the holder and the others)."""
    if placement.booking_id is None:
        return Placement.objects.none()
    return (
        Placement.objects.filter(booking_id=placement.booking_id, status__in=ACTIVE_PLACEMENT_STATUSES)
        .exclude(pk=placement.pk)
        .select_related("person")
        .order_by("id")
    )


def tests_of(placement: Placement) -> QuerySet[ScheduledTest]:
    return placement.tests.order_by("due_on", "id")


def pickup_batches(user: User, *, show: str = "open") -> QuerySet[PickupBatch]:
    found = scoped(PickupBatch.objects.select_related("site"), user)
    if show == "open":
        found = found.filter(status__in=[PickupStatus.PLANNED, PickupStatus.EN_ROUTE])
    return found.order_by("scheduled_at", "id")


def access_pickup(user: User, batch_id: int) -> PickupBatch:
    return get_scoped(PickupBatch.objects.select_related("site"), user, pk=batch_id)


def pickup_members(batch: PickupBatch) -> QuerySet[Placement]:
    return (
        Placement.objects.filter(pickups__batch=batch)
        .select_related("person", "room", "room__floor__building")
        .order_by("room__floor__building__name", "room__number", "id")
    )


def awaiting_pickup(user: User, *, site_id: int | None = None) -> QuerySet[Placement]:
    """Placements with a room but not yet at the site, and in no planned or running pickup batch."""
    in_batch = Exists(
        Placement.objects.filter(
            pk=OuterRef("pk"), pickups__batch__status__in=[PickupStatus.PLANNED, PickupStatus.EN_ROUTE]
        )
    )
    found = scoped(Placement.objects.filter(status=PlacementStatus.WAITING), user).filter(~in_batch)
    if site_id is not None:
        found = found.filter(site_id=site_id)
    return found.select_related("person", "site", "room").order_by("site_id", "created_at", "id")


# --------------------------------------------------------------------------- facts the allocator needs


def exposure_dates(entries: list[PoolEntry]) -> dict[int, date]:
    """Day 0 of each entry's quarantine clock: the last exposure to a confirmed case (tracing's contacts), else
    the latest arrival from a risk area (the ledger's reports), else the day the person was listed."""
    person_ids = [entry.person_id for entry in entries]
    exposure: dict[int, date] = {}
    for person_id, moment in (
        Contact.objects.filter(person_id__in=person_ids, status=ContactStatus.CONFIRMED, last_exposure_at__isnull=False)
        .order_by("last_exposure_at")
        .values_list("person_id", "last_exposure_at")
    ):
        exposure[person_id] = timezone.localtime(moment).date()  # the latest wins (ascending order)
    arrived: dict[int, date] = {}
    for entry_id, moment in (
        RiskReport.objects.filter(entry__in=[e.pk for e in entries], arrived_at__isnull=False)
        .order_by("arrived_at")
        .values_list("entry_id", "arrived_at")
    ):
        arrived[entry_id] = timezone.localtime(moment).date()
    return {
        entry.pk: exposure.get(entry.person_id) or arrived.get(entry.pk) or timezone.localtime(entry.listed_at).date()
        for entry in entries
    }


def division_points(paths: Iterable[str]) -> dict[str, tuple[float, float] | None]:
    """(lat, lon) for each division path, from the division itself or its nearest ancestor with coordinates;
    None when no node on the way up has any."""
    wanted = set(paths)
    prefixes = {path[:n] for path in wanted for n in (4, 6, 9, 12) if len(path) >= n}
    known: dict[str, tuple[float, float]] = {}
    for path, lat, lon in (
        Division.objects.filter(path__in=prefixes, lat__isnull=False, lon__isnull=False)
        .values_list("path", "lat", "lon")
        .order_by()
    ):
        if lat is not None and lon is not None:
            known[path] = (lat, lon)
    points: dict[str, tuple[float, float] | None] = {}
    for path in wanted:
        points[path] = next((known[path[:n]] for n in (12, 9, 6, 4) if len(path) >= n and path[:n] in known), None)
    return points


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def free_rooms(site_ids: Iterable[int]) -> list[tuple[int, int, str, int]]:
    """(room_id, site_id, room_type, beds) of every available room with no open booking, in floor and room
    order (fill a site floor by floor)."""
    open_booking = RoomBooking.objects.filter(room_id=OuterRef("pk"), ended_at__isnull=True)
    return list(
        Room.objects.filter(site_id__in=list(site_ids), status=RoomStatus.AVAILABLE)
        .filter(~Exists(open_booking))
        .order_by("site_id", "floor__building__name", "floor__number", "number")
        .values_list("id", "site_id", "room_type", "beds")
    )
