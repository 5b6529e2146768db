"""Booking rooms: the writing half of a placement call (`_place`, shared by `placement.place_contacts` and
`waitlist.place_waitlisted`): bookings, placements and their scheduled tests inserted in bulk, the waitlist for
groups without a room, the ledger moved, one audit row. The partial unique indexes are the final word."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext_lazy as _

from fangkong.core import audit
from fangkong.core.errors import ConflictError
from fangkong.core.models import User
from fangkong.quarantine.models import (
    Placement,
    PlacementKind,
    PlacementStatus,
    Room,
    RoomBooking,
    RoomStatus,
    ScheduledTest,
    Site,
    SiteStatus,
    TestKind,
    WaitlistEntry,
    WaitlistStatus,
)
from fangkong.quarantine.schedule import due_tests
from fangkong.quarantine.services.common import (
    QuarantineError,
    QuarantineErrorCode,
)
from fangkong.quarantine.services.placement_requests import (
    CHUNK,
    PlacementRequest,
    PlacementResult,
    _check_requests,
    _lock_people,
    _Row,
)
from fangkong.quarantine.services.site_choice import _allocate, _candidate_sites
from fangkong.screening import services as screening

E = QuarantineErrorCode


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
