"""The synthetic city: divisions, people, households, buildings, schools, workplaces and venues.

Agents are kept as numpy arrays (``City.arrays``); the Arrow tables with names, ID numbers and addresses are
built on first use, so the outbreak model never pays for strings it does not read.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from fangkong.simulate import _arrow, geography, identity, names, places, population
from fangkong.simulate._rng import Streams

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

OCCUPATIONS: tuple[str, ...] = ("preschool", "student", "worker", "farmer", "retired", "other")
PRESCHOOL, STUDENT, WORKER, FARMER, RETIRED, OTHER = range(6)
URBAN_CORE = ("410303", "410305", "410311")  # where commuters from elsewhere work


@dataclass(frozen=True)
class CityConfig:
    """Everything that shapes the synthetic city. Same config → byte-identical tables."""

    people: int = 100_000
    seed: int = 0
    prefecture: str = "410300"
    reference_date: dt.date = dt.date(2021, 10, 17)  # ages are as on this day (the outbreak's default start)
    residents_per_urban_community: int = 4000
    residents_per_village: int = 2500
    communities_per_street: int = 10
    villages_per_town: int = 14
    households_per_urban_building: int = 48
    commuter_share: float = 0.2  # workers outside the urban core who work in it

    def __post_init__(self) -> None:
        if not 1_000 <= self.people <= 20_000_000:
            raise ValueError("people must be between 1,000 and 20,000,000")
        if self.prefecture not in geography.PREFECTURES:
            raise ValueError(f"unknown prefecture {self.prefecture}")


@dataclass
class Divisions:
    code: list[str]
    name: list[str]
    level: list[str]
    parent_code: list[str | None]
    lon: list[float]
    lat: list[float]
    polygons: dict[str, geography.Polygon] = field(default_factory=dict)


@dataclass
class CityArrays:
    """Struct of arrays, one entry per person (and per place for the place arrays)."""

    age: IntArray
    is_male: BoolArray
    household: IntArray
    community: IntArray  # index into City.communities
    county: IntArray  # index into prefecture.counties
    building: IntArray
    lon: FloatArray
    lat: FloatArray
    occupation: npt.NDArray[np.int8]
    school: IntArray  # -1 when none
    school_class: IntArray  # -1 when none
    workplace: IntArray  # -1 when none
    leave_home: npt.NDArray[np.int16]  # minutes after midnight, -1 when the person stays around home
    return_home: npt.NDArray[np.int16]
    household_start: IntArray  # per household: first person (people are contiguous by household)
    household_size: IntArray
    household_community: IntArray
    building_lon: FloatArray
    building_lat: FloatArray
    building_community: IntArray
    school_kind: IntArray  # per school, index into places.SCHOOL_KINDS
    school_community: IntArray
    school_size: IntArray
    workplace_community: IntArray
    workplace_size: IntArray
    venue_category: IntArray  # index into places.VENUE_CATEGORIES
    venue_community: IntArray
    venue_capacity: IntArray
    venue_lon: FloatArray
    venue_lat: FloatArray


@dataclass
class Community:
    code: str
    name: str
    street: int
    county: int
    is_urban: bool
    lon: float
    lat: float


class City:
    """A built city. Tables are pyarrow Tables; ``arrays`` is what the simulator reads."""

    def __init__(
        self,
        config: CityConfig,
        prefecture: geography.Prefecture,
        divisions: Divisions,
        communities: list[Community],
        street_names: list[str],
        arrays: CityArrays,
        streams: Streams,
    ) -> None:
        self.config = config
        self.prefecture = prefecture
        self.communities = communities
        self.street_names = street_names
        self.arrays = arrays
        self._divisions = divisions
        self._streams = streams

    @property
    def n_people(self) -> int:
        return int(self.arrays.age.shape[0])

    @property
    def county_codes(self) -> list[str]:
        return [c.code for c in self.prefecture.counties]

    @functools.cached_property
    def community_codes(self) -> list[str]:
        return [c.code for c in self.communities]

    # ---- tables -------------------------------------------------------------------------------------------
    @functools.cached_property
    def divisions(self) -> pa.Table:
        d = self._divisions
        return pa.table(
            {
                "code": pa.array(d.code, pa.string()),
                "name": pa.array(d.name, pa.string()),
                "level": pa.array(d.level, pa.string()),
                "parent_code": pa.array(d.parent_code, pa.string()),
                "lon": pa.array(d.lon, pa.float64()),
                "lat": pa.array(d.lat, pa.float64()),
            }
        )

    @functools.cached_property
    def birth_dates(self) -> npt.NDArray[np.datetime64]:
        rng = self._streams("birth_dates")
        reference = np.datetime64(self.config.reference_date, "D")
        days_before = self.arrays.age * 365 + np.floor(self.arrays.age / 4).astype(np.int64)
        days_before = days_before + rng.integers(1, 365, self.n_people)
        return reference - days_before.astype("timedelta64[D]")

    @functools.cached_property
    def phones(self) -> IntArray:
        return identity.unique_mobiles(self.n_people, self._streams("phones"))

    @functools.cached_property
    def id_numbers(self) -> _arrow.ArrowArray:
        a = self.arrays
        region = np.array([int(c) for c in self.county_codes], dtype=np.int64)[a.county]
        births = self.birth_dates
        years = births.astype("datetime64[Y]").astype(np.int64) + 1970
        months = births.astype("datetime64[M]").astype(np.int64) % 12 + 1
        days = (births - births.astype("datetime64[M]")).astype(np.int64) + 1
        yyyymmdd = years * 10_000 + months * 100 + days
        sequence = identity.sequence_numbers(region, births.astype(np.int64), a.is_male, self._streams("id_sequence"))
        return identity.resident_ids(region, yyyymmdd, sequence)

    @functools.cached_property
    def person_names(self) -> _arrow.ArrowArray:
        rng = self._streams("names")
        a = self.arrays
        n = self.n_people
        household_surname = names.surname_index(int(a.household_size.shape[0]), rng)
        own_surname = names.surname_index(n, rng)
        surname = np.where(self._shares_surname, household_surname[a.household], own_surname)
        male_first = names.NEUTRAL_GIVEN + names.MALE_GIVEN
        female_first = names.NEUTRAL_GIVEN + names.FEMALE_GIVEN
        first_vocab = list(male_first) + list(female_first)
        second_vocab = [""] + list(names.MALE_GIVEN) + list(names.FEMALE_GIVEN)
        first = np.where(
            a.is_male,
            rng.integers(0, len(male_first), n),
            len(male_first) + rng.integers(0, len(female_first), n),
        )
        two_characters = rng.random(n) < np.where(a.age > 50, 0.6, 0.85)
        second = np.where(
            a.is_male,
            1 + rng.integers(0, len(names.MALE_GIVEN), n),
            1 + len(names.MALE_GIVEN) + rng.integers(0, len(names.FEMALE_GIVEN), n),
        )
        second = np.where(two_characters, second, 0)
        return _arrow.join(
            _arrow.take_strings(names.surname_list(), surname),
            _arrow.take_strings(first_vocab, first),
            _arrow.take_strings(second_vocab, second),
        )

    _shares_surname: BoolArray

    @functools.cached_property
    def addresses(self) -> _arrow.ArrowArray:
        a = self.arrays
        rng = self._streams("addresses")
        county_names = [c.name for c in self.prefecture.counties]
        street_of_community = np.array([c.street for c in self.communities], dtype=np.int64)
        urban = np.array([c.is_urban for c in self.communities], dtype=bool)[a.community]
        building_number = (
            a.building
            - np.minimum.reduceat(a.building, _group_starts(a.community))[
                np.searchsorted(_group_starts_values(a.community), a.community)
            ]
        )
        head = _arrow.join(
            _arrow.take_strings(county_names, a.county),
            _arrow.take_strings(self.street_names, street_of_community[a.community]),
            _arrow.take_strings([c.name for c in self.communities], a.community),
        )
        unit = rng.integers(1, 5, self.n_people)
        room = rng.integers(1, 19, self.n_people) * 100 + rng.integers(1, 5, self.n_people)
        # All members of a household share unit and room: take them from the household's first member.
        unit = unit[a.household_start[a.household]]
        room = room[a.household_start[a.household]]
        urban_tail = _arrow.join(
            _arrow.digits(building_number + 1, 1),
            "号楼",
            _arrow.digits(unit, 1),
            "单元",
            _arrow.digits(room, 3),
            "室",
        )
        group_number = building_number // 40 + 1
        rural_tail = _arrow.join(_arrow.digits(group_number, 1), "组", _arrow.digits(building_number % 40 + 1, 1), "号")
        import pyarrow.compute as pc

        return _arrow.join(head, pc.if_else(pa.array(urban), urban_tail, rural_tail))

    @functools.cached_property
    def people(self) -> pa.Table:
        a = self.arrays
        return pa.table(
            {
                "person_id": _arrow.ints(np.arange(self.n_people)),
                "name": self.person_names,
                "sex": _arrow.take_strings(["F", "M"], a.is_male.astype(np.int64)),
                "birth_date": pa.array(self.birth_dates, pa.date32()),
                "age": pa.array(a.age.astype(np.int16), pa.int16()),
                "id_number": self.id_numbers,
                "phone": pa.compute.cast(_arrow.ints(self.phones), pa.string()),
                "community_code": _arrow.take_strings(self.community_codes, a.community),
                "county_code": _arrow.take_strings(self.county_codes, a.county),
                "household_id": _arrow.ints(a.household),
                "building_id": _arrow.ints(a.building),
                "lon": pa.array(a.lon, pa.float64()),
                "lat": pa.array(a.lat, pa.float64()),
                "address": self.addresses,
                "occupation": _arrow.take_strings(list(OCCUPATIONS), a.occupation.astype(np.int64)),
                "school_id": _arrow.nullable_ints(a.school),
                "class_id": _arrow.nullable_ints(a.school_class),
                "workplace_id": _arrow.nullable_ints(a.workplace),
                "leave_home_minute": pa.array(a.leave_home, pa.int16(), mask=a.leave_home < 0),
                "return_home_minute": pa.array(a.return_home, pa.int16(), mask=a.return_home < 0),
            }
        )

    @functools.cached_property
    def households(self) -> pa.Table:
        a = self.arrays
        first = a.household_start
        return pa.table(
            {
                "household_id": _arrow.ints(np.arange(first.shape[0])),
                "size": _arrow.ints(a.household_size),
                "community_code": _arrow.take_strings(self.community_codes, a.household_community),
                "building_id": _arrow.ints(a.building[first]),
                "head_person_id": _arrow.ints(first),
                "lon": pa.array(a.lon[first], pa.float64()),
                "lat": pa.array(a.lat[first], pa.float64()),
            }
        )

    @functools.cached_property
    def buildings(self) -> pa.Table:
        a = self.arrays
        residents = np.bincount(a.building, minlength=a.building_lon.shape[0])
        return pa.table(
            {
                "building_id": _arrow.ints(np.arange(a.building_lon.shape[0])),
                "community_code": _arrow.take_strings(self.community_codes, a.building_community),
                "residents": _arrow.ints(residents),
                "lon": pa.array(a.building_lon, pa.float64()),
                "lat": pa.array(a.building_lat, pa.float64()),
            }
        )

    @functools.cached_property
    def schools(self) -> pa.Table:
        a = self.arrays
        kinds = [k[0] for k in places.SCHOOL_KINDS]
        kind_names = {
            "kindergarten": "幼儿园",
            "primary": "小学",
            "junior": "初级中学",
            "senior": "高级中学",
            "university": "学院",
        }
        community_names = [c.name.removesuffix("社区").removesuffix("村") for c in self.communities]
        lon = np.array([c.lon for c in self.communities])[a.school_community]
        lat = np.array([c.lat for c in self.communities])[a.school_community]
        return pa.table(
            {
                "school_id": _arrow.ints(np.arange(a.school_kind.shape[0])),
                "name": _arrow.join(
                    _arrow.take_strings(community_names, a.school_community),
                    _arrow.take_strings([kind_names[k] for k in kinds], a.school_kind),
                ),
                "kind": _arrow.take_strings(kinds, a.school_kind),
                "community_code": _arrow.take_strings(self.community_codes, a.school_community),
                "pupils": _arrow.ints(a.school_size),
                "lon": pa.array(lon, pa.float64()),
                "lat": pa.array(lat, pa.float64()),
            }
        )

    @functools.cached_property
    def workplaces(self) -> pa.Table:
        a = self.arrays
        rng = self._streams("workplace_coords")
        lon = np.array([c.lon for c in self.communities])[a.workplace_community]
        lat = np.array([c.lat for c in self.communities])[a.workplace_community]
        count = a.workplace_community.shape[0]
        return pa.table(
            {
                "workplace_id": _arrow.ints(np.arange(count)),
                "community_code": _arrow.take_strings(self.community_codes, a.workplace_community),
                "staff": _arrow.ints(a.workplace_size),
                "lon": pa.array(lon + rng.normal(0, 0.004, count), pa.float64()),
                "lat": pa.array(lat + rng.normal(0, 0.004, count), pa.float64()),
            }
        )

    @functools.cached_property
    def venues(self) -> pa.Table:
        a = self.arrays
        rng = self._streams("venue_names")
        count = int(a.venue_category.shape[0])
        community_names = [c.name.removesuffix("社区").removesuffix("村") for c in self.communities]
        brand = [
            "好运来",
            "金豪",
            "星光",
            "红星",
            "老街",
            "富贵",
            "聚贤",
            "天天",
            "同乐",
            "洛阳春",
            "牡丹",
            "河洛",
            "龙门",
            "盛世",
            "鑫源",
            "百姓",
            "乐享",
            "大众",
            "欢乐",
            "悦来",
        ]
        use_brand = rng.random(count) < 0.6
        prefix_index = np.where(use_brand, rng.integers(0, len(brand), count), len(brand) + a.venue_community)
        suffix = [places.VENUE_CATEGORY_NAMES[c] for c in places.VENUE_CATEGORIES]
        number = _arrow.digits(np.arange(count) % 97 + 1, 1)
        return pa.table(
            {
                "venue_id": _arrow.ints(np.arange(count)),
                "name": _arrow.join(
                    _arrow.take_strings(brand + community_names, prefix_index),
                    _arrow.take_strings(suffix, a.venue_category),
                    pa.compute.if_else(pa.array(use_brand, pa.bool_()), _arrow.join("(", number, "店)"), ""),
                ),
                "category": _arrow.take_strings(list(places.VENUE_CATEGORIES), a.venue_category),
                "community_code": _arrow.take_strings(self.community_codes, a.venue_community),
                "lon": pa.array(a.venue_lon, pa.float64()),
                "lat": pa.array(a.venue_lat, pa.float64()),
                "capacity": _arrow.ints(a.venue_capacity),
            }
        )

    def geojson(self, level: Literal["county", "street", "community"] = "county") -> dict[str, Any]:
        """Boundaries as a GeoJSON FeatureCollection with properties code, name, parent_code."""
        d = self._divisions
        features: list[dict[str, Any]] = []
        for code, name, kind, parent in zip(d.code, d.name, d.level, d.parent_code, strict=True):
            if kind != level:
                continue
            polygon = d.polygons.get(code)
            if polygon is None or polygon.shape[0] < 3:
                continue
            features.append(
                {
                    "type": "Feature",
                    "properties": {"code": code, "name": name, "level": kind, "parent_code": parent},
                    "geometry": {"type": "Polygon", "coordinates": [geography.to_geojson_ring(polygon)]},
                }
            )
        return {"type": "FeatureCollection", "features": features}

    def tables(self) -> dict[str, pa.Table]:
        return {
            "divisions": self.divisions,
            "people": self.people,
            "households": self.households,
            "buildings": self.buildings,
            "schools": self.schools,
            "workplaces": self.workplaces,
            "venues": self.venues,
        }

    def write_parquet(self, directory: str | Path) -> dict[str, Path]:
        """Write every table as ``<name>.parquet`` plus the boundaries as GeoJSON files."""
        import json

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        written: dict[str, Path] = {}
        for name, table in self.tables().items():
            path = out / f"{name}.parquet"
            pq.write_table(table, path, compression="zstd", row_group_size=1_000_000)
            written[name] = path
        for level in ("county", "street", "community"):
            path = out / f"boundaries_{level}.geojson"
            path.write_text(json.dumps(self.geojson(level), ensure_ascii=False), encoding="utf-8")
            written[f"boundaries_{level}"] = path
        return written


def _group_starts(sorted_values: IntArray) -> IntArray:
    return np.asarray(np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]]), dtype=np.int64)


def _group_starts_values(sorted_values: IntArray) -> IntArray:
    return sorted_values[_group_starts(sorted_values)]


def _largest_remainder(total: int, weights: FloatArray) -> IntArray:
    exact = weights / weights.sum() * total
    base = np.floor(exact).astype(np.int64)
    short = total - int(base.sum())
    if short > 0:
        base[np.argsort(-(exact - base), kind="stable")[:short]] += 1
    return np.asarray(base, dtype=np.int64)


def build_city(config: CityConfig) -> City:
    """Build the synthetic city for ``config`` (deterministic for its seed)."""
    streams = Streams(config.seed)
    prefecture = geography.PREFECTURES[config.prefecture]
    counties = prefecture.counties
    county_people = _largest_remainder(config.people, np.array([c.population for c in counties]))

    # ---- divisions and geometry ----
    rng = streams("divisions")
    seats = np.array([[c.lon, c.lat] for c in counties])
    county_cells = geography.voronoi_cells(seats, geography.box(*prefecture.bbox))
    divisions = Divisions(
        code=[prefecture.code],
        name=[prefecture.name],
        level=["city"],
        parent_code=[None],
        lon=[float(seats[:, 0].mean())],
        lat=[float(seats[:, 1].mean())],
    )
    divisions.polygons[prefecture.code] = geography.box(*prefecture.bbox)
    communities: list[Community] = []
    community_people: list[int] = []
    street_names: list[str] = []
    for ci, county in enumerate(counties):
        divisions.code.append(county.code)
        divisions.name.append(county.name)
        divisions.level.append("county")
        divisions.parent_code.append(prefecture.code)
        divisions.lon.append(county.lon)
        divisions.lat.append(county.lat)
        divisions.polygons[county.code] = county_cells[ci]
        n = int(county_people[ci])
        urban_people = round(n * county.urban_share)
        rural_people = n - urban_people
        n_urban = max(1, round(urban_people / config.residents_per_urban_community)) if urban_people else 0
        n_villages = max(1, round(rural_people / config.residents_per_village)) if rural_people else 0
        n_streets = math.ceil(n_urban / config.communities_per_street) if n_urban else 0
        n_towns = math.ceil(n_villages / config.villages_per_town) if n_villages else 0
        n_streets, n_towns = min(n_streets, 99), min(n_towns, 99)
        cell = county_cells[ci]
        spread = 0.02 + 0.01 * math.sqrt(n_streets)
        street_sites = geography.sample_in_polygon(cell, n_streets, rng, (county.lon, county.lat), spread)
        town_sites = geography.sample_in_polygon(cell, n_towns, rng)
        sites = np.vstack([street_sites, town_sites])
        street_cells = geography.voronoi_cells(sites, cell) if sites.shape[0] > 1 else [cell]
        labels = geography.place_names(n_streets + n_towns, rng, "")
        urban_split = _largest_remainder(n_urban, np.ones(n_streets)) if n_streets else np.zeros(0, np.int64)
        village_split = _largest_remainder(n_villages, np.ones(n_towns)) if n_towns else np.zeros(0, np.int64)
        urban_weights = rng.uniform(0.7, 1.3, n_urban)
        village_weights = rng.uniform(0.7, 1.3, n_villages)
        urban_counts = _largest_remainder(urban_people, urban_weights) if n_urban else np.zeros(0, np.int64)
        village_counts = _largest_remainder(rural_people, village_weights) if n_villages else np.zeros(0, np.int64)
        u_cursor = v_cursor = 0
        for si in range(n_streets + n_towns):
            is_town = si >= n_streets
            street_code = county.code + (f"{100 + si - n_streets + 1:03d}" if is_town else f"{si + 1:03d}")
            street_name = labels[si] + ("镇" if is_town else "街道")
            street_index = len(street_names)
            street_names.append(street_name)
            divisions.code.append(street_code)
            divisions.name.append(street_name)
            divisions.level.append("street")
            divisions.parent_code.append(county.code)
            divisions.lon.append(float(sites[si, 0]))
            divisions.lat.append(float(sites[si, 1]))
            divisions.polygons[street_code] = street_cells[si]
            count = int(village_split[si - n_streets] if is_town else urban_split[si])
            if is_town:
                points = geography.sample_in_polygon(street_cells[si], count, rng)
            else:
                points = geography.sample_in_polygon(
                    street_cells[si], count, rng, (float(sites[si, 0]), float(sites[si, 1])), 0.01
                )
            community_cells = geography.voronoi_cells(points, street_cells[si]) if count > 1 else [street_cells[si]]
            community_labels = geography.place_names(count, rng, "村" if is_town else "社区")
            for k in range(count):
                code = street_code + (f"{200 + k + 1:03d}" if is_town else f"{k + 1:03d}")
                communities.append(
                    Community(
                        code,
                        community_labels[k],
                        street_index,
                        ci,
                        not is_town,
                        float(points[k, 0]),
                        float(points[k, 1]),
                    )
                )
                if is_town:
                    community_people.append(int(village_counts[v_cursor]))
                    v_cursor += 1
                else:
                    community_people.append(int(urban_counts[u_cursor]))
                    u_cursor += 1
                divisions.code.append(code)
                divisions.name.append(community_labels[k])
                divisions.level.append("community")
                divisions.parent_code.append(street_code)
                divisions.lon.append(float(points[k, 0]))
                divisions.lat.append(float(points[k, 1]))
                divisions.polygons[code] = community_cells[k]

    # ---- households and people ----
    rng = streams("households")
    households = population.make_households(config.people, rng)
    n_households = households.size.shape[0]
    household_start = np.cumsum(households.size) - households.size
    community_bounds = np.cumsum(np.array(community_people, dtype=np.int64))
    household_community = np.minimum(
        np.searchsorted(community_bounds, household_start, side="right"), len(communities) - 1
    ).astype(np.int64)
    person_community = household_community[households.person_household]
    community_county = np.array([c.county for c in communities], dtype=np.int64)
    community_urban = np.array([c.is_urban for c in communities], dtype=bool)
    community_lon = np.array([c.lon for c in communities])
    community_lat = np.array([c.lat for c in communities])

    # ---- buildings ----
    rng = streams("buildings")
    hh_starts = _group_starts(household_community)
    hh_rank = np.arange(n_households) - np.repeat(hh_starts, np.diff(np.r_[hh_starts, n_households]))
    per_building = np.where(community_urban[household_community], config.households_per_urban_building, 1)
    local_building = hh_rank // per_building
    key = household_community * 1_000_000 + local_building
    household_building = np.cumsum(np.r_[True, key[1:] != key[:-1]]) - 1
    n_buildings = int(household_building[-1]) + 1
    first_household = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    building_community = household_community[first_household]
    building_spread = np.where(community_urban[building_community], 0.004, 0.006)
    building_lon = community_lon[building_community] + rng.normal(0, 1, n_buildings) * building_spread / np.cos(
        np.radians(community_lat[building_community])
    )
    building_lat = community_lat[building_community] + rng.normal(0, 1, n_buildings) * building_spread
    person_building = household_building[households.person_household]

    # ---- occupations, schools, workplaces ----
    rng = streams("occupations")
    age = households.age
    n = config.people
    person_county = community_county[person_community]
    occupation = np.full(n, OTHER, dtype=np.int8)
    u = rng.random(n)
    occupation[age < 6] = PRESCHOOL
    occupation[(age >= 6) & (age <= 17)] = STUDENT
    adult = (age >= 18) & (age < 60)
    retired_early = (~households.is_male) & (age >= 50) & (u < 0.6)
    urban_person = community_urban[person_community]
    occupation[adult & urban_person & (u < 0.82)] = WORKER
    occupation[adult & ~urban_person & (u < 0.55)] = FARMER
    occupation[adult & ~urban_person & (u >= 0.55) & (u < 0.85)] = WORKER
    occupation[retired_early | (age >= 60)] = RETIRED
    school = np.full(n, -1, dtype=np.int64)
    school_class = np.full(n, -1, dtype=np.int64)
    school_kind: list[IntArray] = []
    school_community: list[IntArray] = []
    school_size: list[IntArray] = []
    school_offset = class_offset = 0
    urban_core_idx = [i for i, c in enumerate(counties) if c.code in URBAN_CORE]
    for k, (_kind, low, high, attendance, size, class_size) in enumerate(places.SCHOOL_KINDS):
        in_age = (age >= low) & (age <= high)
        attends = in_age & (rng.random(n) < attendance)
        group = person_county.copy()
        if _kind == "university":
            group = np.full(n, urban_core_idx[0] if urban_core_idx else 0, dtype=np.int64)
            occupation[attends] = STUDENT
        unit, rank, _unit_group = places.assign_contiguous(group, attends, size)
        units = int(unit.max()) + 1 if (unit >= 0).any() else 0
        if units == 0:
            continue
        school[attends] = unit[attends] + school_offset
        class_local = rank[attends] // class_size
        classes_per_unit = np.zeros(units, dtype=np.int64)
        np.maximum.at(classes_per_unit, unit[attends], class_local + 1)
        class_base = np.cumsum(classes_per_unit) - classes_per_unit
        school_class[attends] = class_offset + class_base[unit[attends]] + class_local
        class_offset += int(classes_per_unit.sum())
        sizes = np.bincount(unit[attends], minlength=units)
        # The school sits in the community of its median pupil.
        members = np.flatnonzero(attends)
        order = np.argsort(unit[members], kind="stable")
        starts = np.cumsum(sizes) - sizes
        median_member = members[order[starts + sizes // 2]]
        school_kind.append(np.full(units, k, dtype=np.int64))
        school_community.append(person_community[median_member])
        school_size.append(sizes.astype(np.int64))
        school_offset += units

    rng = streams("workplaces")
    workers = occupation == WORKER
    work_county = person_county.copy()
    if urban_core_idx:
        outside = workers & ~np.isin(person_county, urban_core_idx) & (rng.random(n) < config.commuter_share)
        work_county[outside] = np.array(urban_core_idx)[rng.integers(0, len(urban_core_idx), int(outside.sum()))]
    worker_index = np.flatnonzero(workers)
    shuffle_key = work_county[worker_index] * 2.0 + rng.random(int(worker_index.shape[0]))
    worker_index = worker_index[np.argsort(shuffle_key, kind="stable")]
    sizes_drawn = np.clip(np.rint(rng.lognormal(np.log(10.0), 1.1, worker_index.shape[0] // 2 + 8)), 2, 3000)
    bounds = np.cumsum(sizes_drawn.astype(np.int64))
    bounds = bounds[bounds < worker_index.shape[0]]
    cut = np.zeros(worker_index.shape[0], dtype=np.int64)
    cut[bounds] = 1
    # also start a new workplace whenever the work county changes
    wc = work_county[worker_index]
    cut[1:] |= (wc[1:] != wc[:-1]).astype(np.int64)
    cut[0] = 0
    workplace = np.full(n, -1, dtype=np.int64)
    workplace_of_worker = np.cumsum(cut)
    workplace[worker_index] = workplace_of_worker
    n_workplaces = int(workplace_of_worker[-1]) + 1 if worker_index.shape[0] else 0
    workplace_size = np.bincount(workplace_of_worker, minlength=n_workplaces).astype(np.int64)
    workplace_county = np.zeros(n_workplaces, dtype=np.int64)
    workplace_county[workplace_of_worker] = wc
    workplace_community = _pick_communities(
        workplace_county,
        community_county,
        np.where(community_urban, 3.0, 1.0) * np.array(community_people),
        rng,
    )

    # ---- schedules ----
    rng = streams("schedules")
    leave = np.full(n, -1, dtype=np.int16)
    back = np.full(n, -1, dtype=np.int16)
    students = school >= 0
    leave[students] = rng.integers(420, 470, int(students.sum()))
    back[students] = np.where(
        age[students] >= 15,
        rng.integers(1080, 1290, int(students.sum())),
        rng.integers(990, 1080, int(students.sum())),
    )
    has_work = workplace >= 0
    leave[has_work] = rng.integers(420, 540, int(has_work.sum()))
    back[has_work] = rng.integers(1020, 1170, int(has_work.sum()))

    # ---- venues ----
    rng = streams("venues")
    venue_category_list: list[IntArray] = []
    venue_community_list: list[IntArray] = []
    venue_capacity_list: list[IntArray] = []
    population_weights = np.array(community_people, dtype=np.float64) + 1.0
    for k, category in enumerate(places.VENUE_CATEGORIES):
        kind = places.VENUE_KINDS[category]
        if category == "elderly_centre":
            chosen = np.flatnonzero(community_urban | (rng.random(len(communities)) < 0.5))
        elif category == "hospital":
            count = max(len(counties), round(config.people / 10_000 * kind.per_10k))
            first = np.array(
                [int(np.argmax(np.where(community_county == c, population_weights, -1))) for c in range(len(counties))]
            )
            extra = _pick_communities(
                np.zeros(count - len(counties), np.int64),
                np.zeros(len(communities), np.int64),
                population_weights * np.where(community_urban, kind.urban_weight, 1.0),
                rng,
            )
            chosen = np.concatenate([first, extra])
        else:
            count = max(1, round(config.people / 10_000 * kind.per_10k))
            chosen = _pick_communities(
                np.zeros(count, np.int64),
                np.zeros(len(communities), np.int64),
                population_weights * np.where(community_urban, kind.urban_weight, 1.0),
                rng,
            )
        venue_category_list.append(np.full(chosen.shape[0], k, dtype=np.int64))
        venue_community_list.append(chosen.astype(np.int64))
        venue_capacity_list.append(rng.integers(kind.capacity[0], kind.capacity[1] + 1, int(chosen.shape[0])))
    venue_category = np.concatenate(venue_category_list)
    venue_community = np.concatenate(venue_community_list)
    n_venues = venue_category.shape[0]
    venue_lon = community_lon[venue_community] + rng.normal(0, 0.004, n_venues)
    venue_lat = community_lat[venue_community] + rng.normal(0, 0.004, n_venues)

    arrays = CityArrays(
        age=age,
        is_male=households.is_male,
        household=households.person_household,
        community=person_community,
        county=person_county,
        building=person_building,
        lon=building_lon[person_building],
        lat=building_lat[person_building],
        occupation=occupation,
        school=school,
        school_class=school_class,
        workplace=workplace,
        leave_home=leave,
        return_home=back,
        household_start=household_start.astype(np.int64),
        household_size=households.size,
        household_community=household_community,
        building_lon=building_lon,
        building_lat=building_lat,
        building_community=building_community.astype(np.int64),
        school_kind=np.concatenate(school_kind) if school_kind else np.zeros(0, np.int64),
        school_community=np.concatenate(school_community) if school_community else np.zeros(0, np.int64),
        school_size=np.concatenate(school_size) if school_size else np.zeros(0, np.int64),
        workplace_community=workplace_community,
        workplace_size=workplace_size,
        venue_category=venue_category,
        venue_community=venue_community,
        venue_capacity=np.concatenate(venue_capacity_list).astype(np.int64),
        venue_lon=venue_lon,
        venue_lat=venue_lat,
    )
    city = City(config, prefecture, divisions, communities, street_names, arrays, streams)
    city._shares_surname = households.shares_surname
    return city


def _pick_communities(
    group_of_item: IntArray, community_group: IntArray, weights: FloatArray, rng: np.random.Generator
) -> IntArray:
    """For each item, a community of the same group drawn with probability ∝ weight."""
    result = np.zeros(group_of_item.shape[0], dtype=np.int64)
    for g in np.unique(group_of_item):
        items = np.flatnonzero(group_of_item == g)
        candidates = np.flatnonzero(community_group == g)
        if candidates.shape[0] == 0:
            candidates = np.arange(community_group.shape[0])
        w = weights[candidates]
        cumulative = np.cumsum(w / w.sum())
        pick = np.minimum(np.searchsorted(cumulative, rng.random(int(items.shape[0]))), candidates.shape[0] - 1)
        result[items] = candidates[pick]
    return result
