"""Where a screened person's work goes: the community of their address, else the county's unlocated queue.

A community is found by its code (a `community` column), or by the longest community name that occurs in the
address, preferring communities in the county of the ID number's region, then in a county named in the
address; a name that stays ambiguous is not guessed. Names are looked up at the positions where a community
name can end (its last character), so a million addresses take a few seconds, not a regex per name.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class Place:
    path: str
    name: str


class Router:
    def __init__(self, *, city_path: str, communities: list[Place], counties: list[Place], home_path: str) -> None:
        self.city_path = city_path
        self.community_paths = {c.path for c in communities}
        self.county_paths = {c.path for c in counties}
        self.home_path = home_path  # the importing jurisdiction: its county, or the city, is the last resort
        self._by_name: dict[str, list[str]] = defaultdict(list)
        for community in communities:
            self._by_name[community.name].append(community.path)
        self._lengths = sorted({len(n) for n in self._by_name}, reverse=True)
        self._last_characters = frozenset(n[-1] for n in self._by_name if n)
        self._county_names = [(c.name, c.path) for c in sorted(counties, key=lambda c: -len(c.name))]

    def knows_community(self, path: str) -> bool:
        return path in self.community_paths

    def community_in(self, address: str, *, county: str = "") -> str:
        """The path of the community named in `address`, or ''."""
        if not address or not self._by_name:
            return ""
        found: list[str] = []  # candidate names, longest first at each end position
        for end, character in enumerate(address, start=1):
            if character not in self._last_characters:
                continue
            for length in self._lengths:
                if length <= end and address[end - length : end] in self._by_name:
                    found.append(address[end - length : end])
                    break
        if not found:
            return ""
        named_county: str | None = None  # the county named in the address, looked for only when needed
        for name in sorted(found, key=len, reverse=True):
            paths = self._by_name[name]
            if len(paths) == 1:
                return paths[0]  # a unique name wins whatever county prefers it: no county name to look for
            chosen = _single_under(paths, county)
            if not chosen:
                if named_county is None:
                    named_county = self.county_named_in(address)
                chosen = _single_under(paths, named_county)
            if chosen:
                return chosen
        return ""

    def county_named_in(self, address: str) -> str:
        return next((path for name, path in self._county_names if name in address), "") if address else ""

    def county_of_id(self, region_code: str) -> str:
        return region_code if region_code in self.county_paths else ""

    def unlocated_queue(self, county: str) -> str:
        """The county whose unlocated queue takes a person with no community: the ID's county when it is in
        this city, else the importing jurisdiction's county, else the city."""
        if county:
            return county
        if len(self.home_path) >= 6 and self.home_path[:6] in self.county_paths:
            return self.home_path[:6]
        return self.city_path


def _single_under(paths: list[str], prefix: str) -> str:
    """The one path under ``prefix`` (a county), or '' when there is none, several, or no prefix."""
    if not prefix:
        return ""
    inside = [path for path in paths if path.startswith(prefix)]
    return inside[0] if len(inside) == 1 else ""
