"""Reads of venues and check-ins: scoped for pages, plus the overlap question for case investigations.

`venue_overlaps()` answers "who checked in at the same venue as this person, for overlapping stays, between
these two moments" with one indexed query per 50 of the person's visits (see docs/venues.md for why a database
query serves the per-case suggestion and where the city-scale question belongs). It is unscoped by design: it
is called by `tracing.services.suggest_contacts`, which turns what it finds into suggestions on a case that the
investigator's own scope already governs. Only frozen dataclasses leave this module for another app.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from fangkong.core.models import User
from fangkong.core.scope import get_scoped, scoped
from fangkong.people.models import Person
from fangkong.venues.models import CheckIn, CheckInImport, Venue
from fangkong.venues.rules import min_overlap_minutes

OVERLAP_BATCH = 50  # the person's visits per query (an OR of (venue, window) conditions)


def venues_for(user: User, *, query: str = "") -> QuerySet[Venue]:
    venues = scoped(Venue.objects.select_related("division"), user)
    if query:
        venues = venues.filter(Q(name__contains=query) | Q(code__iexact=query.strip()) | Q(address__contains=query))
    # A correlated count (index checkin_venue_time) is computed for the page's rows only; a JOIN … GROUP BY
    # would aggregate every check-in of the jurisdiction before the page is cut.
    counts = (
        CheckIn.objects.filter(venue=OuterRef("pk"))
        .order_by()
        .values("venue")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return venues.annotate(check_in_count=Coalesce(Subquery(counts), 0))


def access_venue(user: User, venue_id: int) -> Venue:
    return get_scoped(Venue.objects.select_related("division"), user, pk=venue_id)


def venue_by_code(code: str) -> Venue | None:
    """The venue a scanned code names (public: the check-in page), active or not; None if there is none."""
    code = (code or "").strip().upper()[:16]
    return Venue.objects.select_related("division").filter(code=code).first() if code else None


def check_ins_at(venue: Venue, *, day_from: datetime | None = None) -> QuerySet[CheckIn]:
    """A venue's check-ins, newest first (the page masks identities)."""
    check_ins = CheckIn.objects.filter(venue=venue).select_related("person")
    if day_from is not None:
        check_ins = check_ins.filter(checked_in_at__gte=day_from)
    return check_ins.order_by("-checked_in_at", "-id")


def access_check_in(user: User, check_in_id: int) -> CheckIn:
    return get_scoped(CheckIn.objects.select_related("venue", "person"), user, pk=check_in_id)


def imports_for(user: User) -> QuerySet[CheckInImport]:
    return scoped(CheckInImport.objects.select_related("job", "venue"), user)


def access_import(user: User, import_id: int) -> CheckInImport:
    return get_scoped(CheckInImport.objects.select_related("job", "venue"), user, pk=import_id)


def known_venues(division_path: str) -> dict[str, Venue]:
    """Venue code → venue, for the venues in this jurisdiction (an import's rows name venues by code)."""
    return {v.code: v for v in Venue.objects.filter(division__path__startswith=division_path)}


# --- the overlap question ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stay:
    check_in_id: int
    starts_at: datetime
    ends_at: datetime
    is_end_assumed: bool


@dataclass(frozen=True)
class VenueOverlap:
    """A co-visitor: another person at the same venue during one of the person's stays."""

    person_id: int  # the co-visitor (the surviving record if theirs was merged)
    venue_id: int
    venue_code: str
    venue_name: str
    stay: Stay  # the person's own (clipped to the window asked about)
    other: Stay  # the co-visitor's
    overlap_start: datetime
    overlap_end: datetime

    @property
    def minutes(self) -> float:
        return (self.overlap_end - self.overlap_start).total_seconds() / 60


@dataclass(frozen=True)
class Visit:
    """One of the person's stays in the window, with how many others overlapped it."""

    venue_id: int
    venue_code: str
    venue_name: str
    venue_category: str
    stay: Stay
    co_visitors: int


def _identities(person_id: int) -> set[int]:
    """The person and every record merged into them (their check-ins may have been made under either)."""
    found = {person_id}
    frontier = {person_id}
    while frontier:
        frontier = set(Person.objects.filter(merged_into_id__in=frontier).values_list("pk", flat=True)) - found
        found |= frontier
    return found


def _survivors(person_ids: set[int]) -> dict[int, int]:
    """person id → the record it survives as (itself unless merged; chains followed)."""
    merged: dict[int, int] = {}
    pending = set(person_ids)
    while pending:
        step = {
            pk: target
            for pk, target in Person.objects.filter(pk__in=pending, merged_into__isnull=False).values_list(
                "pk", "merged_into"
            )
            if target is not None
        }
        merged.update(step)
        pending = set(step.values()) - set(merged)

    def final(pk: int) -> int:
        while pk in merged:
            pk = merged[pk]
        return pk

    return {pk: final(pk) for pk in person_ids}


def _own_stays(person_ids: set[int], start: datetime, end: datetime) -> list[CheckIn]:
    return list(
        CheckIn.objects.filter(person_id__in=person_ids, checked_in_at__lt=end, ends_at__gt=start)
        .select_related("venue")
        .order_by("checked_in_at", "id")
    )


def venue_overlaps(person_id: int, *, start: datetime, end: datetime) -> list[VenueOverlap]:
    """Every (own stay, other stay) pair at the same venue that overlaps in time, with the person's stays
    clipped to [start, end). Exact: overlap = [max(starts), min(ends)), non-empty."""
    own = _own_stays(_identities(person_id), start, end)
    if not own:
        return []
    identities = {c.person_id for c in own} | {person_id}
    clipped = {c.pk: (max(c.checked_in_at, start), min(c.ends_at, end)) for c in own}
    found: list[tuple[CheckIn, tuple[int, int, datetime, datetime, datetime | None]]] = []
    for first in range(0, len(own), OVERLAP_BATCH):
        batch = own[first : first + OVERLAP_BATCH]
        condition = Q()
        for stay in batch:
            lo, hi = clipped[stay.pk]
            condition |= Q(venue_id=stay.venue_id, checked_in_at__lt=hi, ends_at__gt=lo)
        others = (
            CheckIn.objects.filter(condition)
            .exclude(person_id__in=identities)
            .values_list("pk", "person_id", "venue_id", "checked_in_at", "ends_at", "checked_out_at")
        )
        rows = list(others)
        for stay in batch:
            lo, hi = clipped[stay.pk]
            for pk, other_person, venue_id, other_in, other_end, other_out in rows:
                if venue_id == stay.venue_id and other_in < hi and other_end > lo:
                    found.append((stay, (pk, other_person, other_in, other_end, other_out)))
    survivor = _survivors({row[1] for _stay, row in found})
    overlaps = []
    for stay, (pk, other_person, other_in, other_end, other_out) in found:
        lo, hi = clipped[stay.pk]
        overlaps.append(
            VenueOverlap(
                person_id=survivor[other_person],
                venue_id=stay.venue_id,
                venue_code=stay.venue.code,
                venue_name=stay.venue.name,
                stay=Stay(stay.pk, lo, hi, stay.checked_out_at is None),
                other=Stay(pk, other_in, other_end, other_out is None),
                overlap_start=max(lo, other_in),
                overlap_end=min(hi, other_end),
            )
        )
    overlaps.sort(key=lambda o: (o.overlap_start, o.person_id, o.other.check_in_id))
    return [o for o in overlaps if o.person_id not in identities]


def visits_of(person_id: int, *, start: datetime, end: datetime) -> list[Visit]:
    """The person's stays in [start, end), oldest first, each with its number of overlapping co-visitors."""
    own = _own_stays(_identities(person_id), start, end)
    co_visitors: dict[int, set[int]] = defaultdict(set)
    for overlap in venue_overlaps(person_id, start=start, end=end):
        co_visitors[overlap.stay.check_in_id].add(overlap.person_id)
    return [
        Visit(
            venue_id=c.venue_id,
            venue_code=c.venue.code,
            venue_name=c.venue.name,
            venue_category=c.venue.get_category_display(),
            stay=Stay(c.pk, max(c.checked_in_at, start), min(c.ends_at, end), c.checked_out_at is None),
            co_visitors=len(co_visitors[c.pk]),
        )
        for c in own
    ]


def union_minutes(intervals: list[tuple[datetime, datetime]]) -> float:
    """The length in minutes of the union of half-open intervals."""
    total = 0.0
    current: tuple[datetime, datetime] | None = None
    for start, end in sorted(intervals):
        if current is not None and start <= current[1]:
            current = (current[0], max(current[1], end))
            continue
        if current is not None:
            total += (current[1] - current[0]).total_seconds()
        current = (start, end)
    if current is not None:
        total += (current[1] - current[0]).total_seconds()
    return total / 60


@dataclass(frozen=True)
class CoVisitor:
    """Everything one co-visitor shared with the person: the overlaps (oldest first) and their total."""

    person_id: int
    overlaps: tuple[VenueOverlap, ...]

    @property
    def minutes(self) -> float:
        """Minutes together: the union of the shared stays (two check-ins of the case that overlap each other
        at one venue do not count the same minutes twice)."""
        return union_minutes([(o.overlap_start, o.overlap_end) for o in self.overlaps])

    @property
    def longest(self) -> VenueOverlap:
        return max(self.overlaps, key=lambda overlap: (overlap.minutes, overlap.overlap_start))

    @property
    def last_overlap_end(self) -> datetime:
        return max(overlap.overlap_end for overlap in self.overlaps)


def co_visitors(person_id: int, *, start: datetime, end: datetime) -> list[CoVisitor]:
    """People who shared a venue with the person in [start, end) for at least the configured minutes in total
    (`rules.min_overlap_minutes`), most minutes first. Unscoped: see the module's docstring."""
    threshold = min_overlap_minutes()
    by_person: dict[int, list[VenueOverlap]] = defaultdict(list)
    for overlap in venue_overlaps(person_id, start=start, end=end):
        by_person[overlap.person_id].append(overlap)
    found = [CoVisitor(person_id=pid, overlaps=tuple(items)) for pid, items in by_person.items()]
    found = [visitor for visitor in found if visitor.minutes >= threshold]
    return sorted(found, key=lambda visitor: (-visitor.minutes, visitor.person_id))
