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
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core import audit
from fangkong.core.editions import PolicyEdition
from fangkong.core.errors import ConflictError
from fangkong.core.models import User
from fangkong.core.policy import active_edition
from fangkong.core.roles import Capability
from fangkong.core.scope import is_in_scope, scoped
from fangkong.people.models import Person
from fangkong.quarantine.models import (
    ACTIVE_PLACEMENT_STATUSES,
    EndReason,
    PickupBatch,
    PickupMember,
    PickupStatus,
    Placement,
    PlacementKind,
    PlacementStatus,
    Room,
    RoomBooking,
    RoomStatus,
    RoomType,
    ScheduledTest,
    ShareReason,
    Site,
    SiteStatus,
    TestKind,
    TestStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from fangkong.quarantine.schedule import Terms, due_tests
from fangkong.quarantine.selectors import placement as selectors
from fangkong.quarantine.services.common import (
    QuarantineError,
    QuarantineErrorCode,
    placement_kind,
    placement_reason,
    placement_terms,
    require,
    require_in_scope,
)
from fangkong.screening import services as screening
from fangkong.screening.models import PoolEntry

E = QuarantineErrorCode
CHUNK = 5000
COMPANION_REASONS = (ShareReason.CHILD_WITH_GUARDIAN, ShareReason.GUARDIAN_OF_CHILD, ShareReason.CARER)
# Room types tried, in order, for one person; a group needs beds for all and tries family rooms first.
SINGLE_PREFERENCE = (RoomType.SINGLE, RoomType.ACCESSIBLE, RoomType.FAMILY)
GROUP_PREFERENCE = (RoomType.FAMILY, RoomType.ACCESSIBLE, RoomType.SINGLE)


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


@dataclass
class _Allocator:
    """Free rooms per site and room type, and the site ranking per home community."""

    sites: dict[int, Site]
    pools: dict[int, dict[str, deque[tuple[int, int]]]]
    points: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    rankings: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def load(cls, sites: list[Site], home_paths: Iterable[str], *, excluded: set[int]) -> _Allocator:
        pools: dict[int, dict[str, deque[tuple[int, int]]]] = {s.pk: defaultdict(deque) for s in sites}
        for room_id, site_id, room_type, beds in selectors.free_rooms(pools):
            if room_id not in excluded:
                pools[site_id][room_type].append((room_id, beds))
        allocator = cls(sites={s.pk: s for s in sites}, pools=pools)
        allocator.points = selectors.division_points(home_paths)
        return allocator

    def free_count(self, site_id: int) -> int:
        return sum(len(rooms) for rooms in self.pools[site_id].values())

    def ranking(self, home_path: str) -> list[int]:
        """Site ids for a person living in `home_path`: same county first, then nearest, then most free rooms."""
        if home_path not in self.rankings:
            here = self.points.get(home_path)

            def key(site: Site) -> tuple[int, int, float, int]:
                same_county = site.division_id[:6] == home_path[:6]
                same_street = len(site.division_id) >= 9 and site.division_id[:9] == home_path[:9]
                distance = (
                    selectors.haversine_km(here, (site.lat, site.lon))
                    if here is not None and site.lat is not None and site.lon is not None
                    else float("inf")
                )
                return (0 if same_county else 1, 0 if same_street else 1, distance, -self.free_count(site.pk))

            self.rankings[home_path] = [s.pk for s in sorted(self.sites.values(), key=key)]
        return self.rankings[home_path]

    def take(self, home_path: str, *, size: int, room_type: str) -> tuple[int, int] | None:
        """A free room for a group of `size`: (site_id, room_id), or None when the city is full for them."""
        preference = (room_type,) if room_type else SINGLE_PREFERENCE if size == 1 else GROUP_PREFERENCE
        for site_id in self.ranking(home_path):
            pool = self.pools[site_id]
            for kind in preference:
                rooms = pool.get(kind)
                if not rooms:
                    continue
                if size == 1:
                    return site_id, rooms.popleft()[0]
                for position, (room_id, beds) in enumerate(rooms):
                    if beds >= size:
                        del rooms[position]
                        return site_id, room_id
        return None


def _candidate_sites(by: User | None, sites: Iterable[Site] | None) -> list[Site]:
    found = Site.objects.filter(status__in=[SiteStatus.READY, SiteStatus.ACTIVE])
    if by is not None:
        found = scoped(found, by)
    if sites is not None:
        found = found.filter(pk__in=[s.pk for s in sites])
    return list(found.order_by("pk"))


def _lock_free(room_ids: list[int]) -> set[int]:
    """Of `room_ids`, those this transaction now holds and that nobody has booked meanwhile."""
    held: set[int] = set()
    for start in range(0, len(room_ids), CHUNK):
        chunk = room_ids[start : start + CHUNK]
        query = Room.objects.filter(pk__in=chunk)
        if connection.features.has_select_for_update_skip_locked:
            query = query.select_for_update(skip_locked=True)
        held.update(query.values_list("pk", flat=True))
        busy = RoomBooking.objects.filter(room_id__in=chunk, ended_at__isnull=True).values_list("room_id", flat=True)
        held.difference_update(busy)
    return held


def _allocate(
    holders: list[_Row], by_index: dict[int, _Row], candidates: list[Site]
) -> tuple[dict[int, tuple[int, int]], list[_Row]]:
    """Rooms for the holders' groups: {holder index: (site_id, room_id)} and the holders left without one."""
    excluded: set[int] = set()
    chosen: dict[int, tuple[int, int]] = {}
    pending = holders
    for _attempt in range(5):  # rooms lost to concurrent placements are replaced from what is left
        allocator = _Allocator.load(candidates, {r.person.home_division_id for r in pending}, excluded=excluded)
        unplaced: list[_Row] = []
        proposal: dict[int, tuple[int, int]] = {}
        for row in pending:
            size = 1 + len(row.companions)
            room_type = row.request.room_type or next(
                (by_index[c].request.room_type for c in row.companions if by_index[c].request.room_type), ""
            )
            taken = allocator.take(row.person.home_division_id, size=size, room_type=room_type)
            if taken is None:
                unplaced.append(row)
            else:
                proposal[row.index] = taken
        held = _lock_free([room_id for _site, room_id in proposal.values()])
        lost = [index for index, (_site, room_id) in proposal.items() if room_id not in held]
        for index, taken in proposal.items():
            if taken[1] in held:
                chosen[index] = taken
        if not lost:
            return chosen, unplaced
        excluded.update(proposal[index][1] for index in lost)
        pending = [by_index[index] for index in lost] + unplaced
    raise ConflictError(
        _("Rooms are being allocated by someone else at the same moment; try again."), code=E.ROOM_TAKEN
    )


def _placement(row: _Row, *, by: User | None, now: datetime, status: str, **extra: object) -> Placement:
    terms = row.terms
    return Placement(
        person=row.person,
        pool_entry=row.request.entry,
        home_division_id=row.person.home_division_id,
        reason=terms.reason,
        kind=row.kind,
        edition_id=terms.edition_id,
        start_date=terms.start_date,
        quarantine_end=terms.quarantine_end,
        monitoring_end=terms.monitoring_end,
        test_days=list(terms.test_days),
        monitoring_test_days=list(terms.monitoring_test_days),
        status=status,
        placed_at=now if status == PlacementStatus.PLACED else None,
        created_by=by if by is not None and by.pk else None,
        **extra,
    )


def _schedule_tests(placements: list[Placement]) -> int:
    """Insert every placement's scheduled tests (`schedule.due_tests` of its frozen terms); returns how many.

    People with the same terms and start date owe the same tests on the same days, so each distinct test is one
    `INSERT … SELECT` over those placements' ids: a handful of statements for ten thousand people instead of
    sixty thousand rows built and bound one value at a time. Columns not named take their model default (or
    NULL), so a new column with a default needs no change here."""
    groups: dict[tuple[date, date, tuple[int, ...], tuple[int, ...]], list[int]] = defaultdict(list)
    for placement in placements:
        key = (
            placement.start_date,
            placement.quarantine_end,
            tuple(placement.test_days),
            tuple(placement.monitoring_test_days),
        )
        groups[key].append(placement.pk)
    meta, source = ScheduledTest._meta, Placement._meta
    named = ("placement_id", "kind", "phase", "day_number", "due_on")
    defaults: list[tuple[str, Any]] = []
    for column in meta.concrete_fields:
        if column.primary_key or column.attname in named or (column.null and not column.has_default()):
            continue  # named below, or NULL
        defaults.append((str(column.column), column.get_db_prep_save(column.get_default(), connection)))
    quote = connection.ops.quote_name
    by_attname = {column.attname: column for column in meta.concrete_fields}
    columns = [str(by_attname[name].column) for name in named]
    columns += [name for name, _value in defaults]
    pk = quote(str(source.pk.column))
    insert = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608 - model names
        f"SELECT {pk}, {', '.join(['%s'] * (len(columns) - 1))} FROM {quote(source.db_table)} WHERE {pk} IN "
    )
    count = 0
    with connection.cursor() as cursor:
        for (start, end, test_days, monitoring_days), ids in groups.items():
            for test in due_tests(
                start_date=start, quarantine_end=end, test_days=test_days, monitoring_test_days=monitoring_days
            ):
                values: list[Any] = [
                    TestKind.SCHEDULED.value,
                    test.phase,
                    test.day_number,
                    connection.ops.adapt_datefield_value(test.due_on),
                    *(value for _name, value in defaults),
                ]
                for offset in range(0, len(ids), CHUNK):
                    chunk = ids[offset : offset + CHUNK]
                    cursor.execute(f"{insert}({', '.join(['%s'] * len(chunk))})", [*values, *chunk])
                    count += len(chunk)
    return count


def _integrity_conflict(error: IntegrityError) -> ConflictError:
    text = str(error)
    if "person" in text or "qplacement_one_active_per_person" in text:
        return ConflictError(
            _("Someone in this list was placed at the same moment by someone else."), code=E.ALREADY_PLACED
        )
    return ConflictError(_("A room was taken at the same moment by someone else; try again."), code=E.ROOM_TAKEN)


def _place(
    requests: list[PlacementRequest],
    *,
    by: User | None,
    now: datetime,
    arrived: bool,
    sites: Iterable[Site] | None,
    waitlist_when_full: bool,
    from_waitlist: dict[int, WaitlistEntry] | None = None,
) -> PlacementResult:
    from_waitlist = from_waitlist or {}
    _lock_people(requests)
    rows, errors = _check_requests(requests, by=by, waitlisted_people={w.person_id for w in from_waitlist.values()})
    if errors:
        first = errors[0]
        raise QuarantineError(
            _("Row %(row)s: %(message)s") % {"row": int(str(first["row"])) + 1, "message": first["message"]}
            if len(errors) == 1
            else _("%(count)s rows cannot be placed; the first, row %(row)s: %(message)s")
            % {"count": len(errors), "row": int(str(first["row"])) + 1, "message": first["message"]},
            code=E(str(first["code"])),
            field=str(first["field"]),
            row=int(str(first["row"])),
            details=errors,
        )
    by_index = {row.index: row for row in rows}
    for index, waiting in from_waitlist.items():
        by_index[index].waitlist = waiting
    holders = [row for row in rows if row.request.accompanies is None]
    central = [row for row in holders if row.kind == PlacementKind.CENTRAL]
    home = [row for row in holders if row.kind == PlacementKind.HOME]
    candidates = _candidate_sites(by, sites) if central else []
    chosen, unplaced = _allocate(central, by_index, candidates) if central else ({}, [])
    if unplaced and not waitlist_when_full:
        raise QuarantineError(
            _("No free room for %(count)s of them.") % {"count": len(unplaced)}, code=E.ROOM_TAKEN, field="site"
        )
    result = PlacementResult()
    sites_by_id = {site.pk: site for site in candidates}
    central_status = PlacementStatus.PLACED if arrived else PlacementStatus.WAITING
    try:
        with transaction.atomic():
            bookings = RoomBooking.objects.bulk_create(
                [RoomBooking(room_id=room_id, site_id=site_id, started_at=now) for site_id, room_id in chosen.values()],
                batch_size=CHUNK,
            )
            booking_of = dict(zip(chosen, bookings, strict=True))
            holder_rows = [by_index[index] for index in chosen]
            placed_holders = [
                _placement(
                    row,
                    by=by,
                    now=now,
                    status=central_status,
                    division_id=sites_by_id[chosen[row.index][0]].division_id,
                    site_id=chosen[row.index][0],
                    room_id=chosen[row.index][1],
                    booking=booking_of[row.index],
                )
                for row in holder_rows
            ]
            home_placements = [
                _placement(row, by=by, now=now, status=PlacementStatus.PLACED, division_id=row.person.home_division_id)
                for row in home
            ]
            Placement.objects.bulk_create(placed_holders + home_placements, batch_size=CHUNK)
            placement_of = {row.index: p for row, p in zip(holder_rows, placed_holders, strict=True)}
            companions = [
                _placement(
                    by_index[c],
                    by=by,
                    now=now,
                    status=central_status,
                    division_id=placement_of[row.index].division_id,
                    site_id=placement_of[row.index].site_id,
                    room_id=placement_of[row.index].room_id,
                    booking=placement_of[row.index].booking,
                    share_reason=by_index[c].request.share_reason,
                    companion_of=placement_of[row.index],
                )
                for row in holder_rows
                for c in row.companions
            ]
            Placement.objects.bulk_create(companions, batch_size=CHUNK)
    except IntegrityError as error:
        raise _integrity_conflict(error) from error
    for row, placement in zip(holder_rows, placed_holders, strict=True):
        placement_of[row.index] = placement
    for placement in companions:
        placement_of[next(r.index for r in rows if r.person.pk == placement.person_id)] = placement
    result.placed = placed_holders + companions
    result.home = home_placements
    room_ids = [room_id for _site, room_id in chosen.values()]
    for start in range(0, len(room_ids), CHUNK):
        Room.objects.filter(pk__in=room_ids[start : start + CHUNK]).update(status=RoomStatus.OCCUPIED)
    used_sites = {site_id for site_id, _room in chosen.values()}
    for site in candidates:
        if site.pk in used_sites and site.status == SiteStatus.READY:
            Site.objects.filter(pk=site.pk).update(status=SiteStatus.ACTIVE)
            audit.record(
                "quarantine.site.status",
                by=by,
                target=site,
                division_path=site.division_id,
                changes={"status": [SiteStatus.READY, SiteStatus.ACTIVE]},
                reason="first placement",
            )
    _schedule_tests(result.placed + result.home)
    # The waitlist: groups without a room wait together (holder first, companions with it).
    new_waiting: list[WaitlistEntry] = []
    for row in unplaced:
        if row.waitlist is None:
            new_waiting.append(_waitlist_entry(row, now=now, by=by))
    WaitlistEntry.objects.bulk_create(new_waiting, batch_size=CHUNK)
    waiting_companions: list[WaitlistEntry] = []
    for holder_entry, row in zip(new_waiting, [r for r in unplaced if r.waitlist is None], strict=True):
        for c in row.companions:
            waiting_companions.append(
                _waitlist_entry(by_index[c], now=now, by=by, companion_of=holder_entry, holder=row)
            )
    WaitlistEntry.objects.bulk_create(waiting_companions, batch_size=CHUNK)
    result.waitlisted = new_waiting + waiting_companions
    # Placed from the waitlist: those entries are resolved.
    for index, waiting in from_waitlist.items():
        if index in placement_of:
            WaitlistEntry.objects.filter(pk=waiting.pk).update(
                status=WaitlistStatus.PLACED, resolved_at=now, placement=placement_of[index]
            )
    # The ledger: who is in quarantine now (at home, or already at the site).
    moved = {p.person_id: p.kind == PlacementKind.CENTRAL for p in result.home + (result.placed if arrived else [])}
    if moved:
        screening.record_quarantined_many(moved, by=by, note="quarantine placement", at=now)
    _audit_placement(result, by=by)
    return result


def _waitlist_entry(
    row: _Row, *, now: datetime, by: User | None, companion_of: WaitlistEntry | None = None, holder: _Row | None = None
) -> WaitlistEntry:
    return WaitlistEntry(
        person=row.person,
        pool_entry=row.request.entry,
        division_id=row.division,
        reason=row.terms.reason,
        start_date=row.terms.start_date,
        needs_room_type=row.request.room_type,
        share_reason=row.request.share_reason if companion_of is not None else "",
        companion_of=companion_of,
        priority=(holder or row).request.priority,
        queued_at=now,
        created_by=by if by is not None and by.pk else None,
    )


def _audit_placement(result: PlacementResult, *, by: User | None) -> None:
    everyone = result.placed + result.home
    if len(everyone) == 1 and not result.waitlisted:
        placement = everyone[0]
        audit.record(
            "quarantine.placement.place",
            by=by,
            target=placement,
            division_path=placement.division_id,
            changes={
                "kind": [None, placement.kind],
                "site": [None, placement.site_id],
                "room": [None, placement.room_id],
                "edition": [None, placement.edition_id],
                "quarantine_end": [None, placement.quarantine_end.isoformat()],
                "status": [None, placement.status],
            },
        )
        return
    if not everyone and not result.waitlisted:
        return
    paths = [p.division_id for p in everyone] + [w.division_id for w in result.waitlisted]
    audit.record(
        "quarantine.placement.place_many",
        by=by,
        target_type="quarantine.placement",
        target_id=f"{len(everyone)} placements",
        division_path=screening._common_prefix(paths),
        changes={
            "placements": [None, [p.pk for p in everyone]],
            "waitlist": [None, [w.pk for w in result.waitlisted]],
            "counts": [None, result.counts],
        },
    )


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


# ------------------------------------------------------------------------------------- arrival and pickup


def _arrive(placements: list[Placement], *, by: User | None, at: datetime, note: str) -> int:
    ids = [p.pk for p in placements if p.status == PlacementStatus.WAITING]
    for start in range(0, len(ids), CHUNK):
        Placement.objects.filter(pk__in=ids[start : start + CHUNK], status=PlacementStatus.WAITING).update(
            status=PlacementStatus.PLACED, placed_at=at
        )
    screening.record_quarantined_many(
        {p.person_id: True for p in placements if p.pk in set(ids)}, by=by, note=note, at=at
    )
    return len(ids)


@transaction.atomic
def record_arrival(placement: Placement, *, by: User | None, at: datetime | None = None) -> Placement:
    """Someone allocated a room came to the site without a pickup batch: they are now in quarantine, and so are
    the companions waiting to share their room (a child comes with their guardian)."""
    require(by, Capability.QUARANTINE_WORK)
    require_in_scope(placement.division_id, by)
    placement = Placement.objects.select_for_update().get(pk=placement.pk)
    if placement.status != PlacementStatus.WAITING:
        raise QuarantineError(
            _("Only someone waiting for transfer can arrive."), code=E.INVALID_STATUS_CHANGE, field="status"
        )
    at = at or timezone.now()
    companions = list(
        Placement.objects.select_for_update().filter(companion_of=placement, status=PlacementStatus.WAITING)
    )
    _arrive([placement, *companions], by=by, at=at, note="arrived at the site")
    audit.record(
        "quarantine.placement.arrive",
        by=by,
        target=placement,
        division_path=placement.division_id,
        changes={
            "status": [PlacementStatus.WAITING, PlacementStatus.PLACED],
            "companions": [None, [c.pk for c in companions]],
        },
    )
    placement.refresh_from_db()
    return placement


@transaction.atomic
def create_pickup_batch(
    site: Site,
    *,
    placements: Sequence[Placement],
    scheduled_at: datetime,
    by: User | None,
    vehicle: str = "",
    driver_name: str = "",
) -> PickupBatch:
    """A transfer run to `site` for people allocated a room there and not yet in another open batch."""
    require(by, Capability.QUARANTINE_WORK)
    require_in_scope(site.division_id, by)
    if not placements:
        raise QuarantineError(_("Choose the people to pick up."), field="placements")
    ids = [p.pk for p in placements]
    locked = list(Placement.objects.select_for_update(of=("self",)).filter(pk__in=ids).select_related("person"))
    for placement in locked:
        if placement.site_id != site.pk or placement.status != PlacementStatus.WAITING:
            raise QuarantineError(
                _("%(person)s is not waiting for transfer to this site.") % {"person": placement.person},
                code=E.INVALID_STATUS_CHANGE,
                field="placements",
            )
    busy = PickupMember.objects.filter(
        placement_id__in=ids, batch__status__in=[PickupStatus.PLANNED, PickupStatus.EN_ROUTE]
    ).exists()
    if busy:
        raise QuarantineError(
            _("Someone chosen is already in another pickup batch."), code=E.INVALID_STATUS_CHANGE, field="placements"
        )
    batch = PickupBatch.objects.create(
        site=site,
        scheduled_at=scheduled_at,
        vehicle=vehicle[:40],
        driver_name=driver_name[:100],
        created_by=by if by is not None and by.pk else None,
    )
    PickupMember.objects.bulk_create(
        PickupMember(batch=batch, placement=placement, pickup_address=placement.person.address[:300])
        for placement in locked
    )
    audit.record(
        "quarantine.pickup.create",
        by=by,
        target=batch,
        division_path=site.division_id,
        changes={"placements": [None, ids], "scheduled_at": [None, scheduled_at.isoformat()]},
    )
    return batch


PICKUP_TRANSITIONS: dict[str, frozenset[str]] = {
    PickupStatus.PLANNED: frozenset({PickupStatus.EN_ROUTE, PickupStatus.ARRIVED, PickupStatus.CANCELLED}),
    PickupStatus.EN_ROUTE: frozenset({PickupStatus.ARRIVED, PickupStatus.CANCELLED}),
    PickupStatus.ARRIVED: frozenset(),
    PickupStatus.CANCELLED: frozenset(),
}


@transaction.atomic
def set_pickup_status(batch: PickupBatch, *, status: str, by: User | None, at: datetime | None = None) -> PickupBatch:
    """planned → en route (departed) → arrived: everyone in the batch is now in quarantine at the site and the
    ledger says so; or cancelled (they wait for another batch)."""
    require(by, Capability.QUARANTINE_WORK)
    require_in_scope(batch.site.division_id, by)
    batch = PickupBatch.objects.select_for_update().get(pk=batch.pk)
    if status not in PICKUP_TRANSITIONS or status not in PICKUP_TRANSITIONS[batch.status]:
        raise QuarantineError(
            _("A pickup batch cannot go from %(old)s to %(new)s.")
            % {"old": PickupStatus(batch.status).label, "new": status},
            code=E.INVALID_STATUS_CHANGE,
            field="status",
        )
    at = at or timezone.now()
    old = batch.status
    batch.status = status
    fields = ["status"]
    if status == PickupStatus.EN_ROUTE:
        batch.departed_at = at
        fields.append("departed_at")
    if status == PickupStatus.ARRIVED:
        batch.arrived_at = at
        fields.append("arrived_at")
        if batch.departed_at is None:
            batch.departed_at = at
            fields.append("departed_at")
        members = list(Placement.objects.select_for_update().filter(pickups__batch=batch))
        _arrive(members, by=by, at=at, note="arrived with a pickup batch")
        PickupMember.objects.filter(batch=batch, picked_up_at__isnull=True).update(picked_up_at=at)
    batch.save(update_fields=fields)
    audit.record(
        "quarantine.pickup.status",
        by=by,
        target=batch,
        division_path=batch.site.division_id,
        changes={"status": [old, status]},
    )
    return batch


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
