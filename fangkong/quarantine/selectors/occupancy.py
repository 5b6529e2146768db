"""Occupancy of quarantine rooms by site, county and day, and a 14-day forecast of rooms needed.

A room is in use while it has an open booking (`RoomBooking.ended_at IS NULL`) — the same fact the database
constraint guards. Rooms out of service are not capacity.

The forecast counts, for each of the next days:
- rooms held now, until the holder's frozen `quarantine_end` (release frees the room that day);
- the pipeline: people waiting for a room (the waitlist, holders only — companions share) and people in the
  closed loop listed for a reason that the policy edition quarantines centrally but not yet placed, each from
  today until the end their terms would give. For ledger entries the exposure date is not known here, so the
  listing date stands in for it (exposure is on or before listing: an upper bound on the stay).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from fangkong.core.editions import PolicyEdition
from fangkong.core.models import Division, User
from fangkong.core.policy import active_edition
from fangkong.core.scope import scoped
from fangkong.quarantine.models import (
    ACTIVE_PLACEMENT_STATUSES,
    Placement,
    PlacementKind,
    Room,
    RoomBooking,
    RoomStatus,
    ShareReason,
    Site,
    WaitlistEntry,
    WaitlistStatus,
)
from fangkong.quarantine.schedule import CENTRALIZED, terms_for
from fangkong.screening.models import LoopState, PoolEntry

FORECAST_DAYS = 14
COUNTY_PATH_LENGTH = 6  # division paths: city 4, county 6, street 9, community 12 characters
# A person listed for several reasons is placed for the strictest (as the placement service does).
PLACEMENT_ORDER = ("close_contact", "arrival", "secondary_contact")
WAITING_LOOP_STATES = (LoopState.LISTED, LoopState.LOCATED, LoopState.TESTED)


@dataclass(frozen=True)
class SiteOccupancy:
    site: Site
    rooms: int  # usable rooms (not out of service)
    in_use: int  # rooms with an open booking
    people: int  # people in quarantine there (waiting for transfer or placed)

    @property
    def free(self) -> int:
        return max(0, self.rooms - self.in_use)

    @property
    def percent(self) -> int:
        return round(100 * self.in_use / self.rooms) if self.rooms else 0


@dataclass
class CountyOccupancy:
    county: str
    name: str
    rooms: int = 0
    in_use: int = 0
    people: int = 0
    sites: int = 0

    @property
    def free(self) -> int:
        return max(0, self.rooms - self.in_use)


def by_site(user: User) -> list[SiteOccupancy]:
    sites = scoped(Site.objects.all(), user).annotate(
        usable=Count("rooms", filter=~Q(rooms__status=RoomStatus.OUT_OF_SERVICE), distinct=True),
        open_bookings=Count("bookings", filter=Q(bookings__ended_at__isnull=True), distinct=True),
    )
    people = dict(
        scoped(Placement.objects.filter(status__in=ACTIVE_PLACEMENT_STATUSES, site__isnull=False), user)
        .values_list("site_id")
        .annotate(n=Count("id"))
        .values_list("site_id", "n")
    )
    return [
        SiteOccupancy(site=site, rooms=site.usable, in_use=site.open_bookings, people=people.get(site.pk, 0))
        for site in sites.select_related("division").order_by("division_id", "name")
    ]


def by_county(rows: list[SiteOccupancy]) -> list[CountyOccupancy]:
    counties: dict[str, CountyOccupancy] = {}
    names = dict(
        Division.objects.filter(path__in={row.site.division_id[:COUNTY_PATH_LENGTH] for row in rows}).values_list(
            "path", "name"
        )
    )
    for row in rows:
        code = row.site.division_id[:COUNTY_PATH_LENGTH]
        county = counties.setdefault(code, CountyOccupancy(county=code, name=names.get(code, code)))
        county.rooms += row.rooms
        county.in_use += row.in_use
        county.people += row.people
        county.sites += 1
    return sorted(counties.values(), key=lambda county: county.county)


def by_day(user: User, *, until: date, days: int = FORECAST_DAYS) -> list[tuple[date, int]]:
    """Rooms in use at the end of each of the `days` days up to `until` (from the bookings' history)."""
    first = until - timedelta(days=days - 1)
    tz = timezone.get_default_timezone()
    bookings = scoped(RoomBooking.objects.all(), user).filter(Q(ended_at__isnull=True) | Q(ended_at__date__gte=first))
    spans = [
        (
            timezone.localtime(started, tz).date(),
            timezone.localtime(ended, tz).date() if ended else None,
        )
        for started, ended in bookings.values_list("started_at", "ended_at")
    ]
    series = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        series.append((day, sum(1 for start, end in spans if start <= day and (end is None or end > day))))
    return series


@dataclass
class Forecast:
    days: list[date]
    held: list[int]  # rooms held by people in quarantine now, still held that day
    pipeline: list[int]  # rooms for people not yet placed
    capacity: int
    waiting_people: int
    releases: list[int] = field(default_factory=list)  # rooms freed that day by scheduled releases

    @property
    def needed(self) -> list[int]:
        return [a + b for a, b in zip(self.held, self.pipeline, strict=True)]

    @property
    def shortfall_from(self) -> date | None:
        return next((day for day, need in zip(self.days, self.needed, strict=True) if need > self.capacity), None)

    def as_chart(self) -> dict[str, object]:
        return {
            "dates": [day.isoformat() for day in self.days],
            "held": self.held,
            "pipeline": self.pipeline,
            "needed": self.needed,
            "capacity": [self.capacity] * len(self.days),
        }


def forecast(user: User, *, today: date | None = None, days: int = FORECAST_DAYS) -> Forecast:
    today = today or timezone.localdate()
    horizon = [today + timedelta(days=offset) for offset in range(days)]
    held = [0] * days
    releases = [0] * days
    holders = scoped(
        Placement.objects.filter(
            status__in=ACTIVE_PLACEMENT_STATUSES, kind=PlacementKind.CENTRAL, share_reason=ShareReason.HOLDER
        ),
        user,
    ).values_list("quarantine_end", flat=True)
    for end in holders:
        for index, day in enumerate(horizon):
            if end > day:
                held[index] += 1
            elif end == day:
                releases[index] += 1
    pipeline = [0] * days
    editions: dict[str, PolicyEdition] = {}

    def add_stay(division_path: str, reason: str, start: date) -> bool:
        edition = editions.setdefault(division_path, active_edition(division_path))
        try:
            terms = terms_for(edition, reason=reason, start_date=start)
        except ValueError:
            return False
        if terms.setting != CENTRALIZED or terms.quarantine_days <= 0:
            return False
        end = max(terms.quarantine_end, today + timedelta(days=1))
        for index, day in enumerate(horizon):
            if end > day:
                pipeline[index] += 1
        return True

    waiting = 0
    waitlisted = scoped(
        WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING, share_reason=ShareReason.HOLDER), user
    ).values_list("division_id", "reason", "start_date", "person_id")
    waitlisted_people = set()
    for division_path, reason, start, person_id in waitlisted:
        waitlisted_people.add(person_id)
        waiting += add_stay(str(division_path), reason, start)
    placed_people = Placement.objects.filter(status__in=ACTIVE_PLACEMENT_STATUSES).values("person_id")
    entries = (
        scoped(PoolEntry.objects.filter(state__in=WAITING_LOOP_STATES), user)
        .exclude(person_id__in=placed_people)
        .values_list("division_id", "reasons", "listed_at", "person_id")
    )
    for division_path, reasons, listed_at, person_id in entries:
        if person_id in waitlisted_people:
            continue
        chosen = next((r for r in PLACEMENT_ORDER if r in (reasons or [])), None)
        if chosen is not None:
            waiting += add_stay(str(division_path), chosen, timezone.localdate(listed_at))
    capacity = scoped(Room.objects.exclude(status=RoomStatus.OUT_OF_SERVICE), user).count()
    return Forecast(
        days=horizon, held=held, pipeline=pipeline, capacity=capacity, waiting_people=waiting, releases=releases
    )
