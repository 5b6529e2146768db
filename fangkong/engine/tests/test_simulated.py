"""The simulator's pings: DuckDB against the reference, and Spark against both (the same query, two engines)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.dataset as pds
import pytest

from fangkong.engine import CaseWindow, DuckDBBackend, SparkBackend, find_companions
from fangkong.engine.tests.helpers import as_evidence
from fangkong.engine.tests.reference import Evidence, reference_companions
from fangkong.simulate import CityConfig, build_city
from fangkong.simulate.datasets import write_pings

START = dt.date(2021, 10, 17)
AS_OF = dt.datetime(2021, 10, 18, 20, tzinfo=dt.UTC)  # 04:00 local on the 19th: inside the second day's pings
MINUTE_US = 60_000_000


@pytest.fixture(scope="module")
def pings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    city = build_city(CityConfig(people=3_000, seed=5))
    directory = tmp_path_factory.mktemp("engine") / "pings"
    write_pings(city, directory, days=2, start_date=START, interval_minutes=15, people_per_chunk=1_000)
    return directory


@pytest.fixture(scope="module")
def cases(pings: Path) -> list[CaseWindow]:
    """Eight phones, each with a window from some hour of the first day to the end."""
    phones = np.unique(pds.dataset(pings, format="parquet").to_table(columns=["phone"])["phone"].to_numpy())
    chosen = np.random.default_rng(3).choice(phones, 8, replace=False)
    first = dt.datetime(2021, 10, 16, 16, tzinfo=dt.UTC)
    return [CaseWindow(int(phone), first + dt.timedelta(hours=3 * i), AS_OF) for i, phone in enumerate(chosen)]


@pytest.fixture(scope="module")
def duckdb_backend() -> Iterator[DuckDBBackend]:
    backend = DuckDBBackend(threads=2, memory_limit="1GiB")
    yield backend
    backend.close()


def expected(
    pings: Path, cases: list[CaseWindow], *, lookback_days: float, min_dwell_hours: float | None
) -> dict[tuple[int, int], list[Evidence]]:
    table = pds.dataset(pings, format="parquet").to_table(columns=["phone", "cell", "ts"])
    rows = zip(
        table["phone"].to_pylist(),
        table["cell"].to_pylist(),
        table["ts"].cast("int64").to_pylist(),
        strict=True,
    )
    as_of_us = int(AS_OF.timestamp()) * 1_000_000
    return reference_companions(
        rows,
        {c.phone: (int(c.start.timestamp()) * 1_000_000, int(c.end.timestamp()) * 1_000_000) for c in cases},
        as_of_us=as_of_us,
        lookback_us=round(lookback_days * 1440 * MINUTE_US),
        max_gap_us=30 * MINUTE_US,
        min_overlap_us=10 * MINUTE_US,
        min_dwell_us=None if min_dwell_hours is None else round(min_dwell_hours * 60 * MINUTE_US),
    )


@pytest.mark.parametrize(("lookback_days", "min_dwell_hours"), [(14, None), (1.25, None), (14, 20.0)])
def test_duckdb_matches_the_reference_on_simulated_pings(
    duckdb_backend: DuckDBBackend,
    pings: Path,
    cases: list[CaseWindow],
    lookback_days: float,
    min_dwell_hours: float | None,
) -> None:
    result = find_companions(
        pings,
        cases,
        as_of=AS_OF,
        lookback_days=lookback_days,
        min_dwell_hours=min_dwell_hours,
        backend=duckdb_backend,
    )
    want = expected(pings, cases, lookback_days=lookback_days, min_dwell_hours=min_dwell_hours)
    assert len(want) > 20  # the data set is worth testing on: households, workplaces, venues
    assert as_evidence(result) == want


@pytest.mark.spark
@pytest.mark.parametrize("min_dwell_hours", [None, 20.0])
def test_spark_gives_the_same_table_as_duckdb(
    spark_backend: SparkBackend,
    duckdb_backend: DuckDBBackend,
    pings: Path,
    cases: list[CaseWindow],
    min_dwell_hours: float | None,
) -> None:
    on_duckdb = find_companions(pings, cases, as_of=AS_OF, min_dwell_hours=min_dwell_hours, backend=duckdb_backend)
    on_spark = find_companions(pings, cases, as_of=AS_OF, min_dwell_hours=min_dwell_hours, backend=spark_backend)
    assert on_spark.num_rows > 20
    assert on_spark.equals(on_duckdb)
    assert as_evidence(on_spark) == expected(pings, cases, lookback_days=14, min_dwell_hours=min_dwell_hours)
