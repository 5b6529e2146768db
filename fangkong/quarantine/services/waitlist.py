"""The waitlist: people who need a centralized room while none is free. Placing them first-in first-out by
priority as rooms free up, and taking someone off it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core import audit
from fangkong.core.models import User
from fangkong.core.roles import Capability
from fangkong.core.scope import scoped
from fangkong.quarantine.models import (
    Site,
    WaitlistEntry,
    WaitlistStatus,
)
from fangkong.quarantine.selectors import placement as selectors
from fangkong.quarantine.services.booking import _place
from fangkong.quarantine.services.common import (
    QuarantineError,
    QuarantineErrorCode,
    require,
    require_in_scope,
)
from fangkong.quarantine.services.placement_requests import PlacementRequest, PlacementResult

E = QuarantineErrorCode


@transaction.atomic
def place_waitlisted(
    *, by: User | None, limit: int | None = None, sites: Iterable[Site] | None = None, now: datetime | None = None
) -> PlacementResult:
    """Place people from the waitlist, highest priority and longest waiting first, as rooms allow; those still
    without a room keep their place. Companions are placed with the person they accompany."""
    require(by, Capability.QUARANTINE_MANAGE)
    query = WaitlistEntry.objects.select_for_update(of=("self",)).filter(
        status=WaitlistStatus.WAITING, companion_of__isnull=True
    )
    if by is not None:
        query = scoped(query, by)
    holders = list(query.select_related("pool_entry", "person").order_by("-priority", "queued_at", "id")[:limit])
    stale = [w for w in holders if w.pool_entry is None or w.pool_entry.state not in selectors.AWAITING_STATES]
    if stale:  # left the loop while waiting (became a case, closed, placed at home): nothing to place any more
        _cancel_waiting(stale, by=by, reason="no longer awaiting placement in the ledger")
        holders = [w for w in holders if w not in stale]
    if not holders:
        return PlacementResult()
    companions = defaultdict(list)
    for companion in (
        WaitlistEntry.objects.select_for_update(of=("self",))
        .filter(companion_of__in=holders, status=WaitlistStatus.WAITING)
        .select_related("pool_entry", "person")
    ):
        companions[companion.companion_of_id].append(companion)
    requests: list[PlacementRequest] = []
    from_waitlist: dict[int, WaitlistEntry] = {}
    for holder in holders:
        holder_index = len(requests)
        from_waitlist[holder_index] = holder
        requests.append(
            PlacementRequest(
                entry=holder.pool_entry,
                person=holder.person,
                start_date=holder.start_date,
                room_type=holder.needs_room_type,
                priority=holder.priority,
            )
        )
        for companion in companions[holder.pk]:
            from_waitlist[len(requests)] = companion
            requests.append(
                PlacementRequest(
                    entry=companion.pool_entry,
                    person=companion.person,
                    start_date=companion.start_date,
                    accompanies=holder_index,
                    share_reason=companion.share_reason,
                )
            )
    return _place(
        requests,
        by=by,
        now=now or timezone.now(),
        arrived=False,
        sites=sites,
        waitlist_when_full=True,
        from_waitlist=from_waitlist,
    )


def _cancel_waiting(entries: list[WaitlistEntry], *, by: User | None, reason: str) -> list[int]:
    """Cancel waitlist entries with their waiting companions; returns the ids cancelled (one audit row each)."""
    now = timezone.now()
    cancelled: list[int] = []
    for entry in entries:
        ids = [entry.pk, *entry.companions.filter(status=WaitlistStatus.WAITING).values_list("pk", flat=True)]
        WaitlistEntry.objects.filter(pk__in=ids).update(status=WaitlistStatus.CANCELLED, resolved_at=now)
        audit.record(
            "quarantine.waitlist.cancel",
            by=by,
            target=entry,
            division_path=entry.division_id,
            changes={"status": [WaitlistStatus.WAITING, WaitlistStatus.CANCELLED], "entries": [None, ids]},
            reason=reason,
        )
        cancelled += ids
    return cancelled


@transaction.atomic
def cancel_waitlist_entry(entry: WaitlistEntry, *, by: User | None, reason: str) -> WaitlistEntry:
    require(by, Capability.QUARANTINE_MANAGE)
    require_in_scope(entry.division_id, by)
    if not reason.strip():
        raise QuarantineError(_("Give a reason."), field="reason")
    entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.status != WaitlistStatus.WAITING:
        raise QuarantineError(_("This person is no longer waiting."), code=E.INVALID_STATUS_CHANGE, field="status")
    _cancel_waiting([entry], by=by, reason=reason)
    entry.refresh_from_db()
    return entry
