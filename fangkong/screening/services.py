"""Every move in the closed loop. Each call is one transaction that updates the entry, appends its event and
writes the audit row. Deadlines come from the policy edition in force where the person lives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core import audit
from fangkong.core.errors import DomainError, ErrorCode, PermissionDeniedError
from fangkong.core.masking import mask_id_number, mask_phone
from fangkong.core.models import Division, DivisionLevel, User
from fangkong.core.policy import active_edition
from fangkong.core.roles import Capability
from fangkong.core.scope import is_in_scope
from fangkong.people.models import Person
from fangkong.screening.models import (
    OPEN_STATES,
    CloseReason,
    ContactAttempt,
    LoopState,
    Outcome,
    PoolEntry,
    PoolEvent,
    Reason,
    RiskReport,
)

S = LoopState
# Which state may follow which. Testing may come before locating (a list person walks into a sampling site).
TRANSITIONS: dict[str, frozenset[str]] = {
    S.LISTED: frozenset({S.LOCATED, S.TESTED, S.QUARANTINED_CENTRAL, S.QUARANTINED_HOME, S.CLOSED}),
    S.LOCATED: frozenset({S.TESTED, S.QUARANTINED_CENTRAL, S.QUARANTINED_HOME, S.HEALTH_MONITORING, S.CLOSED}),
    S.TESTED: frozenset({S.QUARANTINED_CENTRAL, S.QUARANTINED_HOME, S.HEALTH_MONITORING, S.RELEASED, S.CLOSED}),
    S.QUARANTINED_CENTRAL: frozenset({S.QUARANTINED_HOME, S.HEALTH_MONITORING, S.RELEASED, S.CLOSED}),
    S.QUARANTINED_HOME: frozenset({S.QUARANTINED_CENTRAL, S.HEALTH_MONITORING, S.RELEASED, S.CLOSED}),
    S.HEALTH_MONITORING: frozenset({S.QUARANTINED_CENTRAL, S.QUARANTINED_HOME, S.RELEASED, S.CLOSED}),
    S.RELEASED: frozenset(),
    S.CLOSED: frozenset(),
}
STAMP: dict[str, str] = {
    S.LOCATED: "located_at",
    S.TESTED: "tested_at",
    S.QUARANTINED_CENTRAL: "quarantined_at",
    S.QUARANTINED_HOME: "quarantined_at",
    S.RELEASED: "released_at",
    S.CLOSED: "closed_at",
}
RANK: dict[str, int] = {state: rank for rank, state in enumerate(OPEN_STATES)}


class LoopError(DomainError):
    default_code = ErrorCode.INVALID


@dataclass(frozen=True)
class Listing:
    entry: PoolEntry
    created: bool  # a new entry in the pool (False: the person was already in it, now with one more report)
    report: RiskReport | None


def _require(user: User | None, capability: Capability) -> None:
    if user is not None and not user.can(capability):
        raise PermissionDeniedError()


def _event(entry: PoolEntry, kind: str, *, by: User | None, old: str = "", new: str = "", note: str = "") -> None:
    PoolEvent.objects.create(
        entry=entry, kind=kind, from_state=old, to_state=new, note=note[:300], by=by if by and by.pk else None
    )


@dataclass(frozen=True)
class EntryTerms:
    """What a new pool entry takes from the policy edition in force where it is owned."""

    edition_id: str
    locate_due: datetime
    test_due: datetime


def entry_terms(division_path: str, *, now: datetime) -> EntryTerms:
    """Deadlines and edition for a new entry owned by `division_path`, listed at `now`: shared by
    `list_person` and the bulk list import, so the two paths cannot drift."""
    edition = active_edition(division_path)
    return EntryTerms(
        edition_id=edition.id,
        locate_due=now + timedelta(hours=edition.screening.locate_within_hours),
        test_due=now + timedelta(hours=edition.screening.test_within_hours),
    )


def responsible_division(person: Person, fallback: Division | None = None) -> tuple[Division, bool]:
    """The community of the person's address; without one, the county's unlocated queue."""
    division = person.home_division
    if division.level == DivisionLevel.COMMUNITY:
        return division, False
    if fallback is not None and fallback.level == DivisionLevel.COMMUNITY:
        return fallback, False
    county = division
    while county.level not in (DivisionLevel.COUNTY, DivisionLevel.CITY) and county.parent is not None:
        county = county.parent
    return county, True


@transaction.atomic
def list_person(
    person: Person,
    *,
    reason: str,
    source: str,
    by: User | None,
    reference: str = "",
    origin_code: str = "",
    origin_name: str = "",
    arrived_at: datetime | None = None,
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Listing:
    """Put a person in the risk pool, or add a report to their open entry. Retrying with the same
    (source, reference) changes nothing."""
    _require(
        by,
        Capability.SCREENING_WORK if source not in ("police", "telecom", "transport") else Capability.SCREENING_IMPORT,
    )
    if reason not in Reason.values:
        raise LoopError(_("Unknown risk reason."), field="reason")
    if reference and RiskReport.objects.filter(source=source, reference=reference).exists():
        entry = RiskReport.objects.select_related("entry").get(source=source, reference=reference).entry
        return Listing(entry=entry, created=False, report=None)
    now = now or timezone.now()
    existing = PoolEntry.objects.select_for_update().filter(person=person, state__in=OPEN_STATES).first()
    created = existing is None
    if existing is not None:
        entry = existing
    else:
        division, unlocated = responsible_division(person)
        terms = entry_terms(division.path, now=now)
        try:
            with transaction.atomic():
                entry = PoolEntry.objects.create(
                    person=person,
                    division=division,
                    is_unlocated=unlocated,
                    reasons=[reason],
                    edition_id=terms.edition_id,
                    listed_at=now,
                    locate_due=terms.locate_due,
                    test_due=terms.test_due,
                )
        except IntegrityError:  # a concurrent listing of the same person won
            entry = PoolEntry.objects.select_for_update().get(person=person, state__in=OPEN_STATES)
            created = False
    if not created and reason not in entry.reasons:
        entry.reasons = [*entry.reasons, reason]
        entry.save(update_fields=["reasons"])
    try:
        with transaction.atomic():
            report = RiskReport.objects.create(
                entry=entry,
                source=source,
                reference=reference,
                reason=reason,
                origin_code=origin_code,
                origin_name=origin_name,
                arrived_at=arrived_at,
                data=data or {},
            )
    except IntegrityError:  # the same reference arrived concurrently
        return Listing(entry=entry, created=False, report=None)
    _event(entry, "listed" if created else "report", by=by, new=entry.state if created else "", note=source)
    audit.record(
        "screening.pool.list" if created else "screening.pool.report",
        by=by,
        target=entry,
        division_path=entry.division_id,
        changes={"reason": [None, reason], "source": [None, source], "reference": [None, reference]},
    )
    return Listing(entry=entry, created=created, report=report)


def _move(entry: PoolEntry, to: str, *, by: User | None, note: str = "", at: datetime | None = None) -> PoolEntry:
    entry = PoolEntry.objects.select_for_update().get(pk=entry.pk)
    if to == entry.state:
        return entry  # idempotent: a repeated report of the same fact changes nothing
    if to not in TRANSITIONS[entry.state]:
        raise LoopError(
            _("%(person)s cannot go from %(old)s to %(new)s.")
            % {"person": entry.person_id, "old": S(entry.state).label, "new": S(to).label},
            field="state",
        )
    old = entry.state
    entry.state = to
    fields = ["state"]
    if to in STAMP and getattr(entry, STAMP[to]) is None:
        setattr(entry, STAMP[to], at or timezone.now())
        fields.append(STAMP[to])
    if to in (S.TESTED, S.QUARANTINED_CENTRAL, S.QUARANTINED_HOME, S.HEALTH_MONITORING) and entry.located_at is None:
        entry.located_at = at or timezone.now()  # tested or quarantined means found
        fields.append("located_at")
    entry.save(update_fields=fields)
    _event(entry, "transition", by=by, old=old, new=to, note=note)
    audit.record(
        "screening.pool.transition",
        by=by,
        target=entry,
        division_path=entry.division_id,
        changes={"state": [old, to]},
        reason=note,
    )
    return entry


def _require_entry_in_scope(entry: PoolEntry, user: User) -> None:
    if not is_in_scope(entry.division_id, user):
        raise PermissionDeniedError()


@transaction.atomic
def record_attempt(
    entry: PoolEntry, *, outcome: str, by: User, note: str = "", new_division: Division | None = None
) -> PoolEntry:
    """A community worker's call or visit, in a tap: located, located elsewhere (rerouted), left the city
    (closed), or not yet (wrong number, no answer, refused — the entry stays listed and the attempt counts)."""
    _require(by, Capability.SCREENING_WORK)
    _require_entry_in_scope(entry, by)
    if outcome not in Outcome.values:
        raise LoopError(_("Unknown outcome."), field="outcome")
    if not entry.is_open:
        raise LoopError(_("This entry is already closed."), field="outcome")
    ContactAttempt.objects.create(entry=entry, outcome=outcome, note=note[:300], by=by)
    if outcome == Outcome.LOCATED_HOME:
        return _move(entry, S.LOCATED, by=by, note=str(Outcome(outcome).label))
    if outcome == Outcome.LOCATED_ELSEWHERE:
        if new_division is None or new_division.level != DivisionLevel.COMMUNITY:
            raise LoopError(_("Choose the community where the person was found."), field="new_division")
        entry = reroute(entry, to=new_division, by=by, note=note)
        return _move(entry, S.LOCATED, by=by, note=str(Outcome(outcome).label)) if entry.state == S.LISTED else entry
    if outcome == Outcome.LEFT_CITY:
        return close_entry(entry, reason=CloseReason.NOT_IN_CITY, by=by, note=note)
    _event(entry, "attempt", by=by, note=f"{Outcome(outcome).label} {note}".strip())
    audit.record(
        "screening.pool.attempt",
        by=by,
        target=entry,
        division_path=entry.division_id,
        changes={"outcome": [None, outcome]},
    )
    return entry


@transaction.atomic
def reroute(entry: PoolEntry, *, to: Division, by: User | None, note: str = "") -> PoolEntry:
    """Hand an entry to another community (found at another address; an unlocated person placed)."""
    entry = PoolEntry.objects.select_for_update().get(pk=entry.pk)
    old = entry.division_id
    entry.division = to
    entry.is_unlocated = to.level != DivisionLevel.COMMUNITY
    entry.save(update_fields=["division", "is_unlocated"])
    _event(entry, "reroute", by=by, note=f"{old} → {to.path} {note}".strip())
    audit.record(
        "screening.pool.reroute", by=by, target=entry, division_path=to.path, changes={"division": [old, to.path]}
    )
    return entry


@transaction.atomic
def close_entry(entry: PoolEntry, *, reason: str, by: User | None, note: str = "") -> PoolEntry:
    if reason not in CloseReason.values:
        raise LoopError(_("Give a reason for closing."), field="reason")
    entry = _move(entry, S.CLOSED, by=by, note=f"{CloseReason(reason).label} {note}".strip())
    PoolEntry.objects.filter(pk=entry.pk).update(close_reason=reason)
    entry.close_reason = reason
    return entry


def _open_entry(person: Person) -> PoolEntry | None:
    return PoolEntry.objects.select_for_update().filter(person=person, state__in=OPEN_STATES).first()


@transaction.atomic
def record_located(person: Person, *, by: User | None, note: str = "") -> PoolEntry | None:
    entry = _open_entry(person)
    if entry is None or RANK[entry.state] >= RANK[S.LOCATED]:
        return entry
    return _move(entry, S.LOCATED, by=by, note=note)


@transaction.atomic
def record_tested(person: Person, *, sampled_at: datetime, by: User | None, note: str = "") -> PoolEntry | None:
    """A sample was taken (called by testing). Only moves people forward: someone already in quarantine stays."""
    entry = _open_entry(person)
    if entry is None or RANK[entry.state] >= RANK[S.TESTED]:
        return entry
    return _move(entry, S.TESTED, by=by, note=note, at=sampled_at)


@transaction.atomic
def record_quarantined(person: Person, *, central: bool, by: User | None, note: str = "") -> PoolEntry | None:
    entry = _open_entry(person)
    if entry is None:
        return None
    return _move(entry, S.QUARANTINED_CENTRAL if central else S.QUARANTINED_HOME, by=by, note=note)


@transaction.atomic
def record_quarantined_many(
    central_by_person: dict[int, bool], *, by: User | None, note: str = "", at: datetime | None = None
) -> int:
    """`record_quarantined` for many people at once (a site's pickup batch, a placement run of thousands):
    the open entries are locked in one query, moved with one UPDATE per target state, their events written in
    bulk, and one audit row names every entry. People without an open entry, or already in that state, are left
    as they are (as `record_quarantined` does); a move the state machine forbids refuses the whole call.
    Returns the number of entries moved."""
    at = at or timezone.now()
    entries = list(
        PoolEntry.objects.select_for_update()
        .filter(person_id__in=list(central_by_person), state__in=OPEN_STATES)
        .values_list("pk", "person_id", "state", "division_id")
    )
    moves: dict[str, list[tuple[int, str]]] = {S.QUARANTINED_CENTRAL: [], S.QUARANTINED_HOME: []}
    for pk, person_id, current, _division in entries:
        to = S.QUARANTINED_CENTRAL if central_by_person[person_id] else S.QUARANTINED_HOME
        if current == to:
            continue
        if to not in TRANSITIONS[current]:
            raise LoopError(
                _("%(person)s cannot go from %(old)s to %(new)s.")
                % {"person": person_id, "old": S(current).label, "new": S(to).label},
                field="state",
            )
        moves[to].append((pk, current))
    events: list[PoolEvent] = []
    changes: dict[str, list[Any]] = {}
    actor = by if by is not None and by.pk else None
    for state, moved in moves.items():
        if not moved:
            continue
        ids = [pk for pk, _current in moved]
        PoolEntry.objects.filter(pk__in=ids).update(state=state)
        PoolEntry.objects.filter(pk__in=ids, quarantined_at__isnull=True).update(quarantined_at=at)
        PoolEntry.objects.filter(pk__in=ids, located_at__isnull=True).update(located_at=at)
        events.extend(
            PoolEvent(entry_id=pk, kind="transition", from_state=current, to_state=state, note=note[:300], by=actor)
            for pk, current in moved
        )
        changes[state] = [None, ids]
    PoolEvent.objects.bulk_create(events, batch_size=5000)
    if events:
        audit.record(
            "screening.pool.transition_many",
            by=by,
            target_type="screening.poolentry",
            target_id=f"{len(events)} entries",
            division_path=_common_prefix([str(division) for _pk, _person, _state, division in entries]),
            changes=changes,
            reason=note,
        )
    return len(events)


def _common_prefix(paths: list[str]) -> str:
    """The deepest division that holds every path (the audit row's jurisdiction for a many-entry change)."""
    if not paths:
        return ""
    first, last = min(paths), max(paths)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[: max(n for n in (0, 4, 6, 9, 12) if n <= size)]


@transaction.atomic
def record_health_monitoring(person: Person, *, by: User | None, note: str = "") -> PoolEntry | None:
    """Released from quarantine into home health monitoring (called by quarantine's release): the entry stays
    open, owned by the home community, until monitoring ends and `record_released` closes the loop."""
    entry = _open_entry(person)
    if entry is None:
        return None
    return _move(entry, S.HEALTH_MONITORING, by=by, note=note)


@transaction.atomic
def record_released(person: Person, *, by: User | None, note: str = "") -> PoolEntry | None:
    entry = _open_entry(person)
    if entry is None:
        return None
    return _move(entry, S.RELEASED, by=by, note=note)


def masked_report_data(values: dict[str, Any]) -> dict[str, Any]:
    """What a report said, as the ledger keeps it: identifiers masked."""
    out = dict(values)
    if out.get("id_number"):
        out["id_number"] = mask_id_number(str(out["id_number"]))
    if out.get("phone"):
        out["phone"] = mask_phone(str(out["phone"]))
    return out
