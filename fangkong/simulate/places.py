"""Schools, workplaces and venues, and who belongs where.

Every count is a rate per resident so the city scales from 10 thousand to 10 million people.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

VENUE_CATEGORIES: tuple[str, ...] = (
    "internet_cafe",
    "ktv",
    "cinema",
    "chess_room",
    "restaurant",
    "hotel",
    "scenic_spot",
    "market",
    "hospital",
    "elderly_centre",
)
VENUE_CATEGORY_NAMES = {
    "internet_cafe": "网吧",
    "ktv": "KTV",
    "cinema": "影城",
    "chess_room": "棋牌室",
    "restaurant": "饭店",
    "hotel": "酒店",
    "scenic_spot": "景区",
    "market": "农贸市场",
    "hospital": "医院",
    "elderly_centre": "日间照料中心",
}


@dataclass(frozen=True)
class VenueKind:
    per_10k: float  # venues per 10,000 residents (elderly centres: per community)
    capacity: tuple[int, int]  # uniform range of people present at once
    urban_weight: float  # how much more often it sits in an urban community


VENUE_KINDS: dict[str, VenueKind] = {
    "internet_cafe": VenueKind(1.0, (40, 200), 4.0),
    "ktv": VenueKind(0.6, (60, 300), 5.0),
    "cinema": VenueKind(0.15, (200, 1000), 8.0),
    "chess_room": VenueKind(3.0, (12, 48), 1.5),
    "restaurant": VenueKind(25.0, (30, 200), 2.5),
    "hotel": VenueKind(1.5, (50, 400), 4.0),
    "scenic_spot": VenueKind(0.15, (1000, 10000), 0.5),
    "market": VenueKind(1.5, (300, 2000), 1.0),
    "hospital": VenueKind(0.4, (100, 1500), 3.0),
    "elderly_centre": VenueKind(1.0, (30, 80), 1.0),
}

SCHOOL_KINDS: tuple[tuple[str, int, int, float, int, int], ...] = (
    # kind, min age, max age, attendance, pupils per school, pupils per class
    ("kindergarten", 3, 5, 0.85, 240, 30),
    ("primary", 6, 11, 1.0, 1500, 45),
    ("junior", 12, 14, 0.99, 1800, 50),
    ("senior", 15, 17, 0.90, 2500, 50),
    ("university", 18, 21, 0.55, 12000, 60),
)


def assign_contiguous(
    group: npt.NDArray[np.int64], eligible: npt.NDArray[np.bool_], size: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Cut the eligible people of each group (in array order) into units of about ``size``.

    Returns (unit per person or -1, rank inside the unit per person, group of each unit). People are sorted by
    community, so a unit covers neighbouring communities, as a school catchment does.
    """
    n = group.shape[0]
    unit = np.full(n, -1, dtype=np.int64)
    rank = np.full(n, -1, dtype=np.int64)
    index = np.flatnonzero(eligible)
    if index.shape[0] == 0:
        return unit, rank, np.zeros(0, dtype=np.int64)
    g = group[index]
    order = np.argsort(g, kind="stable")
    index, g = index[order], g[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    counts = np.diff(np.r_[starts, g.shape[0]])
    local_rank = np.arange(g.shape[0]) - np.repeat(starts, counts)
    units_per_group = np.maximum(1, np.rint(counts / size)).astype(np.int64)
    per_unit = np.ceil(counts / units_per_group).astype(np.int64)
    local_unit = local_rank // np.repeat(per_unit, counts)
    offsets = np.cumsum(units_per_group) - units_per_group
    unit[index] = np.repeat(offsets, counts) + local_unit
    rank[index] = local_rank - local_unit * np.repeat(per_unit, counts)
    unit_group = np.repeat(g[starts], units_per_group)
    return unit, rank, unit_group


@dataclass(frozen=True)
class VisitHabit:
    min_age: int
    max_age: int
    daily_probability: float  # per eligible person per day, before closures
    first_slot: int  # 2-hour slots of the day: slot 4 = 08:00-10:00
    last_slot: int
    minutes: tuple[int, int]  # duration range


SLOT_MINUTES = 120
SLOTS_PER_DAY = 24 * 60 // SLOT_MINUTES

VISIT_HABITS: dict[str, VisitHabit] = {
    "internet_cafe": VisitHabit(16, 40, 0.025, 6, 11, (60, 300)),
    "ktv": VisitHabit(18, 55, 0.010, 9, 11, (90, 240)),
    "cinema": VisitHabit(10, 65, 0.010, 6, 11, (100, 150)),
    "chess_room": VisitHabit(45, 85, 0.040, 4, 10, (60, 240)),
    "restaurant": VisitHabit(16, 75, 0.120, 5, 10, (40, 100)),
    "hotel": VisitHabit(20, 70, 0.003, 9, 11, (480, 720)),
    "scenic_spot": VisitHabit(5, 80, 0.004, 4, 8, (90, 240)),
    "market": VisitHabit(30, 85, 0.150, 3, 9, (20, 60)),
    "hospital": VisitHabit(0, 99, 0.010, 4, 8, (30, 180)),
    "elderly_centre": VisitHabit(65, 99, 0.150, 4, 8, (60, 180)),
}


def visit_start_minute(
    person: npt.NDArray[np.int64], venue: npt.NDArray[np.int64], slot: npt.NDArray[np.int64], day: int
) -> npt.NDArray[np.int64]:
    """Minute of the day a visit starts: inside its 2-hour slot, fixed by (person, venue, day) alone, so the
    outbreak's check-ins, the check-in data set and the pings agree without sharing a random stream."""
    mixed = (person * 2_654_435_761 + venue * 40_503 + day * 9_973) % 1_000_003
    return np.asarray(slot * SLOT_MINUTES + mixed % SLOT_MINUTES, dtype=np.int64)
