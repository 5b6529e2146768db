"""Write small ping sets and compare engine results with the reference."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from fangkong.engine import companion_evidence
from fangkong.engine.tests.reference import Evidence

T0 = dt.datetime(2021, 10, 17, tzinfo=dt.UTC)
T0_US = int(T0.timestamp()) * 1_000_000
MINUTE_US = 60_000_000


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def write_pings(directory: Path, pings: Sequence[tuple[int, int, int]], *, files: int = 2) -> Path:
    """Pings (phone, cell, t_us) as ``files`` Parquet files in the simulator's column types."""
    directory.mkdir(parents=True, exist_ok=True)
    for index in range(files):
        part = pings[index::files]
        table = pa.table(
            {
                "phone": pa.array([p[0] for p in part], pa.int64()),
                "cell": pa.array([p[1] for p in part], pa.int64()),
                "ts": pa.array([p[2] for p in part], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            }
        )
        pq.write_table(table, directory / f"part-{index:05d}.parquet")
    return directory


def as_evidence(result: pa.Table) -> dict[tuple[int, int], list[Evidence]]:
    """The engine's result in the reference's shape, checking the totals and cell lists on the way."""
    flat = companion_evidence(result)
    out: dict[tuple[int, int], list[Evidence]] = {}
    for row in flat.to_pylist():
        key = (row["case_phone"], row["companion_phone"])
        out.setdefault(key, []).append(
            (
                row["cell"],
                _us(row["overlap_start"]),
                _us(row["overlap_end"]),
                _us(row["case_stay_start"]),
                _us(row["case_stay_end"]),
            )
        )
    for row in result.to_pylist():
        evidence = out[(row["case_phone"], row["companion_phone"])]
        total = sum(hi - lo for _, lo, hi, _, _ in evidence)
        assert row["overlap_minutes"] == total / MINUTE_US
        assert row["cells"] == sorted({cell for cell, *_ in evidence})
        assert _us(row["first_overlap_start"]) == min(lo for _, lo, _, _, _ in evidence)
        assert _us(row["last_overlap_end"]) == max(hi for _, _, hi, _, _ in evidence)
    return {key: sorted(value) for key, value in out.items()}


def _us(moment: dt.datetime) -> int:
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
