"""Round coverage: the engine's query against a plain-Python reference, on DuckDB (Arrow and Parquet inputs)
and on Spark (marked), with named edge cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fangkong.engine import DuckDBBackend, SparkBackend
from fangkong.engine.coverage import (
    HOUR_US,
    INPUT_SCHEMAS,
    RoundCoverage,
    RoundData,
    reconcile_round,
    write_round_data,
)

T0 = dt.datetime(2022, 4, 2, tzinfo=dt.UTC)
T0_US = int(T0.timestamp()) * 1_000_000
MINUTE_US = 60_000_000


@pytest.fixture(scope="module")
def duckdb_backend() -> Iterator[DuckDBBackend]:
    backend = DuckDBBackend(threads=2, memory_limit="1GiB")
    yield backend
    backend.close()


def make_data(
    residents: list[tuple[int, int]],
    samples: list[tuple[int, int, int]],
    exemptions: list[tuple[int, str]],
    positive: list[int],
    areas: list[tuple[int, int]],
) -> RoundData:
    """Arrow inputs from plain rows; sample times are minutes after T0."""

    def table(name: str, rows: list[tuple[Any, ...]]) -> pa.Table:
        schema = INPUT_SCHEMAS[name]
        columns = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
        return pa.table(
            {field.name: pa.array(list(col), field.type) for field, col in zip(schema, columns, strict=True)}
        )

    return RoundData(
        residents=table("residents", list(residents)),
        samples=table("samples", [(p, T0 + dt.timedelta(minutes=m)) for p, _t, m in samples]),
        exemptions=table("exemptions", list(exemptions)),
        positive_pools=table("positive_pools", [(t, p) for p, t, _m in samples if t in set(positive)]),
        areas=table("areas", list(areas)),
    )


def reference(
    residents: list[tuple[int, int]],
    samples: list[tuple[int, int, int]],
    exemptions: list[tuple[int, str]],
    positive: list[int],
    areas: list[tuple[int, int]],
) -> dict[str, list[tuple[Any, ...]]]:
    """The definitions of coverage.py written as loops over plain rows."""
    first: dict[int, int] = {}
    for person, _tube, minute in samples:
        first[person] = min(first.get(person, minute), minute)
    reason: dict[int, str] = {}
    for person, why in exemptions:
        reason[person] = min(reason.get(person, why), why)
    county = dict(areas)
    home = dict(residents)
    counts: dict[int, list[int]] = {}
    untested, door, hourly = [], [], {}
    for person, division in residents:
        row = counts.setdefault(division, [0, 0, 0, 0, 0, 0, 0])
        row[0] += 1
        if person in first:
            row[1] += 1
            hour = (T0_US + first[person] * MINUTE_US) // HOUR_US * HOUR_US
            if division in county:
                key = (county[division], hour)
                hourly[key] = hourly.get(key, 0) + 1
        elif person not in reason:
            row[2] += 1
            untested.append((person, division))
        elif reason[person] == "bedridden":
            row[3] += 1
            door.append((person, division))
        elif reason[person] == "infant":
            row[4] += 1
        elif reason[person] == "away":
            row[5] += 1
        elif reason[person] == "other":
            row[6] += 1
    recall = {(tube, person, home.get(person)) for person, tube, _ in samples if tube in set(positive)}
    return {
        "coverage": sorted((division, *row) for division, row in counts.items()),
        "untested": sorted(untested, key=lambda r: (r[1], r[0])),
        "door_to_door": sorted(door, key=lambda r: (r[1], r[0])),
        "hourly": sorted((c, h, n) for (c, h), n in hourly.items()),
        "recall": sorted(recall, key=lambda r: (r[0], r[1])),
    }


def as_rows(result: RoundCoverage) -> dict[str, list[tuple[Any, ...]]]:
    hourly = [
        (row["county"], int(row["hour"].timestamp()) * 1_000_000, row["tested"]) for row in result.hourly.to_pylist()
    ]
    return {
        "coverage": [tuple(row.values()) for row in result.coverage.to_pylist()],
        "untested": [tuple(row.values()) for row in result.untested.to_pylist()],
        "door_to_door": [tuple(row.values()) for row in result.door_to_door.to_pylist()],
        "hourly": hourly,
        "recall": [tuple(row.values()) for row in result.recall.to_pylist()],
    }


EXAMPLE: dict[str, Any] = {
    # two communities (11, 12) in county 1, one (21) in county 2
    "residents": [(1, 11), (2, 11), (3, 11), (4, 11), (5, 12), (6, 12), (7, 21), (8, 21), (9, 21)],
    "samples": [
        (1, 100, 5),  # tube 100: residents 1, 2 and the visitor 50
        (2, 100, 70),
        (50, 100, 71),
        (5, 101, 61),  # tube 101 (positive): residents 5, 7
        (7, 101, 130),
        (7, 102, 200),  # 7 listed twice: counted once, at the first sample
        (9, 101, 10),  # exempt but sampled anyway: tested wins
    ],
    "exemptions": [(3, "bedridden"), (4, "infant"), (6, "away"), (9, "infant")],
    "positive": [101],
    "areas": [(11, 1), (12, 1), (21, 2)],
}


def test_example_round(duckdb_backend: DuckDBBackend) -> None:
    result = reconcile_round(make_data(**EXAMPLE), backend=duckdb_backend)
    rows = as_rows(result)
    assert rows["coverage"] == [
        # division, residents, tested, untested, door_to_door, infant, away, other
        (11, 4, 2, 0, 1, 1, 0, 0),
        (12, 2, 1, 0, 0, 0, 1, 0),
        (21, 3, 2, 1, 0, 0, 0, 0),
    ]
    assert rows["untested"] == [(8, 21)]
    assert rows["door_to_door"] == [(3, 11)]
    h0 = T0_US
    assert rows["hourly"] == [(1, h0, 1), (1, h0 + HOUR_US, 2), (2, h0, 1), (2, h0 + 2 * HOUR_US, 1)]
    assert rows["recall"] == [(101, 5, 12), (101, 7, 21), (101, 9, 21)]
    assert rows == reference(**EXAMPLE)


def test_parquet_inputs_give_the_same_result(duckdb_backend: DuckDBBackend, tmp_path: Path) -> None:
    data = make_data(**EXAMPLE)
    on_files = write_round_data(data, tmp_path / "round")
    assert all(isinstance(source, str) for source in on_files.sources().values())
    assert as_rows(reconcile_round(on_files, backend=duckdb_backend)) == as_rows(
        reconcile_round(data, backend=duckdb_backend)
    )


def test_empty_round_lists_everyone_untested(duckdb_backend: DuckDBBackend) -> None:
    rows = as_rows(
        reconcile_round(
            make_data(residents=[(1, 11), (2, 11)], samples=[], exemptions=[], positive=[], areas=[(11, 1)]),
            backend=duckdb_backend,
        )
    )
    assert rows["coverage"] == [(11, 2, 0, 2, 0, 0, 0, 0)]
    assert rows["untested"] == [(1, 11), (2, 11)]
    assert rows["hourly"] == rows["recall"] == rows["door_to_door"] == []


def test_a_missing_column_is_refused(duckdb_backend: DuckDBBackend) -> None:
    data = make_data(**EXAMPLE)
    broken = RoundData(
        residents=pa.table({"person_id": pa.array([1], pa.int64())}),
        samples=data.samples,
        exemptions=data.exemptions,
        positive_pools=data.positive_pools,
        areas=data.areas,
    )
    with pytest.raises(ValueError, match="residents: missing column"):
        reconcile_round(broken, backend=duckdb_backend)


rounds = st.fixed_dictionaries(
    {
        "residents": st.lists(
            st.tuples(st.integers(1, 40), st.sampled_from([11, 12, 21, 99])), unique_by=lambda r: r[0], max_size=30
        ),
        "samples": st.lists(st.tuples(st.integers(1, 50), st.integers(1, 8), st.integers(0, 600)), max_size=40),
        "exemptions": st.lists(
            st.tuples(st.integers(1, 40), st.sampled_from(["infant", "bedridden", "away", "other"])), max_size=12
        ),
        "positive": st.lists(st.integers(1, 8), unique=True, max_size=3),
        "areas": st.just([(11, 1), (12, 1), (21, 2)]),  # 99 has no county: left out of hourly progress
    }
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=rounds)
def test_matches_the_reference(duckdb_backend: DuckDBBackend, case: dict[str, Any]) -> None:
    assert as_rows(reconcile_round(make_data(**case), backend=duckdb_backend)) == reference(**case)


@pytest.mark.spark
def test_spark_gives_the_same_tables_as_duckdb(
    spark_backend: SparkBackend, duckdb_backend: DuckDBBackend, tmp_path: Path
) -> None:
    data = make_data(**EXAMPLE)
    on_duckdb = reconcile_round(data, backend=duckdb_backend)
    on_spark_arrow = reconcile_round(data, backend=spark_backend)
    on_spark_files = reconcile_round(write_round_data(data, tmp_path / "round"), backend=spark_backend)
    for result in (on_spark_arrow, on_spark_files):
        for name in ("coverage", "untested", "door_to_door", "hourly", "recall"):
            assert getattr(result, name).equals(getattr(on_duckdb, name)), name
    assert as_rows(on_spark_arrow) == reference(**EXAMPLE)
