"""Choosing a site and rooms for each group being placed: sites in the placer's jurisdiction ranked by
jurisdiction, distance and free rooms; rooms proposed in memory, then locked (`SELECT … FOR UPDATE SKIP LOCKED`)
and re-checked, rooms lost to a concurrent placement replaced from what is left."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection
from django.utils.translation import gettext_lazy as _

from fangkong.core.errors import ConflictError
from fangkong.core.models import User
from fangkong.core.scope import scoped
from fangkong.quarantine.models import (
    Room,
    RoomBooking,
    RoomType,
    Site,
    SiteStatus,
)
from fangkong.quarantine.selectors import placement as selectors
from fangkong.quarantine.services.common import (
    QuarantineErrorCode,
)
from fangkong.quarantine.services.placement_requests import CHUNK, _Row

E = QuarantineErrorCode

# Room types tried, in order, for one person; a group needs beds for all and tries family rooms first.
SINGLE_PREFERENCE = (RoomType.SINGLE, RoomType.ACCESSIBLE, RoomType.FAMILY)
GROUP_PREFERENCE = (RoomType.FAMILY, RoomType.ACCESSIBLE, RoomType.SINGLE)


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
