from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from fangkong.simulate import City, CityConfig, build_city
from fangkong.simulate.identity import is_valid_resident_id
from fangkong.simulate.places import VENUE_CATEGORIES

LUOYANG_COUNTIES = {
    "410302",
    "410303",
    "410304",
    "410305",
    "410307",
    "410308",
    "410311",
    "410323",
    "410324",
    "410325",
    "410326",
    "410327",
    "410328",
    "410329",
}


def test_divisions_form_a_tree(city: City) -> None:
    d = city.divisions.to_pydict()
    rows = {code: (level, parent) for code, level, parent in zip(d["code"], d["level"], d["parent_code"], strict=True)}
    assert rows["410300"] == ("city", None)
    assert {c for c, (lvl, _) in rows.items() if lvl == "county"} == LUOYANG_COUNTIES
    for code, (level, parent) in rows.items():
        if level == "county":
            assert len(code) == 6
            assert parent == "410300"
        elif level == "street":
            assert len(code) == 9
            assert parent == code[:6]
            assert rows[parent][0] == "county"
        elif level == "community":
            assert len(code) == 12
            assert parent == code[:9]
            assert rows[parent][0] == "street"
            assert 1 <= int(code[9:]) <= 399
            assert d["name"][d["code"].index(code)].endswith("社区" if int(code[9:]) < 200 else "村")
    assert len(set(d["code"])) == len(d["code"])


def test_people_reference_known_places(city: City) -> None:
    people = city.people
    codes = set(city.divisions.column("code").to_pylist())
    assert set(pc.unique(people["community_code"]).to_pylist()) <= codes
    assert people["person_id"].to_pylist() == list(range(city.n_people))
    assert set(pc.utf8_length(people["phone"]).to_pylist()) == {11}
    assert len(pc.unique(people["phone"])) == city.n_people
    venues = set(city.venues.column("category").to_pylist())
    assert venues == set(VENUE_CATEGORIES)


def test_every_id_number_is_valid_and_matches_the_person(city: City) -> None:
    people = city.people.to_pydict()
    seen = set()
    for number, birth, sex, county in zip(
        people["id_number"], people["birth_date"], people["sex"], people["county_code"], strict=True
    ):
        assert is_valid_resident_id(number), number
        assert number[:6] == county
        assert number[6:14] == birth.strftime("%Y%m%d")
        assert (int(number[16]) % 2 == 1) == (sex == "M")
        seen.add(number)
    assert len(seen) == len(people["id_number"])


def test_ids_agree_with_core_validator(city: City) -> None:
    identity = pytest.importorskip("fangkong.core.identity")
    people = city.people.slice(0, 5_000).to_pydict()
    for number, birth, sex, county in zip(
        people["id_number"], people["birth_date"], people["sex"], people["county_code"], strict=True
    ):
        parsed = identity.validate_resident_id(number, today=city.config.reference_date)
        assert (parsed.region_code, parsed.birth_date, parsed.sex) == (county, birth, sex)


def test_age_structure_is_chinese(city: City) -> None:
    age = city.arrays.age
    assert 0.14 < (age < 15).mean() < 0.21  # census 2020: 17.95 %
    assert 0.15 < (age >= 60).mean() < 0.23  # census 2020: 18.70 %
    mean_size = city.n_people / city.households.num_rows
    assert 2.4 < mean_size < 2.8  # census 2020: 2.62
    births: list[dt.date] = city.people.column("birth_date").to_pylist()  # type: ignore[assignment]
    reference = city.config.reference_date
    for b, a in zip(births[:500], city.arrays.age[:500], strict=True):
        assert (reference - b).days // 365.25 == a or abs((reference - b).days / 365.25 - a) < 1.01
        assert b < reference


def test_geojson_is_valid(city: City) -> None:
    for level in ("county", "street"):
        fc = city.geojson("county" if level == "county" else "street")
        json.dumps(fc)
        assert fc["type"] == "FeatureCollection"
        assert fc["features"]
        for feature in fc["features"]:
            ring = feature["geometry"]["coordinates"][0]
            assert ring[0] == ring[-1]
            assert len(ring) >= 4
            assert {"code", "name"} <= feature["properties"].keys()
    assert len(city.geojson("county")["features"]) == 14


def test_population_scales_communities() -> None:
    big = build_city(CityConfig(people=200_000, seed=1))
    counts = np.bincount(big.arrays.community)
    assert 1_000 <= np.median(counts) <= 8_000


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = build_city(CityConfig(people=5_000, seed=3))
    b = build_city(CityConfig(people=5_000, seed=3))
    pa_ = a.write_parquet(tmp_path / "a")
    pb = b.write_parquet(tmp_path / "b")
    for name, path in pa_.items():
        assert path.read_bytes() == pb[name].read_bytes(), name
    assert pq.read_table(pa_["people"]).num_rows == 5_000
    c = build_city(CityConfig(people=5_000, seed=4))
    assert c.people["id_number"] != a.people["id_number"]


def test_reference_date_drives_birth_dates() -> None:
    c = build_city(CityConfig(people=2_000, seed=1, reference_date=dt.date(2022, 1, 1)))
    assert all(b is not None and b <= dt.date(2022, 1, 1) for b in c.people.column("birth_date").to_pylist())
