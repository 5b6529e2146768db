"""What a placement call is asked and whether it can be done: `PlacementRequest`, `PlacementResult`, locking the
people being placed and checking every request (a bad row refuses the whole call) with the terms frozen from
the policy edition. Used by `placement.place_contacts` and `waitlist.place_waitlisted` through `booking._place`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext_lazy as _

from fangkong.core.editions import PolicyEdition
from fangkong.core.models import User
from fangkong.core.policy import active_edition
from fangkong.core.scope import is_in_scope
from fangkong.people.models import Person
from fangkong.quarantine.models import (
    ACTIVE_PLACEMENT_STATUSES,
    Placement,
    PlacementKind,
    RoomType,
    ShareReason,
    WaitlistEntry,
    WaitlistStatus,
)
from fangkong.quarantine.schedule import Terms
from fangkong.quarantine.selectors import placement as selectors
from fangkong.quarantine.services.common import (
    QuarantineError,
    QuarantineErrorCode,
    placement_kind,
    placement_reason,
    placement_terms,
)
from fangkong.screening.models import PoolEntry

E = QuarantineErrorCode

CHUNK = 5000
COMPANION_REASONS = (ShareReason.CHILD_WITH_GUARDIAN, ShareReason.GUARDIAN_OF_CHILD, ShareReason.CARER)


@dataclass(frozen=True)
class PlacementRequest:
    """One person to place. `entry`: their open ledger entry. A companion who is not at risk themselves (a
    guardian, a carer) has no entry: give `person` instead. `accompanies` is the index, in the same call, of the
    request whose room they share, with `share_reason` saying why. `start_date` overrides the exposure date the
    ledger and tracing give; `room_type` asks for a room type (e.g. accessible); `priority` orders the waitlist."""

    entry: PoolEntry | None = None
    person: Person | None = None
    start_date: date | None = None
    accompanies: int | None = None
    share_reason: str = ""
    room_type: str = ""
    priority: int = 0


@dataclass
class PlacementResult:
    placed: list[Placement] = field(default_factory=list)  # centralized, with a room (waiting or placed)
    home: list[Placement] = field(default_factory=list)  # home quarantine
    waitlisted: list[WaitlistEntry] = field(default_factory=list)  # no free room: on the waitlist

    @property
    def counts(self) -> dict[str, int]:
        return {"placed": len(self.placed), "home": len(self.home), "waitlisted": len(self.waitlisted)}


@dataclass
class _Row:
    index: int
    request: PlacementRequest
    person: Person
    terms: Terms
    kind: str
    division: str  # where the person is listed (the ledger entry's division, or the holder's)
    companions: list[int] = field(default_factory=list)
    waitlist: WaitlistEntry | None = None  # when placed from the waitlist


def _as_request(item: PlacementRequest | PoolEntry) -> PlacementRequest:
    return item if isinstance(item, PlacementRequest) else PlacementRequest(entry=item)


def _error(message: object, code: E, row: int, field_name: str = "entry") -> dict[str, object]:
    return {"row": row, "field": field_name, "code": str(code), "message": str(message)}


def _lock_people(requests: list[PlacementRequest]) -> None:
    """Lock the people being placed (in id order, so concurrent calls cannot deadlock) and re-read their ledger
    states: a concurrent call placing the same person waits here, then sees that person placed and refuses."""
    people = sorted(
        {r.entry.person_id if r.entry is not None else r.person.pk for r in requests if r.entry or r.person}  # type: ignore[union-attr]
    )
    for start in range(0, len(people), CHUNK):
        list(
            Person.objects.select_for_update()
            .filter(pk__in=people[start : start + CHUNK])
            .order_by("pk")
            .values_list("pk")
        )
    entries = [r.entry for r in requests if r.entry is not None]
    states: dict[int, str] = {}
    for start in range(0, len(entries), CHUNK):
        chunk = [entry.pk for entry in entries[start : start + CHUNK]]
        states.update(PoolEntry.objects.filter(pk__in=chunk).values_list("pk", "state"))
    for entry in entries:
        entry.state = states.get(entry.pk, entry.state)


def _check_requests(
    requests: list[PlacementRequest], *, by: User | None, waitlisted_people: set[int]
) -> tuple[list[_Row], list[dict[str, object]]]:
    """Validate every request and freeze its terms; returns rows and the list of errors (row, field, message)."""
    errors: list[dict[str, object]] = []
    people: dict[int, int] = {}
    entries = [r.entry for r in requests if r.entry is not None]
    exposure = selectors.exposure_dates(entries) if entries else {}
    for index, request in enumerate(requests):
        person = request.entry.person if request.entry is not None else request.person
        if person is None:
            errors.append(_error(_("Choose a person to place."), E.INVALID, index))
            continue
        if person.pk in people:
            errors.append(_error(_("%(person)s appears twice.") % {"person": person}, E.ALREADY_PLACED, index))
        people[person.pk] = index
        if request.accompanies is None and request.share_reason:
            errors.append(_error(_("Say whom this person accompanies."), E.INVALID_COMPANION, index, "accompanies"))
        if request.accompanies is not None:
            target = request.accompanies
            if not 0 <= target < len(requests) or target == index or requests[target].accompanies is not None:
                errors.append(
                    _error(_("A companion shares the room of a person being placed."), E.INVALID_COMPANION, index)
                )
            if request.share_reason not in COMPANION_REASONS:
                errors.append(
                    _error(
                        _("Sharing a room is allowed only for a child with a guardian or a carer."),
                        E.INVALID_COMPANION,
                        index,
                        "share_reason",
                    )
                )
        elif request.entry is None:
            errors.append(_error(_("Only a companion may be placed without a ledger entry."), E.INVALID, index))
        if request.room_type and request.room_type not in RoomType.values:
            errors.append(_error(_("Unknown room type."), E.INVALID, index, "room_type"))
    active = set(
        Placement.objects.filter(person_id__in=list(people), status__in=ACTIVE_PLACEMENT_STATUSES).values_list(
            "person_id", flat=True
        )
    )
    waiting = (
        set(
            WaitlistEntry.objects.filter(person_id__in=list(people), status=WaitlistStatus.WAITING).values_list(
                "person_id", flat=True
            )
        )
        - waitlisted_people
    )
    rows: list[_Row] = []
    editions: dict[str, PolicyEdition] = {}  # per listing division: one policy lookup each, not one per person
    for index, request in enumerate(requests):
        person = request.entry.person if request.entry is not None else request.person
        if person is None:
            continue
        if person.pk in active:
            errors.append(_error(_("%(person)s is already placed.") % {"person": person}, E.ALREADY_PLACED, index))
            continue
        if person.pk in waiting:
            errors.append(
                _error(_("%(person)s is already on the waitlist.") % {"person": person}, E.ALREADY_PLACED, index)
            )
            continue
        entry = request.entry
        if entry is None:
            rows.append(_Row(index, request, person, None, "", ""))  # type: ignore[arg-type]  # terms: the holder's
            continue
        if by is not None and not is_in_scope(entry.division_id, by):
            errors.append(_error(_("Not found."), E.NOT_AWAITING_PLACEMENT, index))
            continue
        reason = placement_reason(entry.reasons)
        if entry.state not in selectors.AWAITING_STATES or reason is None:
            errors.append(
                _error(
                    _("%(person)s is not awaiting placement (%(state)s).")
                    % {"person": person, "state": entry.get_state_display()},
                    E.NOT_AWAITING_PLACEMENT,
                    index,
                )
            )
            continue
        try:
            if entry.division_id not in editions:
                editions[entry.division_id] = active_edition(entry.division_id)
            terms = placement_terms(
                editions[entry.division_id],
                reason=reason,
                start_date=request.start_date or exposure[entry.pk],
            )
        except QuarantineError as error:
            errors.append(_error(error.message, E(str(error.code)), index, "reason"))
            continue
        rows.append(_Row(index, request, person, terms, placement_kind(terms), entry.division_id))
    by_index = {row.index: row for row in rows}
    for row in rows:
        holder_index = row.request.accompanies
        if holder_index is None:
            continue
        holder = by_index.get(holder_index)
        if holder is None or holder.request.accompanies is not None:
            continue  # reported above, or the holder itself was refused
        if holder.kind != PlacementKind.CENTRAL:
            errors.append(
                _error(_("Companions share a room only in centralized quarantine."), E.INVALID_COMPANION, row.index)
            )
            continue
        holder.companions.append(row.index)
        if row.terms is None:  # a companion without an entry stays as long as the person they accompany
            row.terms = holder.terms
            row.division = holder.division
        row.kind = PlacementKind.CENTRAL
    return rows, errors
