"""The venue module's assumptions, with their defaults and where to change them.

These are not epidemic policy (the policy editions say nothing about venue codes): they are how this platform
reads check-in data. A deployment overrides them in settings without a code change:

- ``VENUE_DWELL_MINUTES`` — ``{category: minutes}``: how long a visit is assumed to last when nobody records
  the check-out (a supermarket trip is shorter than an evening in a KTV). A venue gets its category's figure
  when registered, and keeps its own afterwards (editable per venue).
- ``VENUE_MIN_OVERLAP_MINUTES`` — the shortest shared stay that makes a co-visitor a suggested contact. The
  default is 1: any overlap at all is suggested, because the investigator confirms each suggestion with the
  evidence (venue, both stays, minutes shared) in front of them; a city that wants fewer suggestions raises it.

Read at call time, never at import time (Django's rule for settings).
"""

from __future__ import annotations

from django.conf import settings

from fangkong.venues.models import VenueCategory

DEFAULT_DWELL_MINUTES: dict[str, int] = {
    VenueCategory.SUPERMARKET: 30,
    VenueCategory.MARKET: 40,
    VenueCategory.RESTAURANT: 60,
    VenueCategory.KTV: 180,
    VenueCategory.INTERNET_CAFE: 180,
    VenueCategory.CHESS_ROOM: 180,
    VenueCategory.GYM: 90,
    VenueCategory.CINEMA: 150,
    VenueCategory.HOTEL: 720,
    VenueCategory.SCENIC_SPOT: 180,
    VenueCategory.HOSPITAL: 90,
    VenueCategory.SCHOOL: 480,
    VenueCategory.ELDERLY_CENTRE: 240,
    VenueCategory.TRANSPORT_HUB: 60,
    VenueCategory.OFFICE: 480,
    VenueCategory.OTHER: 60,
}
DEFAULT_MIN_OVERLAP_MINUTES = 1


def dwell_minutes_for(category: str) -> int:
    """The assumed stay for a new venue of this category (settings override, else the default table)."""
    overrides: dict[str, int] = getattr(settings, "VENUE_DWELL_MINUTES", {}) or {}
    minutes = overrides.get(category) or DEFAULT_DWELL_MINUTES.get(category) or DEFAULT_DWELL_MINUTES["other"]
    return max(1, int(minutes))


def min_overlap_minutes() -> float:
    """The shortest shared stay (minutes) that makes a co-visitor a suggested contact."""
    return float(getattr(settings, "VENUE_MIN_OVERLAP_MINUTES", DEFAULT_MIN_OVERLAP_MINUTES))
