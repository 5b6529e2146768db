from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pds
import pytest

from fangkong.simulate import City, Interventions, OutbreakConfig, OutbreakResult, run_outbreak
from fangkong.simulate import datasets as ds
from fangkong.simulate.identity import is_valid_resident_id


@pytest.fixture(scope="module")
def outbreak(city: City) -> OutbreakResult:
    config = OutbreakConfig(days=25, seed=4, interventions=Interventions.testing_and_tracing(), arrivals_per_day=150)
    return run_outbreak(city, config)


def test_pings_schema_and_cells(city: City, outbreak: OutbreakResult, tmp_path: Path) -> None:
    stats = ds.write_pings(city, tmp_path / "pings", days=2, interval_minutes=30, cell_metres=500, outbreak=outbreak)
    table = pds.dataset(tmp_path / "pings", format="parquet").to_table()
    assert table.schema.field("phone").type == pa.int64()
    assert table.schema.field("cell").type == pa.int64()
    assert table.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert table.num_rows == stats.rows
    phones_with_pings = len(pc.unique(table["phone"]))
    assert phones_with_pings == int((city.arrays.age >= 10).sum())
    assert stats.rows == phones_with_pings * 2 * 48
    # Night pings sit in the home cell.
    home = ds.city_grid_cell(city, city.arrays.lon, city.arrays.lat, 500)
    phone_to_home = dict(zip(city.phones.tolist(), home.tolist(), strict=True))
    first = table.slice(0, 1000).to_pylist()
    for row in first:
        local_hour = (row["ts"].hour + 8) % 24
        if local_hour < 5:
            assert row["cell"] == phone_to_home[row["phone"]]


def test_grid_cell_formula() -> None:
    cells = ds.grid_cell(np.array([112.0, 112.0]), np.array([34.0, 34.0 + 1000 / 110_540]), 800, (112.0, 34.0), 34.0)
    assert cells[0] == 0
    assert cells[1] == 1 * 1_000_000 + 0


def test_venue_infections_show_in_checkins(city: City, outbreak: OutbreakResult) -> None:
    tree = outbreak.infection_tree.filter(pc.field("setting") == "venue")
    if tree.num_rows == 0:
        pytest.skip("no venue infection in this small run")
    visits = ds.checkins(city, days=25, outbreak=None, seed=outbreak.config.seed, start_date=outbreak.config.start_date)
    seen = set(zip(visits["person_id"].to_pylist(), visits["venue_id"].to_pylist(), strict=True))
    for infectee, venue in zip(tree["infectee"].to_pylist(), tree["venue_id"].to_pylist(), strict=True):
        assert (infectee, venue) in seen


def test_police_arrivals_are_dirty_but_traceable(city: City, outbreak: OutbreakResult) -> None:
    records, truth = ds.police_arrivals(
        city, outbreak, duplicate_share=0.2, missing_id_share=0.1, mistyped_id_share=0.1
    )
    assert records.num_rows == truth.num_rows
    ids = records["id_number"].to_pylist()
    assert any(i is None for i in ids)
    assert any(i is not None and not is_valid_resident_id(i) for i in ids)
    resident = [p for p in truth["person_id"].to_pylist() if p is not None]
    assert len(resident) > len(set(resident))  # duplicates
    reports = ds.self_reports(city, outbreak)
    overlap = set(reports["truth_person_id"].to_pylist()) & set(resident)
    assert 0 < len(overlap) < len(set(resident))


def test_recorded_and_regenerated_checkins_agree(city: City) -> None:
    config = OutbreakConfig(days=6, seed=9, record_checkins=True)
    result = run_outbreak(city, config)
    assert result.checkins is not None
    regenerated = ds.checkins(city, days=6, seed=9, start_date=config.start_date)
    assert regenerated.equals(result.checkins.sort_by([("checkin_time", "ascending"), ("person_id", "ascending")]))
