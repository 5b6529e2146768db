"""Placing people from the closed loop into quarantine: rooms by policy, the waitlist, pickup batches, arrival.

`place_contacts()` is the one path, for one person or ten thousand:
1. check every request (open ledger entry awaiting placement, in the user's jurisdiction, a reason that leads
   to quarantine, nobody twice, companions well formed) — any bad row refuses the whole call, naming the row;
2. freeze the terms of the edition in force where each person is listed (`schedule.terms_for`): home or
   centralized, end of quarantine and of home health monitoring, test days;
3. allocate rooms in memory: one person per room except the recorded companions (a child with their guardian, a
   carer); for each group the sites are ranked by jurisdiction (same county as the person's home first), then
   distance (haversine from the home community, or its nearest ancestor with coordinates), then free rooms;
4. lock the chosen rooms (`SELECT … FOR UPDATE SKIP LOCKED`) and re-check they have no open booking; rooms taken
   by a concurrent placement are replaced from the remaining free rooms;
5. insert the bookings, placements and scheduled tests in bulk; the partial unique indexes (one open booking per
   room, one holder per booking, one active placement per person) are the final word — a conflict the locks did
   not prevent rolls the call back with a clear error instead of double-booking;
6. groups with no free room go on the waitlist; home placements and people already at the site move the
   screening ledger (`record_quarantined_many`); one audit row names every placement and waitlist entry.

Where each part lives (this module keeps every public name importable from here):
`placement_requests` (1–2: requests, checks, terms), `site_choice` (3–4: sites and rooms), `booking` (5–6:
the writes), `waitlist` (placing and cancelling the waitlist), `pickup` (pickup batches and arrival); this
module has `place_contacts` and the leaving side (`vacate`, `cancel_placement`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core import audit
from fangkong.core.errors import ConflictError
from fangkong.core.models import User
from fangkong.core.roles import Capability
from fangkong.quarantine.models import (
    ACTIVE_PLACEMENT_STATUSES,
    EndReason,
    Placement,
    PlacementStatus,
    Room,
    RoomBooking,
    RoomStatus,
    ScheduledTest,
    ShareReason,
    Site,
    TestStatus,
    WaitlistEntry,
)
from fangkong.quarantine.selectors import placement as selectors
from fangkong.quarantine.services.booking import _place
from fangkong.quarantine.services.common import (
    QuarantineError,
    QuarantineErrorCode,
    require,
    require_in_scope,
)
from fangkong.quarantine.services.pickup import (
    PICKUP_TRANSITIONS,
    create_pickup_batch,
    record_arrival,
    set_pickup_status,
)
from fangkong.quarantine.services.placement_requests import (
    COMPANION_REASONS,
    PlacementRequest,
    PlacementResult,
    _as_request,
)
from fangkong.quarantine.services.waitlist import cancel_waitlist_entry, place_waitlisted
from fangkong.screening.models import PoolEntry

E = QuarantineErrorCode

__all__ = [
    "COMPANION_REASONS",
    "ContactPlacement",
    "PICKUP_TRANSITIONS",
    "PlacementRequest",
    "PlacementResult",
    "cancel_placement",
    "cancel_waitlist_entry",
    "create_pickup_batch",
    "place_contact",
    "place_contacts",
    "place_waitlisted",
    "record_arrival",
    "set_pickup_status",
    "vacate",
]


@transaction.atomic
def place_contacts(
    requests: Sequence[PlacementRequest | PoolEntry],
    *,
    by: User | None,
    arrived: bool = False,
    sites: Iterable[Site] | None = None,
    waitlist_when_full: bool = True,
    now: datetime | None = None,
) -> PlacementResult:
    """Place people from the closed loop (see the module docstring). `arrived`: they are already at the site
    (status placed, ledger moved now); otherwise centralized placements wait for their pickup batch. `sites`
    limits the candidate sites (default: every ready or active site in the user's jurisdiction). A bad row
    refuses the whole call (QuarantineError with `row`, `field` and every error in `details`)."""
    require(by, Capability.QUARANTINE_MANAGE)
    items = [_as_request(item) for item in requests]
    if not items:
        return PlacementResult()
    return _place(
        items,
        by=by,
        now=now or timezone.now(),
        arrived=arrived,
        sites=sites,
        waitlist_when_full=waitlist_when_full,
    )


@dataclass(frozen=True)
class ContactPlacement:
    """What placing one contact came to: their placement (centralized with a room, or at home) or, when no room
    was free, their waitlist entry. `replayed`: it had been done before (a client's retry, or two calls at once)
    and this call wrote nothing."""

    placement: Placement | None = None
    waiting: WaitlistEntry | None = None
    replayed: bool = False


def _placed_from(entry: PoolEntry) -> ContactPlacement | None:
    placement = selectors.placement_from_entry(entry)
    if placement is not None:
        return ContactPlacement(placement=placement, replayed=True)
    waiting = selectors.waiting_from_entry(entry)
    return ContactPlacement(waiting=waiting, replayed=True) if waiting is not None else None


def place_contact(
    entry: PoolEntry,
    *,
    by: User | None,
    start_date: date | None = None,
    room_type: str = "",
    sites: Iterable[Site] | None = None,
    arrived: bool = False,
    now: datetime | None = None,
) -> ContactPlacement:
    """Place one contact from the ledger, safe to repeat: when this ledger entry already has an active placement
    or a place on the waitlist, that is returned (`replayed`) and nothing is written. The database's one active
    placement per person decides between two calls at once; the loser returns the winner's placement. Otherwise
    `place_contacts` for this one entry (same checks, terms, rooms and waitlist)."""
    require(by, Capability.QUARANTINE_MANAGE)
    require_in_scope(entry.division_id, by)
    done = _placed_from(entry)
    if done is not None:
        return done
    request = PlacementRequest(entry=entry, start_date=start_date, room_type=room_type)
    try:
        result = place_contacts([request], by=by, sites=sites, arrived=arrived, now=now)
    except (QuarantineError, ConflictError) as error:
        done = _placed_from(entry) if error.code == E.ALREADY_PLACED else None
        if done is None:
            raise
        return done
    placed = result.placed + result.home
    return ContactPlacement(
        placement=placed[0] if placed else None, waiting=result.waitlisted[0] if result.waitlisted else None
    )


# ------------------------------------------------------------------------------------------ leaving rooms


def vacate(placement: Placement, *, by: User | None, at: datetime | None = None) -> RoomBooking | None:
    """The room side of a placement that has just ended (released, transferred, ended — set its status first,
    in the same transaction). If the person held the room and companions stay, the first companion takes the
    booking over; when nobody is left the booking closes and the room goes to cleaning. Returns the booking
    (None for home quarantine). Called by the release and transfer services."""
    if placement.is_active:
        raise QuarantineError(
            _("End the placement before freeing its room."), code=E.INVALID_STATUS_CHANGE, field="status"
        )
    if placement.booking_id is None:
        return None
    booking = RoomBooking.objects.select_for_update().get(pk=placement.booking_id)
    staying = list(
        Placement.objects.select_for_update()
        .filter(booking=booking, status__in=ACTIVE_PLACEMENT_STATUSES)
        .order_by("id")
    )
    at = at or timezone.now()
    if staying:
        holder = next((p for p in staying if not p.share_reason), None)
        if holder is None:
            new_holder = staying[0]
            Placement.objects.filter(pk=new_holder.pk).update(share_reason=ShareReason.HOLDER, companion_of=None)
            Placement.objects.filter(pk__in=[p.pk for p in staying[1:]]).update(companion_of=new_holder)
            audit.record(
                "quarantine.placement.hold_room",
                by=by,
                target=new_holder,
                division_path=new_holder.division_id,
                changes={"share_reason": [new_holder.share_reason, ""], "booking": [None, booking.pk]},
            )
        return booking
    booking.ended_at = max(at, booking.started_at)
    booking.save(update_fields=["ended_at"])
    Room.objects.filter(pk=booking.room_id).update(status=RoomStatus.CLEANING)
    audit.record(
        "quarantine.room.vacate",
        by=by,
        target=booking,
        division_path=placement.division_id,
        changes={"room": [booking.room_id, None], "status": [RoomStatus.OCCUPIED, RoomStatus.CLEANING]},
    )
    return booking


@transaction.atomic
def cancel_placement(placement: Placement, *, by: User | None, reason: str) -> Placement:
    """Undo a placement made in error while the person has not yet arrived (status waiting): the room is freed
    at once (no cleaning needed) and the person is awaiting placement again."""
    require(by, Capability.QUARANTINE_MANAGE)
    require_in_scope(placement.division_id, by)
    if not reason.strip():
        raise QuarantineError(_("Give a reason."), field="reason")
    placement = Placement.objects.select_for_update().get(pk=placement.pk)
    if placement.status != PlacementStatus.WAITING:
        raise QuarantineError(
            _("Only a placement still waiting for transfer can be cancelled."),
            code=E.INVALID_STATUS_CHANGE,
            field="status",
        )
    group = [
        placement,
        *Placement.objects.select_for_update().filter(companion_of=placement, status=PlacementStatus.WAITING),
    ]
    now = timezone.now()
    Placement.objects.filter(pk__in=[p.pk for p in group]).update(
        status=PlacementStatus.ENDED, end_reason=EndReason.CANCELLED, ended_at=now
    )
    ScheduledTest.objects.filter(placement__in=group, status=TestStatus.DUE).update(status=TestStatus.CANCELLED)
    placement.refresh_from_db()
    booking = vacate(placement, by=by, at=now)
    if booking is not None and booking.ended_at is not None:
        Room.objects.filter(pk=booking.room_id).update(status=RoomStatus.AVAILABLE)
    audit.record(
        "quarantine.placement.cancel",
        by=by,
        target=placement,
        division_path=placement.division_id,
        changes={
            "status": [PlacementStatus.WAITING, PlacementStatus.ENDED],
            "placements": [None, [p.pk for p in group]],
        },
        reason=reason,
    )
    return placement
