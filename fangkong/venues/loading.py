"""Bulk loading of venues and check-ins from a trusted extract — the simulated city's venues and their visits
for the demo (`command.loader`), or an operator's historical dump. Plain rows in, no ORM rows out.

Idempotent: a venue is found again by its `external_id` (`<reference>:<id in the extract>`), a check-in by its
reference (`<reference>:<row>`) and by the one-per-person-venue-moment rule. One audit entry per load.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from fangkong.core import audit
from fangkong.core.models import Division
from fangkong.venues.models import CheckIn, CheckInSource, Venue, VenueCategory
from fangkong.venues.rules import dwell_minutes_for
from fangkong.venues.services import new_venue_code

BATCH = 5_000


@dataclass(frozen=True)
class VenueRow:
    external_id: str  # the venue's id in the extract
    name: str
    category: str
    community: str  # the community's path


@dataclass(frozen=True)
class CheckInRow:
    person_id: int  # the registry's id
    venue_external_id: str
    checked_in_at: datetime
    minutes: int  # the stay as the extract records it (its check-out)


@transaction.atomic
def load_venues(rows: Iterable[VenueRow], *, reference: str) -> dict[str, Venue]:
    """external id → venue, creating those not loaded before (communities the registry lacks are skipped)."""
    wanted = list(rows)
    keys = {f"{reference}:{row.external_id}": row for row in wanted}
    found = {v.external_id: v for v in Venue.objects.filter(external_id__in=list(keys))}
    communities = set(
        Division.objects.filter(path__in={row.community for row in wanted}).values_list("path", flat=True)
    )
    fresh = []
    for key, row in keys.items():
        if key in found or row.community not in communities:
            continue
        category = row.category if row.category in VenueCategory.values else VenueCategory.OTHER
        fresh.append(
            Venue(
                code=new_venue_code(),
                name=row.name[:200],
                category=category,
                division_id=row.community,
                dwell_minutes=dwell_minutes_for(category),
                external_id=key[:60],
            )
        )
    Venue.objects.bulk_create(fresh, batch_size=1_000)
    found.update({v.external_id: v for v in Venue.objects.filter(external_id__in=[v.external_id for v in fresh])})
    return {key.removeprefix(f"{reference}:"): venue for key, venue in found.items()}


@transaction.atomic
def load_check_ins(rows: Iterable[CheckInRow], *, venues: dict[str, Venue], reference: str) -> int:
    """Write the check-ins not already on record; return how many were added."""
    added = 0
    batch: list[CheckIn] = []

    def flush() -> int:
        if not batch:
            return 0
        on_record = set(
            CheckIn.objects.filter(
                person_id__in={c.person_id for c in batch},
                checked_in_at__gte=min(c.checked_in_at for c in batch),
                checked_in_at__lte=max(c.checked_in_at for c in batch),
            ).values_list("person_id", "venue_id", "checked_in_at")
        )
        known_references = set(
            CheckIn.objects.filter(source=CheckInSource.IMPORT, reference__in=[c.reference for c in batch]).values_list(
                "reference", flat=True
            )
        )
        fresh = []
        for check_in in batch:
            key = (check_in.person_id, check_in.venue_id, check_in.checked_in_at)
            if key in on_record or check_in.reference in known_references:
                continue
            on_record.add(key)
            fresh.append(check_in)
        CheckIn.objects.bulk_create(fresh, batch_size=2_000)
        batch.clear()
        return len(fresh)

    for index, row in enumerate(rows):
        venue = venues.get(row.venue_external_id)
        if venue is None:
            continue
        ends_at = row.checked_in_at + timedelta(minutes=max(1, row.minutes))
        batch.append(
            CheckIn(
                venue=venue,
                division_id=venue.division_id,
                person_id=row.person_id,
                checked_in_at=row.checked_in_at,
                checked_out_at=ends_at,
                ends_at=ends_at,
                source=CheckInSource.IMPORT,
                reference=f"{reference}:{index}"[:80],
            )
        )
        if len(batch) >= BATCH:
            added += flush()
    added += flush()
    audit.record(
        "venues.checkins.bulk_load",
        by=None,
        target_type="venues.checkin",
        target_id="*",
        changes={"reference": [None, reference], "created": [0, added], "venues": [0, len(venues)]},
    )
    return added
